"""Checking a workflow against the input, output and tool schemas before it runs.

Every reference must resolve (its root is ``input`` or an earlier step, each field exists in
the model it walks through) and its type must fit the field it feeds: equal types,
``int`` → ``float`` widening, ``Optional`` (a possibly-``None`` value only into an
``Optional`` field), unions, nested models, lists and dicts of compatible items, enums.
Literals are validated strictly against the target field's type (``"5"`` is not an ``int``,
``True`` is not an ``int``). Every required field of every tool input and of the output must
be provided. Objects, lists and templates are checked part by part. An output field may be
a constant (an argument with no reference) only when its type admits one value, or when the
function allows it (``literal_outputs``). Every problem is reported, not only the first.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from llm_function.tools import ToolRegistry
from llm_function.workflow import (
    INPUT_ROOT,
    ListArg,
    Literal,
    ObjectArg,
    Ref,
    Template,
    Workflow,
    argument_refs,
)

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
    """A short readable name for an annotation (``list[Recipient]``, ``str | None``)."""
    annotation = _strip_annotated(annotation)
    if annotation is None or annotation is _NONE:
        return "None"
    members = _union_members(annotation)
    if members is not None:
        return " | ".join(type_name(member) for member in members)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(value) for value in typing.get_args(annotation))}]"
    if origin is not None:
        args = ", ".join(
            "..." if arg is Ellipsis else type_name(arg) for arg in typing.get_args(annotation)
        )
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if isinstance(annotation, type):
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


def single_value(annotation: Any) -> tuple[bool, Any]:
    """(whether ``annotation`` admits exactly one value, that value as JSON):
    ``Literal["C"]``, ``None``, an enum of one member."""
    annotation = _strip_annotated(annotation)
    if annotation is _NONE:
        return True, None
    if typing.get_origin(annotation) is typing.Literal:
        values = typing.get_args(annotation)
        if len(values) == 1:
            value = values[0]
            return True, value.value if isinstance(value, enum.Enum) else value
        return False, None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        members = list(annotation)
        if len(members) == 1:
            return True, members[0].value
    return False, None


def renderable(annotation: Any) -> bool:
    """Whether a value of this type may fill a template placeholder (a non-null scalar)."""
    annotation = _strip_annotated(annotation)
    if annotation in (str, int, float, bool) or annotation is Any:
        return True
    if typing.get_origin(annotation) is typing.Literal:
        return True
    members = _union_members(annotation)
    if members is not None:
        return all(m is not _NONE and renderable(m) for m in members)
    return isinstance(annotation, type) and issubclass(annotation, enum.Enum)


def _item_type(core: Any, index: int) -> Any:
    args = typing.get_args(core)
    if not args:
        return Any
    if typing.get_origin(core) is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return args[index] if index < len(args) else None
    return args[0]


class _Checker:
    """Collects every problem of a workflow (not only the first)."""

    def __init__(self, sources: dict[str, type[BaseModel] | None]) -> None:
        self.sources = sources
        self.errors: list[str] = []

    def ref_type(self, where: str, name: str, ref: Ref) -> Any:
        """The type ``ref`` points at, or ``_UNKNOWN`` (with the problem recorded)."""
        if ref.root not in self.sources:
            known = ", ".join(self.sources)
            self.errors.append(
                f"{where}: argument {name!r} refers to {ref.ref!r}, but {ref.root!r} is not the input or an earlier step (available: {known})."
            )
            return _UNKNOWN
        model = self.sources[ref.root]
        if model is None:  # a step whose tool is unknown: already reported
            return _UNKNOWN
        try:
            return field_type(model, ref.path, ref.root)
        except WorkflowInvalid as exc:
            self.errors.append(f"{where}: argument {name!r}: {exc}")
            return _UNKNOWN

    def argument(self, where: str, name: str, argument: Any, target: Any) -> None:
        """Check one argument against the type of the field it feeds."""
        if isinstance(argument, Ref):
            source = self.ref_type(where, name, argument)
            if source is not _UNKNOWN and not compatible(source, target):
                self.errors.append(
                    f"{where}: argument {name!r} expects {type_name(target)}, but {argument.ref} is {type_name(source)}."
                )
        elif isinstance(argument, Literal):
            try:
                # Literals are JSON: validate as JSON, strictly ("5" is no int, true no int).
                TypeAdapter(target).validate_json(json.dumps(argument.value), strict=True)
            except ValidationError as exc:
                first = exc.errors()[0]
                self.errors.append(
                    f"{where}: literal {argument.value!r} for argument {name!r} is not a valid {type_name(target)} ({first['msg']})."
                )
        elif isinstance(argument, Template):
            self.template(where, name, argument, target)
        elif isinstance(argument, ObjectArg):
            self.object(where, name, argument, target)
        elif isinstance(argument, ListArg):
            self.list(where, name, argument, target)

    def template(self, where: str, name: str, argument: Template, target: Any) -> None:
        if not compatible(str, target):
            self.errors.append(
                f"{where}: argument {name!r} expects {type_name(target)}; a template makes a str."
            )
        try:
            refs = argument.refs()
        except ValueError as exc:
            self.errors.append(f"{where}: argument {name!r}: {exc}.")
            return
        for ref in refs:
            source = self.ref_type(where, name, ref)
            if source is not _UNKNOWN and not renderable(source):
                self.errors.append(
                    f"{where}: argument {name!r}: the template's {{{ref.ref}}} is {type_name(source)}; a placeholder takes a str, number, bool or enum that is never null."
                )

    def object(self, where: str, name: str, argument: ObjectArg, target: Any) -> None:
        core = _optional_parts(target)[1]
        if isinstance(core, type) and issubclass(core, BaseModel):
            self.fields(f"{where}, argument {name!r}", core, argument.object)
        elif typing.get_origin(core) is dict or core is dict or core is Any:
            value_type = typing.get_args(core)[1] if typing.get_args(core) else Any
            for key, item in argument.object.items():
                self.argument(where, f"{name}.{key}", item, value_type)
        else:
            self.errors.append(
                f"{where}: argument {name!r} expects {type_name(target)}; an object builds a model or a dict."
            )

    def list(self, where: str, name: str, argument: ListArg, target: Any) -> None:
        core = _optional_parts(target)[1]
        if core is Any:
            core = list
        if typing.get_origin(core) not in (list, tuple, set, frozenset) and core not in (
            list,
            tuple,
            set,
            frozenset,
        ):
            self.errors.append(
                f"{where}: argument {name!r} expects {type_name(target)}; a list builds a list."
            )
            return
        for index, item in enumerate(argument.list):
            item_type = _item_type(core, index)
            if item_type is None:
                self.errors.append(
                    f"{where}: argument {name!r} has {len(argument.list)} items; {type_name(target)} has fewer."
                )
                return
            self.argument(where, f"{name}.{index}", item, item_type)

    def fields(self, where: str, model: type[BaseModel], args: Mapping[str, Any]) -> None:
        """Check ``args`` as the fields of ``model``: known names, fitting types, nothing required left out."""
        fields = model.model_fields
        for name, argument in args.items():
            if name not in fields:
                self.errors.append(
                    f"{where}: {model.__name__} has no field {name!r} (fields: {', '.join(fields) or 'none'})."
                )
                continue
            self.argument(where, name, argument, fields[name].annotation)
        missing = [n for n, f in fields.items() if f.is_required() and n not in args]
        if missing:
            self.errors.append(
                f"{where}: required field(s) {', '.join(missing)} of {model.__name__} not provided."
            )


_UNKNOWN = object()

#: Which output fields may be constants beyond those whose type admits one value: ``True``
#: for all, or their names.
LiteralOutputs = bool | Collection[str]


def constant_allowed(name: str, annotation: Any, literal_outputs: LiteralOutputs) -> bool:
    """Whether output field ``name`` may be filled by a constant (an argument without references)."""
    if literal_outputs is True:
        return True
    if not isinstance(literal_outputs, bool) and name in literal_outputs:
        return True
    return single_value(annotation)[0]


def workflow_errors(
    workflow: Workflow,
    input_model: type[BaseModel],
    output_model: type[BaseModel],
    tools: ToolRegistry,
    *,
    literal_outputs: LiteralOutputs = False,
) -> list[str]:
    """Every reason ``workflow`` does not fit the input, output and tool schemas (empty: it fits)."""
    sources: dict[str, type[BaseModel] | None] = {INPUT_ROOT: input_model}
    checker = _Checker(sources)
    for index, step in enumerate(workflow.steps, start=1):
        where = f"step {index} ({step.id!r})"
        if not step.id.isidentifier() or step.id == INPUT_ROOT:
            checker.errors.append(f"{where}: a step id must be an identifier other than 'input'.")
        elif step.id in sources:
            checker.errors.append(f"{where}: the id {step.id!r} is used twice.")
        if step.tool not in tools:
            checker.errors.append(
                f"{where}: unknown tool {step.tool!r} (tools: {', '.join(tools.names()) or 'none'})."
            )
            sources.setdefault(step.id, None)
            continue
        tool = tools.get(step.tool)
        checker.fields(f"{where} calling {tool.name}", tool.input_model, step.args)
        sources.setdefault(step.id, tool.output_model)
    checker.fields("output", output_model, workflow.output)
    fields = output_model.model_fields
    for name, argument in workflow.output.items():
        if name not in fields or argument_refs(argument):
            continue
        if not constant_allowed(name, fields[name].annotation, literal_outputs):
            checker.errors.append(
                f"output: field {name!r} is a constant ({argument}), but its type {type_name(fields[name].annotation)} admits other values: take it from the input or a tool (a constant output needs a type with one value, such as Literal['C'], or literal_outputs=)."
            )
    return checker.errors


def validate_workflow(
    workflow: Workflow,
    input_model: type[BaseModel],
    output_model: type[BaseModel],
    tools: ToolRegistry,
    *,
    literal_outputs: LiteralOutputs = False,
) -> None:
    """Raise ``WorkflowInvalid`` unless ``workflow`` fits the input, output and tool schemas;
    its message lists every problem, one per line."""
    errors = workflow_errors(
        workflow, input_model, output_model, tools, literal_outputs=literal_outputs
    )
    if len(errors) == 1:
        raise WorkflowInvalid(errors[0])
    if errors:
        raise WorkflowInvalid(f"{len(errors)} problems:\n- " + "\n- ".join(errors))
