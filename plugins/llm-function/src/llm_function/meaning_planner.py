"""Planning by meaning: binding fields whose names differ, with evidence from words.

Each field to fill (an output field, then the inputs of the tools chosen) is matched against
every value of a compatible type: the input's fields at any depth and every tool's outputs.
The evidence is the words they share (``llm_function.words``): the target's name and
description against the source's name, the names of the models it sits in, its description,
and, for a tool's output, the tool's name and docstring. A tool output bound to a target
passes the target's words it did not match on to the tool's inputs, as context: for
``customer_region`` bound to ``region_of(zip).region``, ``customer`` then picks
``input.customer.zip`` over ``input.warehouse.zip``.

A field is bound only with evidence from its own name or description. When the two best
sources have the same score the planner does not guess: it reports both. A model field with
no source is built as an object from its own fields, a list from one item; a field whose type
admits one value gets it as a constant. Templates and other constants are left to a model.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from llm_function.feasibility import model_core, value_paths
from llm_function.plan_schema import step_ids
from llm_function.tools import Tool, ToolRegistry
from llm_function.validation import _optional_parts, compatible, single_value
from llm_function.words import words
from llm_function.workflow import (
    INPUT_ROOT,
    Argument,
    ListArg,
    Literal,
    ObjectArg,
    Ref,
    Step,
    Workflow,
)

MAX_DEPTH = 4


@dataclass(frozen=True)
class _Source:
    """A value a target can be bound to: an input path, or a path in a tool's output."""

    path: str  # relative to the root: "customer.address.zip"
    annotation: Any
    tool: Tool | None
    name_words: frozenset[str]  # the leaf's name
    place_words: frozenset[str]  # the models it sits in; the tool's name
    about_words: frozenset[str]  # descriptions; the tool's docstring

    def label(self) -> str:
        return (
            f"{INPUT_ROOT}.{self.path}" if self.tool is None else f"{self.tool.name}().{self.path}"
        )


def _field_descriptions(model: type[BaseModel], path: str) -> str:
    texts = []
    current: Any = model
    for part in path.split("."):
        core = model_core(current)
        if core is None or part not in core.model_fields:
            break
        info = core.model_fields[part]
        texts.append(info.description or "")
        current = info.annotation
    return " ".join(texts)


def _sources(model: type[BaseModel], tool: Tool | None) -> list[_Source]:
    found = []
    root_len = len(INPUT_ROOT) + 1
    tool_place = words(tool.name) if tool is not None else frozenset()
    tool_about = words(tool.description or "") if tool is not None else frozenset()
    for value in value_paths(INPUT_ROOT, model):
        path = value.ref[root_len:]
        *parents, leaf = path.split(".")
        place = frozenset().union(*(words(p) for p in parents)) if parents else frozenset()
        found.append(
            _Source(
                path,
                value.annotation,
                tool,
                words(leaf),
                place | tool_place,
                words(_field_descriptions(model, path)) | tool_about,
            )
        )
    return found


@dataclass
class _Target:
    name: str
    annotation: Any
    name_words: frozenset[str]
    about_words: frozenset[str]
    context: frozenset[str] = frozenset()


@dataclass
class MeaningResult:
    """What the planner found: a workflow, or the partial plan and what it left open."""

    workflow: Workflow | None
    partial: Workflow
    ambiguities: list[str] = field(default_factory=list)
    unbound: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        """The ambiguities and unbound fields, one sentence each."""
        return self.ambiguities + self.unbound


class _Ambiguous(Exception):
    pass


