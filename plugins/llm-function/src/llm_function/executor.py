"""Running a validated workflow: arguments resolved, tools called, the output built.

A workflow is compiled once (``CompiledWorkflow``): its references become small resolvers
over a list of values (the input, then each step's output), its tools are looked up once.
A compiled workflow runs in two ways:

- ``run_sync`` in the calling thread: sync tools are called right there, async tools are
  handed to ``call_async`` (which runs them on an event loop and waits);
- ``run_async`` in the calling event loop: async tools are awaited there, sync tools are
  handed to ``call_sync`` (a worker thread), so no blocking tool ever runs on an event loop.
"""

from __future__ import annotations

import asyncio
import copy
import enum
import functools
import operator
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from pydantic import BaseModel, ValidationError

from llm_function.errors import LlmFunctionError
from llm_function.tools import ToolRegistry
from llm_function.workflow import (
    INPUT_ROOT,
    Argument,
    ListArg,
    Literal,
    ObjectArg,
    Ref,
    Template,
    Workflow,
    template_parts,
)

Resolver = Callable[[list[Any]], Any]
#: Runs an async tool's coroutine to completion from sync code.
AsyncRunner = Callable[[Coroutine[Any, Any, Any]], Any]
#: Runs a sync tool somewhere other than the event loop: ``await call_sync(function, argument)``.
SyncRunner = Callable[[Callable[[Any], Any], Any], Awaitable[Any]]


class ExecutionCounters:
    """Counts tool calls made by executions (shared by a function's runs, from any thread)."""

    __slots__ = ("tool_calls", "_lock")

    def __init__(self) -> None:
        self.tool_calls = 0
        self._lock = threading.Lock()

    def add(self, calls: int) -> None:
        """Count ``calls`` more tool calls."""
        with self._lock:
            self.tool_calls += calls

    def _after_fork(self) -> None:
        self._lock = threading.Lock()


def _walk(slot: int, parts: tuple[tuple[str, int | None], ...], values: list[Any]) -> Any:
    current = values[slot]
    for name, index in parts:
        if current is None:
            return None
        if isinstance(current, BaseModel):
            current = getattr(current, name)
        elif isinstance(current, dict):
            current = current[name]
        elif index is None:
            raise ValueError(f"{name!r} is not a list index")
        else:
            current = current[index]
    return current


def _literal(value: Any) -> Any:
    # Tools receive their own copy: nothing a tool does can change the cached workflow.
    return copy.deepcopy(value)


