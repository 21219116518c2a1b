"""The schema planner: a deterministic planner that needs no model.

First it binds output fields and tool inputs by *field name* and *compatible type* (see
``validation.compatible``), searching breadth first for the shortest chain of tools that
fills every required output field. When names differ, it plans by *meaning*
(``llm_function.meaning_planner``): words shared by names, descriptions, tool names and
docstrings. Its plans are validated before they are returned. When neither finds a plan it
says precisely which output fields, or which tool inputs on the way, it could not bind, which
candidates it could not choose between (``details["ambiguities"]``), and gives the plan it
got so far (``details["partial_plan"]``, ``details["notes"]``): the hint an LLM planner sends.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel

from llm_function.errors import LlmFunctionError
from llm_function.feasibility import type_feasibility
from llm_function.meaning_planner import MeaningPlanner
from llm_function.tools import Tool, ToolRegistry
from llm_function.validation import _optional_parts, compatible, type_name, workflow_errors
from llm_function.workflow import INPUT_ROOT, Literal, Ref, Step, Workflow

DEFAULT_MAX_STEPS = 10


class Source(typing.NamedTuple):
    """A value available to bind: where it is (a reference) and its type."""

    ref: str
    annotation: Any
    depth: int  # 0 for a top-level field, 1 for a field of a nested model


def model_sources(root: str, model: type[BaseModel]) -> dict[str, list[Source]]:
    """The fields of ``model`` (and of its directly nested models) by name, as sources under ``root``."""
    found: dict[str, list[Source]] = {}
    for name, field in model.model_fields.items():
        found.setdefault(name, []).append(Source(f"{root}.{name}", field.annotation, 0))
    for name, field in model.model_fields.items():
        nullable, core = _optional_parts(field.annotation)
        if isinstance(core, type) and issubclass(core, BaseModel):
            for inner, inner_field in core.model_fields.items():
                annotation = inner_field.annotation
                if nullable:  # a typing form, not an annotation: `X | None` refuses strings
                    annotation = typing.Optional[annotation]  # noqa: UP045
                found.setdefault(inner, []).append(Source(f"{root}.{name}.{inner}", annotation, 1))
    return found


def _merge(
    facts: dict[str, list[Source]], more: dict[str, list[Source]]
) -> dict[str, list[Source]]:
    merged = {name: list(sources) for name, sources in facts.items()}
    for name, sources in more.items():
        merged.setdefault(name, []).extend(sources)
    return merged


def bind(name: str, annotation: Any, facts: dict[str, list[Source]]) -> Source | None:
    """The source for a field: same name, compatible type; top-level before nested, latest first."""
    candidates = [s for s in facts.get(name, ()) if compatible(s.annotation, annotation)]
    if not candidates:
        return None
    best_depth = min(s.depth for s in candidates)
    return [s for s in candidates if s.depth == best_depth][-1]


def step_id_for(tool: Tool) -> str:
    """A step id derived from the tool name (an identifier other than ``input``)."""
    ident = "".join(c if c.isalnum() or c == "_" else "_" for c in tool.name) or "step"
    if ident[0].isdigit() or ident == INPUT_ROOT:
        ident = f"s_{ident}"
    return ident


def _bind_model(
    model: type[BaseModel], facts: dict[str, list[Source]]
) -> tuple[dict[str, Ref], list[str]]:
    """Bind every field of ``model`` that can be bound; return (arguments, unbound required fields)."""
    args: dict[str, Ref] = {}
    missing: list[str] = []
    for name, field in model.model_fields.items():
        source = bind(name, field.annotation, facts)
        if source is not None:
            args[name] = Ref(ref=source.ref)
        elif field.is_required():
            missing.append(name)
    return args, missing


class SchemaPlanner:
    """Plans by field names and types; see the module docstring."""

    def __init__(self, tools: ToolRegistry, max_steps: int = DEFAULT_MAX_STEPS) -> None:
        self.tools = tools
        self.max_steps = max_steps
        self.meaning = MeaningPlanner(tools)

    def _relevant(
        self, input_facts: dict[str, list[Source]], output_model: type[BaseModel]
    ) -> list[Tool]:
        needed = {
            n
            for n, f in output_model.model_fields.items()
            if bind(n, f.annotation, input_facts) is None
        }
        relevant: list[Tool] = []
        changed = True
        while changed:
            changed = False
            for tool in sorted(self.tools, key=lambda t: t.name):
                if tool in relevant or not needed.intersection(tool.output_model.model_fields):
                    continue
                relevant.append(tool)
                changed = True
                for name, field in tool.input_model.model_fields.items():
                    if field.is_required() and bind(name, field.annotation, input_facts) is None:
                        needed.add(name)
        return sorted(relevant, key=lambda t: t.name)

    def plan(self, input_model: type[BaseModel], output_model: type[BaseModel]) -> Workflow:
        """A workflow filling ``output_model`` from ``input_model`` (by names, else by meaning),
        or ``LlmFunctionError(kind="infeasible")`` explaining what could not be bound."""
        try:
            return self.plan_by_names(input_model, output_model)
        except LlmFunctionError as by_names:
            result = self.meaning.plan(input_model, output_model)
            if result.workflow is not None:
                problems = workflow_errors(result.workflow, input_model, output_model, self.tools)
                if not problems:
                    return result.workflow
                result.unbound.extend(problems)
            notes = result.notes()
            by_names.details.update(
                ambiguities=result.ambiguities,
                notes=notes,
                partial_plan=result.partial.to_json_dict(),
            )
            if notes:
                by_names.details["reasons"] = [*by_names.details["reasons"], *notes]
                by_names.args = (
                    f"{by_names.args[0]}\nMatching by meaning left open:\n  - "
                    + "\n  - ".join(notes),
                )
            raise by_names

    def plan_by_names(
        self, input_model: type[BaseModel], output_model: type[BaseModel]
    ) -> Workflow:
        """The shortest workflow filling ``output_model`` from ``input_model`` by field names,
        or ``LlmFunctionError(kind="infeasible")`` explaining what could not be bound."""
        input_facts = model_sources(INPUT_ROOT, input_model)
        output_args, missing = _bind_model(output_model, input_facts)
        if not missing:
            return Workflow(steps=(), output=dict(output_args))
        relevant = self._relevant(input_facts, output_model)
        frontier: list[tuple[tuple[Step, ...], dict[str, list[Source]], frozenset[str]]] = [
            ((), input_facts, frozenset())
        ]
        seen: set[frozenset[str]] = {frozenset()}
        for _ in range(min(self.max_steps, len(relevant))):
            next_frontier = []
            for steps, facts, used in frontier:
                for tool in relevant:
                    if tool.name in used:
                        continue
                    args, unbound = _bind_model(tool.input_model, facts)
                    if unbound:
                        continue
                    now_used = used | {tool.name}
                    if now_used in seen:
                        continue
                    seen.add(now_used)
                    step = Step(id=step_id_for(tool), tool=tool.name, args=dict(args))
                    new_facts = _merge(facts, model_sources(step.id, tool.output_model))
                    new_steps = (*steps, step)
                    output_args, missing = _bind_model(output_model, new_facts)
                    if not missing:
                        return Workflow(steps=new_steps, output=dict(output_args))
                    next_frontier.append((new_steps, new_facts, now_used))
            frontier = next_frontier
            if not frontier:
                break
        raise self._failure(input_model, output_model, relevant)

    def _failure(
        self, input_model: type[BaseModel], output_model: type[BaseModel], relevant: list[Tool]
    ) -> LlmFunctionError:
        """Explain, field by field, why no workflow was found."""
        facts = model_sources(INPUT_ROOT, input_model)
        applied: list[Tool] = []
        progress = True
        while progress:  # everything reachable, ignoring chain length
            progress = False
            for tool in relevant:
                if tool not in applied and not _bind_model(tool.input_model, facts)[1]:
                    facts = _merge(facts, model_sources(step_id_for(tool), tool.output_model))
                    applied.append(tool)
                    progress = True
        reasons: list[str] = []
        unbound_outputs: list[str] = []
        blocked: dict[str, list[str]] = {}
        for name, field in output_model.model_fields.items():
            if not field.is_required() or bind(name, field.annotation, facts) is not None:
                continue
            unbound_outputs.append(name)
            wanted = type_name(field.annotation)
            producers = [t for t in self.tools if name in t.output_model.model_fields]
            typed_wrong = [s for s in facts.get(name, ())]
            if typed_wrong:
                sources = ", ".join(f"{s.ref} is {type_name(s.annotation)}" for s in typed_wrong)
                reasons.append(
                    f"output field {name!r} ({wanted}): no source of a compatible type ({sources})."
                )
            elif producers:
                for tool in producers:
                    _, unbound = _bind_model(tool.input_model, facts)
                    produced = type_name(tool.output_model.model_fields[name].annotation)
                    if unbound:
                        blocked[tool.name] = unbound
                        fields = ", ".join(
                            f"{u!r} ({type_name(tool.input_model.model_fields[u].annotation)})"
                            for u in unbound
                        )
                        reasons.append(
                            f"output field {name!r} ({wanted}): tool {tool.name!r} produces it but its input {fields} cannot be bound from the input or other tools."
                        )
                    else:
                        reasons.append(
                            f"output field {name!r} ({wanted}): tool {tool.name!r} produces it as {produced}, which is not compatible."
                        )
            else:
                reasons.append(
                    f"output field {name!r} ({wanted}): neither the input ({', '.join(input_model.model_fields) or 'no fields'}) nor any tool provides a field of that name."
                )
        if not reasons:
            reasons.append(f"no chain of at most {self.max_steps} tools fills the output.")
        message = (
            "No workflow can be assembled by matching field names and types:\n  - "
            + "\n  - ".join(reasons)
        )
        return LlmFunctionError(
            message,
            kind="infeasible",
            stage="planning",
            details={
                "unbound_outputs": unbound_outputs,
                "unbound_tool_inputs": blocked,
                "reasons": reasons,
            },
        )


__all__ = ["SchemaPlanner", "type_feasibility", "Literal"]
