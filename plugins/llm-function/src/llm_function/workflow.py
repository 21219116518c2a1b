"""The workflow: a typed, JSON-serialisable program of tool calls.

JSON form (also what the LLM planner is asked to write)::

    {"steps": [{"id": "weather", "tool": "get_weather", "args": {"city": {"ref": "input.city"}}},
               {"id": "report", "tool": "write_report",
                "args": {"temperature": {"ref": "weather.temp_c"}, "tone": {"value": "short"}}}],
     "output": {"summary": {"ref": "report.text"}, "temperature": {"ref": "weather.temp_c"}}}

An argument is one of

- ``{"ref": "<root>.<field>[.<field>|.<index>]*"}`` where the root is ``input`` or the id of
  an earlier step;
- ``{"value": <JSON literal>}`` (string, number, boolean, null, list or object);
- ``{"object": {"<field>": <argument>, ...}}``: a model (or a dict) built field by field;
- ``{"list": [<argument>, ...]}``: a list built item by item;
- ``{"template": "Dear {input.name}, it is {weather.temp_c} C."}``: a string with references
  in braces (``{{`` and ``}}`` are literal braces).

``output`` builds the function's output model. A tool may be called by several steps.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

INPUT_ROOT = "input"


class Ref(BaseModel):
    """A reference to the input or to an earlier step's output, with a dotted field path."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    ref: str = Field(min_length=1)

    @property
    def root(self) -> str:
        """``input`` or a step id."""
        return self.ref.split(".", 1)[0]

    @property
    def path(self) -> tuple[str, ...]:
        """The field names (or list indices) after the root."""
        parts = self.ref.split(".")
        return tuple(parts[1:])

    def __str__(self) -> str:
        return self.ref


class Literal(BaseModel):
    """A constant argument: any JSON value."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    value: Any

    def __str__(self) -> str:
        import json

        return json.dumps(self.value)


class ObjectArg(BaseModel):
    """A model or dict built from one argument per field."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    object: dict[str, Argument]

    def __str__(self) -> str:
        return "{" + ", ".join(f"{name}: {arg}" for name, arg in self.object.items()) + "}"


class ListArg(BaseModel):
    """A list built from one argument per item."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    list: tuple[Argument, ...]

    def __str__(self) -> str:
        return "[" + ", ".join(str(item) for item in self.list) + "]"


class Template(BaseModel):
    """A string with ``{reference}`` placeholders (``{{``/``}}`` for literal braces)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    template: str

    def refs(self) -> list[Ref]:
        """The references in the placeholders, in order."""
        return [Ref(ref=name) for _, name in template_parts(self.template) if name is not None]

    def __str__(self) -> str:
        import json

        return "f" + json.dumps(self.template)


Argument = Ref | Literal | ObjectArg | ListArg | Template

ObjectArg.model_rebuild()
ListArg.model_rebuild()


def template_parts(text: str) -> list[tuple[str, str | None]]:
    """``text`` split into (literal text, reference or ``None``) pairs; ``ValueError`` if the
    braces do not pair up or a placeholder is empty."""
    parts: list[tuple[str, str | None]] = []
    literal: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in "{}" and text[index : index + 2] == char * 2:
            literal.append(char)
            index += 2
        elif char == "{":
            end = text.find("}", index)
            name = text[index + 1 : end].strip() if end > 0 else ""
            if end < 0 or not name or "{" in name:
                raise ValueError(f"template {text!r}: unpaired or empty brace at {index}")
            parts.append(("".join(literal), name))
            literal = []
            index = end + 1
        elif char == "}":
            raise ValueError(f"template {text!r}: unpaired '}}' at {index}")
        else:
            literal.append(char)
            index += 1
    if literal:
        parts.append(("".join(literal), None))
    return parts


def argument_refs(argument: Argument) -> list[Ref]:
    """Every reference inside ``argument`` (none: the argument is a constant)."""
    if isinstance(argument, Ref):
        return [argument]
    if isinstance(argument, ObjectArg):
        return [ref for item in argument.object.values() for ref in argument_refs(item)]
    if isinstance(argument, ListArg):
        return [ref for item in argument.list for ref in argument_refs(item)]
    if isinstance(argument, Template):
        try:
            return argument.refs()
        except ValueError:
            return []
    return []


class Step(BaseModel):
    """One tool call: ``id = tool(args)``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(min_length=1)
    tool: str = Field(min_length=1)
    args: dict[str, Argument] = Field(default_factory=dict)


class Workflow(BaseModel):
    """Steps in order, then the output built from the input, the steps' outputs and literals."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    steps: tuple[Step, ...] = ()
    output: dict[str, Argument] = Field(default_factory=dict)

    def tool_names(self) -> list[str]:
        """The distinct tools the workflow calls, in order."""
        return list(dict.fromkeys(step.tool for step in self.steps))

    def to_json_dict(self) -> dict[str, Any]:
        """The workflow as plain JSON data."""
        return self.model_dump(mode="json")

    def readable(self) -> str:
        """The steps as lines such as ``weather = get_weather(city=input.city)``."""
        lines = []
        for step in self.steps:
            args = ", ".join(f"{name}={arg}" for name, arg in step.args.items())
            lines.append(f"{step.id} = {step.tool}({args})")
        fields = ", ".join(f"{name}={arg}" for name, arg in self.output.items())
        lines.append(f"return Output({fields})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.readable()