def _text(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _render(pieces: tuple[tuple[str, Resolver | None], ...], values: list[Any]) -> str:
    return "".join(
        text if resolver is None else text + _text(resolver(values)) for text, resolver in pieces
    )


def compile_argument(argument: Argument, slots: dict[str, int]) -> Resolver:
    """A function of the value list returning ``argument``'s value."""
    if isinstance(argument, Literal):
        value = argument.value
        if isinstance(value, (list, dict)):
            return lambda values: _literal(value)
        return lambda values: value
    if isinstance(argument, ObjectArg):
        fields = tuple(
            (name, compile_argument(item, slots)) for name, item in argument.object.items()
        )
        return lambda values: {name: resolver(values) for name, resolver in fields}
    if isinstance(argument, ListArg):
        items = tuple(compile_argument(item, slots) for item in argument.list)
        return lambda values: [resolver(values) for resolver in items]
    if isinstance(argument, Template):
        pieces = tuple(
            (text, None if name is None else compile_argument(Ref(ref=name), slots))
            for text, name in template_parts(argument.template)
        )
        return functools.partial(_render, pieces)
    slot = slots[argument.root]
    parts = tuple((part, int(part) if part.isdigit() else None) for part in argument.path)
    if not parts:
        return operator.itemgetter(slot)
    # The root is always a model (the validated input, or a tool's validated output).
    first, rest = parts[0][0], parts[1:]
    if not rest:
        return lambda values: getattr(values[slot], first)
    return functools.partial(_walk, slot, parts)


def _validator(model: type[BaseModel]) -> Callable[[Any], Any]:
    """``model.model_validate``, without its per-call wrapper."""
    validator = getattr(model, "__pydantic_validator__", None)
    validate = getattr(validator, "validate_python", None)
    return validate if callable(validate) else model.model_validate


class _Step:
    __slots__ = (
        "id",
        "tool",
        "function",
        "is_async",
        "input_model",
        "output_model",
        "args",
        "validate_input",
        "validate_output",
    )

    def __init__(self, step_id: str, tool: Any, args: tuple[tuple[str, str, Resolver], ...]):
        self.id = step_id
        self.tool = tool.name
        self.function = tool.function
        self.is_async = tool.is_async
        self.input_model = tool.input_model
        self.output_model = tool.output_model
        self.args = args
        self.validate_input = _validator(tool.input_model)
        self.validate_output = _validator(tool.output_model)


def _failure(message: str, details: dict[str, Any], error: str) -> LlmFunctionError:
    return LlmFunctionError(
        message, kind="tool_failed", stage="execution", details=details, workflow_error=error
    )


def _resolve(arguments: tuple[tuple[str, str, Resolver], ...], values: list[Any], where: str):
    try:
        return {name: resolver(values) for name, _, resolver in arguments}
    except (IndexError, KeyError, ValueError, AttributeError, TypeError):
        pass  # find which one, below
    resolved = {}
    for name, text, resolver in arguments:
        try:
            resolved[name] = resolver(values)
        except (IndexError, KeyError, ValueError, AttributeError, TypeError) as exc:
            message = f"{where}: reference {text} does not resolve: {type(exc).__name__}: {exc}"
            raise _failure(message, {"where": where, "ref": text}, message) from exc
    return resolved


class CompiledWorkflow:
    """A workflow bound to its tools and output model, ready to run many times."""

    __slots__ = ("workflow", "output_model", "steps", "output", "all_sync", "_validate_output")

    def __init__(
        self, workflow: Workflow, output_model: type[BaseModel], tools: ToolRegistry
    ) -> None:
        self.workflow = workflow
        self.output_model = output_model
        slots = {INPUT_ROOT: 0}
        steps = []
        for index, step in enumerate(workflow.steps, start=1):
            args = tuple(
                (name, str(argument), compile_argument(argument, slots))
                for name, argument in step.args.items()
            )
            steps.append(_Step(step.id, tools.get(step.tool), args))
            slots[step.id] = index
        self.steps = tuple(steps)
        self.output = tuple(
            (name, str(argument), compile_argument(argument, slots))
            for name, argument in workflow.output.items()
        )
        self.all_sync = not any(step.is_async for step in self.steps)
        self._validate_output = _validator(output_model)

    def _arguments(self, step: _Step, values: list[Any]) -> BaseModel:
        resolved = _resolve(step.args, values, f"step {step.id!r}")
        try:
            return step.validate_input(resolved)
        except ValidationError as exc:
            raise _failure(
                f"Step {step.id!r}: the arguments for tool {step.tool!r} are invalid: {exc}",
                {"step": step.id, "tool": step.tool, "error": str(exc)},
                str(exc),
            ) from exc

    def _failed(self, step: _Step, exc: Exception) -> LlmFunctionError:
        return _failure(
            f"Step {step.id!r}: tool {step.tool!r} failed: {type(exc).__name__}: {exc}",
            {"step": step.id, "tool": step.tool, "error": f"{type(exc).__name__}: {exc}"},
            str(exc),
        )

    def _result(self, values: list[Any]) -> BaseModel:
        resolved = _resolve(self.output, values, "output")
        try:
            return self._validate_output(resolved)
        except ValidationError as exc:
            raise _failure(
                f"The workflow's output does not fit {self.output_model.__name__}: {exc}",
                {"output_model": self.output_model.__name__, "error": str(exc)},
                str(exc),
            ) from exc

    def run_sync(
        self,
        inputs: BaseModel,
        call_async: AsyncRunner,
        counters: ExecutionCounters | None = None,
    ) -> BaseModel:
        """Run in this thread; ``call_async`` runs each async tool's coroutine and returns its result.

        A tool that raises, or whose arguments or result do not validate, raises
        ``LlmFunctionError(kind="tool_failed", stage="execution")`` naming the step and tool.
        """
        values = [inputs]
        calls = 0
        try:
            for step in self.steps:
                arguments = self._arguments(step, values)
                calls += 1
                try:
                    if step.is_async:
                        result = call_async(step.function(arguments))
                    else:
                        result = step.function(arguments)
                    if not isinstance(result, step.output_model):
                        result = step.validate_output(result)
                except Exception as exc:
                    raise self._failed(step, exc) from exc
                values.append(result)
            return self._result(values)
        finally:
            if counters is not None and calls:
                counters.add(calls)

    async def run_async(
        self,
        inputs: BaseModel,
        call_sync: SyncRunner,
        counters: ExecutionCounters | None = None,
    ) -> BaseModel:
        """Run in the running event loop; ``call_sync`` runs each sync tool off the loop."""
        values = [inputs]
        calls = 0
        try:
            for step in self.steps:
                arguments = self._arguments(step, values)
                calls += 1
                try:
                    if step.is_async:
                        result = await step.function(arguments)
                    else:
                        result = await call_sync(step.function, arguments)
                    if not isinstance(result, step.output_model):
                        result = step.validate_output(result)
                except Exception as exc:
                    raise self._failed(step, exc) from exc
                values.append(result)
            return self._result(values)
        finally:
            if counters is not None and calls:
                counters.add(calls)


async def in_worker_thread(function: Callable[[Any], Any], argument: Any) -> Any:
    """Call a sync tool in the running loop's default executor (never on the loop itself)."""
    return await asyncio.to_thread(function, argument)


async def execute_workflow(
    workflow: Workflow,
    inputs: BaseModel,
    output_model: type[BaseModel],
    tools: ToolRegistry,
    counters: ExecutionCounters | None = None,
) -> BaseModel:
    """Run ``workflow`` on ``inputs`` in the running loop (sync tools in worker threads) and
    return an instance of ``output_model``; failures as in ``CompiledWorkflow.run_sync``."""
    compiled = CompiledWorkflow(workflow, output_model, tools)
    return await compiled.run_async(inputs, in_worker_thread, counters)
