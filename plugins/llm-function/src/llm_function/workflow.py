"""The workflow: a typed, JSON-serialisable program of tool calls.

JSON form (also what the LLM planner is asked to write)::

    {"steps": [{"id": "weather", "tool": "get_weather", "args": {"city": {"ref": "input.city"}}},
               {"id": "report", "tool": "write_report",
                "args": {"temperature": {"ref": "weather.temp_c"}, "tone": {"value": "short"}}}],
     "output": {"summary": {"ref": "report.text"}, "temperature": {"ref": "weather.temp_c"}}}

An argument is either ``{"ref": "<root>.<field>[.<field>|.<index>]*"}`` where the root is
``input`` or the id of an earlier step, or ``{"value": <JSON literal>}`` (string, number,
boolean, null, list or object). ``output`` builds the function's output model.
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


Argument = Ref | Literal


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
