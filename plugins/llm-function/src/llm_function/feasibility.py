"""What a plan could possibly use, by type alone: value paths, the type pre-check, usable tools.

Names are ignored here (a model may bind ``temp_c`` to ``temperature``): these checks only
rule out what no plan in the plan language could do.
"""

from __future__ import annotations

import typing
from typing import Any, NamedTuple

from pydantic import BaseModel

from llm_function.tools import Tool, ToolRegistry
from llm_function.validation import (
    LiteralOutputs,
    _optional_parts,
    compatible,
    constant_allowed,
    renderable,
    type_name,
)
from llm_function.workflow import INPUT_ROOT

#: How deep value paths are followed into nested models.
MAX_DEPTH = 4


class ValuePath(NamedTuple):
    """A value a reference can reach: its dotted path and its type."""

    ref: str
    annotation: Any


def model_core(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``annotation`` (``Optional`` removed), if it is one."""
    core = _optional_parts(annotation)[1]
    if isinstance(core, type) and issubclass(core, BaseModel):
        return core
    return None


def value_paths(root: str, model: type[BaseModel], max_depth: int = MAX_DEPTH) -> list[ValuePath]:
    """Every field reachable from ``root`` through nested models, at any depth up to ``max_depth``.

    A field reached through an ``Optional`` model is itself ``Optional``.
    """
    found: list[ValuePath] = []

    def walk(
        prefix: str, current: type[BaseModel], nullable: bool, depth: int, seen: tuple
    ) -> None:
        for name, field in current.model_fields.items():
            annotation = field.annotation
            if nullable and not _optional_parts(annotation)[0]:
                annotation = typing.Optional[annotation]  # noqa: UP045 (annotation may be a string)
            found.append(ValuePath(f"{prefix}.{name}", annotation))
            inner = model_core(field.annotation)
            if inner is not None and depth < max_depth and inner not in seen:
                inner_nullable = nullable or _optional_parts(field.annotation)[0]
                walk(f"{prefix}.{name}", inner, inner_nullable, depth + 1, (*seen, inner))

    walk(root, model, False, 1, (model,))
    return found


def _fillable(annotation: Any, sources: list[ValuePath], depth: int = 0) -> bool:
    """Whether some plan could give a field of this type a value that is not a constant."""
    if any(compatible(source.annotation, annotation) for source in sources):
        return True
    if depth > MAX_DEPTH:
        return False
    core = _optional_parts(annotation)[1]
    if compatible(str, annotation) and any(renderable(s.annotation) for s in sources):
        return True  # a template over any scalar
    model = model_core(core)
    if model is not None:
        return any(_fillable(f.annotation, sources, depth + 1) for f in model.model_fields.values())
    if typing.get_origin(core) in (list, tuple, set, frozenset):
        args = typing.get_args(core)
        return bool(args) and _fillable(args[0], sources, depth + 1)
    return False


def type_feasibility(
    input_model: type[BaseModel],
    output_model: type[BaseModel],
    tools: ToolRegistry,
    literal_outputs: LiteralOutputs = False,
) -> list[str]:
    """Required output fields that no plan could fill, by type; empty means "maybe feasible".

    A field is fillable from an input field or tool output at any depth, by a constant when
    its type admits one value (or the function allows constants), by an object built from
    fillable parts, a list of a fillable item, or a template over any scalar.
    """
    sources = value_paths(INPUT_ROOT, input_model)
    for tool in tools:
        sources.extend(value_paths(tool.name, tool.output_model))
    problems = []
    for name, field in output_model.model_fields.items():
        if not field.is_required() or constant_allowed(name, field.annotation, literal_outputs):
            continue
        if not _fillable(field.annotation, sources):
            problems.append(
                f"output field {name!r} ({type_name(field.annotation)}): no input field or tool output has a compatible type."
            )
    return problems


def usable_tools(
    input_model: type[BaseModel], output_model: type[BaseModel], tools: ToolRegistry
) -> list[Tool]:
    """The tools a plan could use, by type: those with an output that could feed the
    function's output, or the input of another usable tool (directly, as a part of an object
    or list, or in a template). Any tool input may take a constant, so none is ruled out for
    its inputs. Sorted by name."""
    wanted = [field.annotation for field in output_model.model_fields.values()]
    useful: list[Tool] = []
    produced = {tool.name: value_paths(tool.name, tool.output_model) for tool in tools}
    changed = True
    while changed:
        changed = False
        for tool in tools:
            if tool in useful:
                continue
            if any(_feeds(p.annotation, target) for p in produced[tool.name] for target in wanted):
                useful.append(tool)
                wanted.extend(f.annotation for f in tool.input_model.model_fields.values())
                changed = True
    return sorted(useful, key=lambda t: t.name)


def _feeds(source: Any, target: Any, depth: int = 0) -> bool:
    """Whether a value of type ``source`` could go into ``target`` or a part of it."""
    if compatible(source, target):
        return True
    if compatible(str, target) and renderable(source):
        return True
    if depth > 2:
        return False
    core = _optional_parts(target)[1]
    model = model_core(core)
    if model is not None:
        return any(_feeds(source, f.annotation, depth + 1) for f in model.model_fields.values())
    if typing.get_origin(core) in (list, tuple, set, frozenset):
        args = typing.get_args(core)
        return bool(args) and _feeds(source, args[0], depth + 1)
    return False


__all__ = ["ValuePath", "value_paths", "type_feasibility", "usable_tools", "model_core"]