class _Plan:
    """The steps of a plan under construction."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def call(self, tool: Tool, args: dict[str, Argument]) -> str:
        """The id of a step calling ``tool`` with ``args`` (an existing one, or a new one)."""
        for step in self.steps:
            if step.tool == tool.name and dict(step.args) == args:
                return step.id
        used = {step.id for step in self.steps}
        uses = sum(step.tool == tool.name for step in self.steps) + 1
        ids = step_ids(tool, max(uses, 2))
        step_id = next(i for i in ids if i not in used)
        self.steps.append(Step(id=step_id, tool=tool.name, args=args))
        return step_id


def _score(target: _Target, source: _Source) -> float:
    own = target.name_words | target.about_words
    if not own & (source.name_words | source.place_words | source.about_words):
        return 0.0  # no evidence from the target itself
    score = 3.0 * len(target.name_words & source.name_words)
    score += 2.0 * len(target.name_words & source.place_words)
    score += 1.0 * len(target.name_words & source.about_words)
    score += 1.0 * len(target.about_words & (source.name_words | source.place_words))
    score += 0.5 * len(target.about_words & source.about_words)
    score += 1.0 * len(target.context & (source.name_words | source.place_words))
    score += 0.5 * len(target.context & source.about_words)
    if target.name == source.path.rsplit(".", 1)[-1]:
        score += 2.0
    return score


class MeaningPlanner:
    """Plans by words and types; see the module docstring."""

    def __init__(self, tools: ToolRegistry) -> None:
        self.tools = sorted(tools, key=lambda t: t.name)
        self._tool_sources = {tool.name: _sources(tool.output_model, tool) for tool in self.tools}

    def plan(self, input_model: type[BaseModel], output_model: type[BaseModel]) -> MeaningResult:
        """Bind every required output field by meaning; see ``MeaningResult``."""
        inputs = _sources(input_model, None)
        plan = _Plan()
        output: dict[str, Argument] = {}
        ambiguities: list[str] = []
        unbound: list[str] = []
        for name, info in output_model.model_fields.items():
            target = _Target(name, info.annotation, words(name), words(info.description or ""))
            before = list(plan.steps)
            try:
                argument = self._bind(target, inputs, plan, (), 0)
            except _Ambiguous as exc:
                plan.steps = before
                if info.is_required():
                    ambiguities.append(f"output field {name!r}: {exc}")
                continue
            if argument is None:
                plan.steps = before
                if info.is_required():
                    unbound.append(
                        f"output field {name!r}: no input field or tool output of a compatible type shares a word with it."
                    )
                continue
            output[name] = argument
        partial = Workflow(steps=tuple(plan.steps), output=output)
        complete = not ambiguities and not unbound
        return MeaningResult(partial if complete else None, partial, ambiguities, unbound)

    def _bind(
        self,
        target: _Target,
        inputs: list[_Source],
        plan: _Plan,
        stack: tuple[str, ...],
        depth: int,
    ) -> Argument | None:
        only, value = single_value(target.annotation)
        if only:
            return Literal(value=value)
        candidates: list[tuple[float, _Source]] = []
        for source in inputs:
            if compatible(source.annotation, target.annotation):
                candidates.append((_score(target, source), source))
        if depth < MAX_DEPTH:
            for tool in self.tools:
                if tool.name in stack:
                    continue
                for source in self._tool_sources[tool.name]:
                    if compatible(source.annotation, target.annotation):
                        candidates.append((_score(target, source), source))
        candidates = [c for c in candidates if c[0] > 0]
        candidates.sort(key=lambda c: (-c[0], c[1].tool is not None))
        if candidates:
            best_score, best = candidates[0]
            rivals = [s for score, s in candidates[1:] if score == best_score]
            if rivals and not (best.tool is None and all(r.tool is not None for r in rivals)):
                names = " and ".join(s.label() for s in [best, *rivals[:1]])
                raise _Ambiguous(f"{names} fit equally well (score {best_score:g}).")
            if best.tool is None:
                return Ref(ref=f"{INPUT_ROOT}.{best.path}")
            step_id = self._call(best, target, inputs, plan, stack, depth)
            if step_id is not None:
                return Ref(ref=f"{step_id}.{best.path}")
        return self._build(target, inputs, plan, stack, depth)

    def _call(
        self,
        source: _Source,
        target: _Target,
        inputs: list[_Source],
        plan: _Plan,
        stack: tuple[str, ...],
        depth: int,
    ) -> str | None:
        tool = source.tool
        assert tool is not None
        matched = source.name_words | source.place_words | source.about_words
        leftover = (target.name_words | target.context) - matched
        args: dict[str, Argument] = {}
        for name, info in tool.input_model.model_fields.items():
            inner = _Target(
                name, info.annotation, words(name), words(info.description or ""), leftover
            )
            try:
                argument = self._bind(inner, inputs, plan, (*stack, tool.name), depth + 1)
            except _Ambiguous:
                if info.is_required():
                    raise
                continue
            if argument is None:
                if info.is_required():
                    return None
                continue
            args[name] = argument
        return plan.call(tool, args)

    def _build(
        self,
        target: _Target,
        inputs: list[_Source],
        plan: _Plan,
        stack: tuple[str, ...],
        depth: int,
    ) -> Argument | None:
        core = _optional_parts(target.annotation)[1]
        model = model_core(core)
        if model is not None and depth < MAX_DEPTH:
            fields: dict[str, Argument] = {}
            for name, info in model.model_fields.items():
                inner = _Target(
                    name,
                    info.annotation,
                    words(name),
                    words(info.description or ""),
                    target.name_words | target.context,
                )
                argument = self._bind(inner, inputs, plan, stack, depth + 1)
                if argument is None:
                    if info.is_required():
                        return None
                    continue
                fields[name] = argument
            if not any(not isinstance(a, Literal) for a in fields.values()):
                return None  # nothing but constants: no evidence at all
            return ObjectArg(object=fields)
        if typing.get_origin(core) in (list, tuple, set, frozenset) and depth < MAX_DEPTH:
            args = typing.get_args(core)
            if args:
                item = _Target(
                    target.name, args[0], target.name_words, target.about_words, target.context
                )
                argument = self._bind(item, inputs, plan, stack, depth + 1)
                if argument is not None:
                    return ListArg(list=(argument,))
        return None


__all__ = ["MeaningPlanner", "MeaningResult"]
