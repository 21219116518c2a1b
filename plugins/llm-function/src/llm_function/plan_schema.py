"""The JSON schema of a plan for one function, sent to the model to constrain its answer.

Built from the function's input and output models and the tools offered:

- each step is one of the tools: ``tool`` is that tool's name, ``id`` one of a few ids derived
  from it (``get_weather``, ``get_weather_2``, … so a tool can be used more than once), and
  ``args`` has exactly the tool's input fields;
- ``output`` has exactly the output model's fields;
- an argument for a field of type T is a reference (an enum of the paths whose type fits T,
  when there are few of them), a constant of T (for scalar types), an object with exactly
  the fields of a model T, a list of arguments for the items of a list T, or a template for
  a string T;
- every object is closed (``additionalProperties: false``) and lists all its properties as
  required, as OpenAI's strict mode demands: a field the model may leave out is ``null``able
  instead, and ``null`` entries are dropped before the plan is read (``strip_nulls``).
"""

from __future__ import annotations

import enum
import typing
from typing import Any

from pydantic import BaseModel

from llm_function.feasibility import model_core, value_paths
from llm_function.tools import Tool
from llm_function.validation import (
    _optional_parts,
    _strip_annotated,
    _union_members,
    compatible,
)
from llm_function.workflow import INPUT_ROOT

#: A reference is an enum of valid paths when there are at most this many.
MAX_REF_ENUM = 64
#: How many steps may call one tool (each gets its own id).
USES_PER_TOOL = 2
#: How deep objects are nested in argument schemas.
MAX_NESTING = 3

_NONE = type(None)


def step_ids(tool: Tool, uses: int = USES_PER_TOOL) -> list[str]:
    """The ids a step calling ``tool`` may have: ``name``, ``name_2``, …"""
    ident = "".join(c if c.isalnum() or c == "_" else "_" for c in tool.name) or "step"
    if ident[0].isdigit() or ident == INPUT_ROOT:
        ident = f"s_{ident}"
    return [ident] + [f"{ident}_{n}" for n in range(2, uses + 1)]


