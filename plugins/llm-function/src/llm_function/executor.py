"""Running a validated workflow: resolve arguments, call tools, build the output."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ValidationError

from llm_function.errors import LlmFunctionError
from llm_function.tools import ToolRegistry
from llm_function.workflow import INPUT_ROOT, Literal, Ref, Workflow


def _resolve_checked(argument: Ref | Literal, values: dict[str, Any], where: str) -> Any:
    """``_resolve``, with a reference that does not resolve at run time (an index past the
    end of a list, a missing dict key) reported as ``LlmFunctionError(kind="tool_failed")``."""
    try:
        return _resolve(argument, values)
    except (IndexError, KeyError, ValueError, AttributeError, TypeError) as exc:
        message = f"{where}: reference {argument} does not resolve: {type(exc).__name__}: {exc}"
        raise LlmFunctionError(
            message,
            kind="tool_failed",
            stage="execution",
            details={"where": where, "ref": str(argument)},
            workflow_error=message,
        ) from exc


def _resolve(argument: Ref | Literal, values: dict[str, Any]) -> Any:
    if isinstance(argument, Literal):
        value = argument.value
        # Tools receive their own copy: nothing a tool does can change the cached workflow.
        return copy.deepcopy(value) if isinstance(value, (list, dict)) else value
    current = values[argument.root]
    for part in argument.path:
        if current is None:
            return None
        if isinstance(current, BaseModel):
            current = getattr(current, part)
        elif isinstance(current, dict):
            current = current[part]
        else:
            current = current[int(part)]
    return current


class ExecutionCounters:
    """Counts tool calls made by executions (shared by a function's runs)."""

    __slots__ = ("tool_calls",)

    def __init__(self) -> None:
        self.tool_calls = 0


async def execute_workflow(
    workflow: Workflow,
    inputs: BaseModel,
    output_model: type[BaseModel],
    tools: ToolRegistry,
    counters: ExecutionCounters | None = None,
) -> BaseModel:
    """Run ``workflow`` on ``inputs`` and return an instance of ``output_model``.

    A tool that raises, or whose arguments or result do not validate, raises
    ``LlmFunctionError(kind="tool_failed", stage="execution")`` naming the step and tool.
    """
    values: dict[str, Any] = {INPUT_ROOT: inputs}
    for step in workflow.steps:
        tool = tools.get(step.tool)
        details = {"step": step.id, "tool": tool.name}
        try:
            resolved = {
                n: _resolve_checked(a, values, f"step {step.id!r}") for n, a in step.args.items()
            }
            arguments = tool.input_model.model_validate(resolved)
        except ValidationError as exc:
            raise LlmFunctionError(
                f"Step {step.id!r}: the arguments for tool {tool.name!r} are invalid: {exc}",
                kind="tool_failed",
                stage="execution",
                details={**details, "error": str(exc)},
                workflow_error=str(exc),
            ) from exc
        if counters is not None:
            counters.tool_calls += 1
        try:
            values[step.id] = await tool.call(arguments)
        except Exception as exc:
            raise LlmFunctionError(
                f"Step {step.id!r}: tool {tool.name!r} failed: {type(exc).__name__}: {exc}",
                kind="tool_failed",
                stage="execution",
                details={**details, "error": f"{type(exc).__name__}: {exc}"},
                workflow_error=str(exc),
            ) from exc
    try:
        resolved = {n: _resolve_checked(a, values, "output") for n, a in workflow.output.items()}
        return output_model.model_validate(resolved)
    except ValidationError as exc:
        raise LlmFunctionError(
            f"The workflow's output does not fit {output_model.__name__}: {exc}",
            kind="tool_failed",
            stage="execution",
            details={"output_model": output_model.__name__, "error": str(exc)},
            workflow_error=str(exc),
        ) from exc
