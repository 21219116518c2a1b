"""Checking a workflow against the input, output and tool schemas before it runs.

Every reference must resolve (its root is ``input`` or an earlier step, each field exists in
the model it walks through) and its type must fit the field it feeds: equal types,
``int`` → ``float`` widening, ``Optional`` (a possibly-``None`` value only into an
``Optional`` field), unions, nested models, lists and dicts of compatible items, enums.
Literals are validated strictly against the target field's type (``"5"`` is not an ``int``,
``True`` is not an ``int``). Every required field of every tool input and of the output must
be provided.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from llm_function.tools import ToolRegistry
from llm_function.workflow import INPUT_ROOT, Literal, Ref, Workflow

_NONE = type(None)


class WorkflowInvalid(ValueError):
    """The workflow does not fit the schemas; the message says exactly where and why."""


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _union_members(annotation: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(annotation)
    return None


def _optional_parts(annotation: Any) -> tuple[bool, Any]:
    """(accepts None, the annotation without None)."""
    annotation = _strip_annotated(annotation)
    members = _union_members(annotation)
    if members is None:
        return annotation is _NONE, annotation
    rest = tuple(m for m in members if m is not _NONE)
    if len(rest) == len(members):
        return False, annotation
    if len(rest) == 1:
        return True, rest[0]
    return True, typing.Union[rest]  # type: ignore[return-value]  # noqa: UP007


def type_name(annotation: Any) -> str:
    """A short readable name for an annotation."""
    annotation = _strip_annotated(annotation)
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def compatible(source: Any, target: Any) -> bool:
    """Whether a value typed ``source`` may feed a field typed ``target``."""
    source, target = _strip_annotated(source), _strip_annotated(target)
    if target is Any or source == target:
        return True
    source_nullable, source_core = _optional_parts(source)
    target_nullable, target_core = _optional_parts(target)
    if source_nullable and not target_nullable:
        return False
    if source_core is _NONE:
        return target_nullable
    if source_nullable or target_nullable:
        return compatible(source_core, target_core)
    source_members = _union_members(source_core)
    if source_members is not None:
        return all(compatible(member, target_core) for member in source_members)
    target_members = _union_members(target_core)
    if target_members is not None:
        return any(compatible(source_core, member) for member in target_members)
    if source_core is int and target_core is float:
        return True
    if source_core is bool or target_core is bool:
        return source_core is target_core
    source_origin, target_origin = typing.get_origin(source_core), typing.get_origin(target_core)
    if source_origin is not None or target_origin is not None:
        if source_origin in (list, tuple, set, frozenset) and target_origin in (
            list,
            tuple,
            set,
            frozenset,
        ):
            source_args, target_args = typing.get_args(source_core), typing.get_args(target_core)
            if not target_args:
                return True
            return bool(source_args) and compatible(source_args[0], target_args[0])
        if source_origin is dict and target_origin is dict:
            source_args, target_args = typing.get_args(source_core), typing.get_args(target_core)
            if not target_args:
                return True
            return (
                bool(source_args)
                and compatible(source_args[0], target_args[0])
                and compatible(source_args[1], target_args[1])
            )
        if typing.get_origin(target_core) is typing.Literal:
            return False
        return False
    if isinstance(source_core, type) and isinstance(target_core, type):
        if issubclass(source_core, BaseModel) or issubclass(target_core, BaseModel):
            return issubclass(source_core, target_core)
        if issubclass(source_core, enum.Enum) or issubclass(target_core, enum.Enum):
            return issubclass(source_core, target_core)
        return issubclass(source_core, target_core)
    return False


def field_type(model: type[BaseModel], path: tuple[str, ...], where: str) -> Any:
    """The annotation reached by walking ``path`` through ``model`` (``WorkflowInvalid`` if it does not exist).

    A field reached through an ``Optional`` container is itself ``Optional``.
    """
    annotation: Any = model
    walked = where
    crossed_optional = False
    for part in path:
        nullable, core = _optional_parts(annotation)
        crossed_optional = crossed_optional or nullable
        if isinstance(core, type) and issubclass(core, BaseModel):
            fields = core.model_fields
            if part not in fields:
                known = ", ".join(fields) or "none"
                raise WorkflowInvalid(f"{walked} has no field {part!r} (fields: {known}).")
            annotation = fields[part].annotation
        elif typing.get_origin(core) in (list, tuple) and part.isdigit():
            args = typing.get_args(core)
            annotation = args[0] if args else Any
        elif typing.get_origin(core) is dict:
            args = typing.get_args(core)
            annotation = args[1] if args else Any
        else:
            raise WorkflowInvalid(f"{walked} is a {type_name(core)}; it has no field {part!r}.")
        walked = f"{walked}.{part}"
    if crossed_optional and not _optional_parts(annotation)[0]:
        return typing.Optional[annotation]  # noqa: UP045 (annotation may be a string)
    return annotation


def _check_arguments(
    where: str,
    model: type[BaseModel],
    args: dict[str, Ref | Literal],
    sources: dict[str, type[BaseModel]],
) -> None:
    fields = model.model_fields
    for name, argument in args.items():
        if name not in fields:
            raise WorkflowInvalid(
                f"{where}: {model.__name__} has no field {name!r} (fields: {', '.join(fields) or 'none'})."
            )
        target = fields[name].annotation
        if isinstance(argument, Ref):
            if argument.root not in sources:
                known = ", ".join(sources)
                raise WorkflowInvalid(
                    f"{where}: argument {name!r} refers to {argument.ref!r}, but {argument.root!r} is not the input or an earlier step (available: {known})."
                )
            source = field_type(sources[argument.root], argument.path, argument.root)
            if not compatible(source, target):
                raise WorkflowInvalid(
                    f"{where}: argument {name!r} expects {type_name(target)}, but {argument.ref} is {type_name(source)}."
                )
        else:
            try:
                # Literals are JSON: validate as JSON, strictly ("5" is no int, true no int).
                TypeAdapter(target).validate_json(json.dumps(argument.value), strict=True)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise WorkflowInvalid(
                    f"{where}: literal {argument.value!r} for argument {name!r} is not a valid {type_name(target)} ({first['msg']})."
                ) from None
    missing = [n for n, f in fields.items() if f.is_required() and n not in args]
    if missing:
        raise WorkflowInvalid(
            f"{where}: required field(s) {', '.join(missing)} of {model.__name__} not provided."
        )


def validate_workflow(
    workflow: Workflow,
    input_model: type[BaseModel],
    output_model: type[BaseModel],
    tools: ToolRegistry,
) -> None:
    """Raise ``WorkflowInvalid`` unless ``workflow`` fits the input, output and tool schemas."""
    sources: dict[str, type[BaseModel]] = {INPUT_ROOT: input_model}
    for index, step in enumerate(workflow.steps, start=1):
        where = f"step {index} ({step.id!r})"
        if not step.id.isidentifier() or step.id == INPUT_ROOT:
            raise WorkflowInvalid(f"{where}: a step id must be an identifier other than 'input'.")
        if step.id in sources:
            raise WorkflowInvalid(f"{where}: the id {step.id!r} is used twice.")
        if step.tool not in tools:
            raise WorkflowInvalid(
                f"{where}: unknown tool {step.tool!r} (tools: {', '.join(tools.names()) or 'none'})."
            )
        tool = tools.get(step.tool)
        _check_arguments(f"{where} calling {tool.name}", tool.input_model, dict(step.args), sources)
        sources[step.id] = tool.output_model
    _check_arguments("output", output_model, dict(workflow.output), sources)