def _closed(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _scalar(annotation: Any) -> dict[str, Any] | None:
    """The JSON schema of a constant of this type, when it is a scalar type."""
    annotation = _strip_annotated(annotation)
    if annotation is Any:
        return {"type": ["string", "number", "boolean", "null"]}
    if annotation is _NONE:
        return {"type": "null"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if annotation in simple:
        return {"type": simple[annotation]}
    if typing.get_origin(annotation) is typing.Literal:
        values = [v.value if isinstance(v, enum.Enum) else v for v in typing.get_args(annotation)]
        return {"enum": values}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"enum": [member.value for member in annotation]}
    members = _union_members(annotation)
    if members is not None:
        parts = [_scalar(member) for member in members]
        if all(part is not None for part in parts):
            return {"anyOf": parts}
    return None


class _Builder:
    def __init__(self, paths: list[tuple[str, Any]]) -> None:
        self.paths = paths
        self.defs: dict[str, dict[str, Any]] = {}
        self.names: dict[str, str] = {}

    def argument(self, annotation: Any, depth: int = 0) -> dict[str, Any]:
        """A ``$ref`` to the argument schema for a field of this type (built once per type)."""
        key = repr(annotation)
        if key not in self.names:
            name = f"arg{len(self.names)}"
            self.names[key] = name
            self.defs[name] = {}  # reserved: a recursive model refers to itself
            self.defs[name] = self._alternatives(annotation, depth)
        return {"$ref": f"#/$defs/{self.names[key]}"}

    def _alternatives(self, annotation: Any, depth: int) -> dict[str, Any]:
        options: list[dict[str, Any]] = []
        refs = [path for path, source in self.paths if compatible(source, annotation)]
        if refs:
            ref: dict[str, Any] = {"type": "string"}
            if len(refs) <= MAX_REF_ENUM:
                ref["enum"] = refs
            options.append(_closed({"ref": ref}))
        nullable, core = _optional_parts(annotation)
        constant = _scalar(annotation)
        if constant is not None:
            options.append(_closed({"value": constant}))
        elif nullable:
            options.append(_closed({"value": {"type": "null"}}))
        model = model_core(core)
        if model is not None and depth < MAX_NESTING:
            options.append(_closed({"object": self.fields(model, depth + 1)}))
        if typing.get_origin(core) in (list, tuple, set, frozenset) and depth < MAX_NESTING:
            args = typing.get_args(core)
            item = self.argument(args[0] if args else Any, depth + 1)
            options.append(_closed({"list": {"type": "array", "items": item}}))
        if compatible(str, annotation):
            options.append(_closed({"template": {"type": "string"}}))
        if not options:  # a dict or an unusual type: any reference, checked by the validator
            options.append(_closed({"ref": {"type": "string"}}))
        return options[0] if len(options) == 1 else {"anyOf": options}

    def fields(self, model: type[BaseModel], depth: int = 0) -> dict[str, Any]:
        """A closed object with one argument per field of ``model`` (optional ones nullable)."""
        properties = {}
        for name, field in model.model_fields.items():
            schema = self.argument(field.annotation, depth)
            properties[name] = schema if field.is_required() else _nullable(schema)
        return _closed(properties)


def plan_json_schema(
    input_model: type[BaseModel], output_model: type[BaseModel], tools: list[Tool]
) -> dict[str, Any]:
    """The JSON schema of a plan (or ``{"impossible": "<reason>"}``) for these models and tools."""
    paths = [(p.ref, p.annotation) for p in value_paths(INPUT_ROOT, input_model)]
    for tool in tools:
        for step_id in step_ids(tool):
            paths.extend((p.ref, p.annotation) for p in value_paths(step_id, tool.output_model))
    builder = _Builder(paths)
    steps = []
    for tool in tools:
        steps.append(
            _closed(
                {
                    "id": {"type": "string", "enum": step_ids(tool)},
                    "tool": {"type": "string", "enum": [tool.name]},
                    "args": builder.fields(tool.input_model),
                }
            )
        )
    step_schema: dict[str, Any] = (
        {"anyOf": steps} if len(steps) > 1 else steps[0] if steps else _closed({})
    )
    schema = _closed(
        {
            "steps": {"type": "array", "items": step_schema},
            "output": builder.fields(output_model),
            "impossible": {"type": ["string", "null"]},
        }
    )
    schema["$defs"] = builder.defs
    return schema


def strip_nulls(data: Any) -> Any:
    """``data`` without the ``null`` entries a schema-constrained answer uses for "left out":
    in ``args``, ``output`` and ``object`` mappings, and ``"impossible": null``."""
    if not isinstance(data, dict):
        return data
    cleaned = dict(data)
    if cleaned.get("impossible", 0) is None:
        del cleaned["impossible"]
    if isinstance(cleaned.get("output"), dict):
        cleaned["output"] = _strip_arguments(cleaned["output"])
    if isinstance(cleaned.get("steps"), list):
        cleaned["steps"] = [
            {**step, "args": _strip_arguments(step["args"])}
            if isinstance(step, dict) and isinstance(step.get("args"), dict)
            else step
            for step in cleaned["steps"]
        ]
    return cleaned


def _strip_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    return {name: _strip_argument(arg) for name, arg in arguments.items() if arg is not None}


def _strip_argument(argument: Any) -> Any:
    if isinstance(argument, dict):
        if isinstance(argument.get("object"), dict) and len(argument) == 1:
            return {"object": _strip_arguments(argument["object"])}
        if isinstance(argument.get("list"), list) and len(argument) == 1:
            return {"list": [_strip_argument(item) for item in argument["list"]]}
    return argument


__all__ = ["plan_json_schema", "strip_nulls", "step_ids", "MAX_REF_ENUM"]
