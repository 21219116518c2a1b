"""``@llm_function``: a typed, body-less function turned into a planned, cached workflow."""

from __future__ import annotations

import asyncio
import functools
import inspect
import typing
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, overload

from pydantic import BaseModel

from llm_function.config import (
    CompareParams,
    FunctionOverrides,
    LlmFunctionConfig,
    LlmRuntimeConfig,
    Planning,
    TestParams,
    UsageLimits,
)
from llm_function.errors import LlmFunctionError
from llm_function.runtime import FunctionSpec, LlmFunctionRuntime
from llm_function.workflow import Workflow

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


def _signature(function: Callable[..., Any]) -> tuple[str, type[BaseModel], type[BaseModel], str]:
    """(parameter name, input model, output model, task) of a decorated function, or an error."""
    label = getattr(function, "__qualname__", repr(function))
    task = inspect.getdoc(function) or ""
    if not task.strip():
        raise ValueError(f"@llm_function {label}: the docstring is the task; it must not be empty.")
    try:
        hints = typing.get_type_hints(function)
    except Exception as exc:
        raise TypeError(f"@llm_function {label}: cannot read its type hints ({exc}).") from exc
    parameters = list(inspect.signature(function).parameters.values())
    if len(parameters) != 1 or parameters[0].kind not in (
        parameters[0].POSITIONAL_ONLY,
        parameters[0].POSITIONAL_OR_KEYWORD,
    ):
        raise TypeError(
            f"@llm_function {label} must take exactly one parameter annotated with a pydantic model."
        )
    parameter = parameters[0].name
    input_model, output_model = hints.get(parameter), hints.get("return")
    if not (isinstance(input_model, type) and issubclass(input_model, BaseModel)):
        raise TypeError(
            f"@llm_function {label}: parameter {parameter!r} must be annotated with a pydantic model, got {input_model!r}."
        )
    if not (isinstance(output_model, type) and issubclass(output_model, BaseModel)):
        raise TypeError(
            f"@llm_function {label}: the return annotation must be a pydantic model, got {output_model!r}."
        )
    return parameter, input_model, output_model, task


def _build_runtime(runtime: Any, config: Any, settings: dict[str, Any]) -> LlmFunctionRuntime:
    given = [
        name for name, value in (("runtime", runtime), ("config", config)) if value is not None
    ]
    if settings:
        given.append("direct arguments")
    if len(given) > 1:
        raise TypeError(
            f"@llm_function takes one of runtime=, config= or direct arguments, got {' and '.join(given)}."
        )
    if runtime is not None:
        if not isinstance(runtime, LlmFunctionRuntime):
            raise TypeError(f"runtime= must be a LlmFunctionRuntime, got {type(runtime).__name__}.")
        return runtime
    if config is not None:
        if isinstance(config, LlmRuntimeConfig):
            config = LlmFunctionConfig(runtime=config)
        return LlmFunctionRuntime(config)
    tool_sources = settings.pop("tool_sources", None) or []
    tools = settings.pop("tools", None)
    if tools:
        tool_sources = [*tool_sources, *tools]
    return LlmFunctionRuntime(
        LlmFunctionConfig(runtime=LlmRuntimeConfig(**settings), tool_sources=tool_sources)
    )


class _Decorator(Protocol):
    """What ``llm_function(...)`` with settings returns: a decorator keeping the types."""

    @overload
    def __call__(
        self, function: Callable[[In], Coroutine[Any, Any, Out]]
    ) -> AsyncLlmFunction[In, Out]: ...

    @overload
    def __call__(self, function: Callable[[In], Out]) -> LlmFunction[In, Out]: ...


@overload
def llm_function(
    function: Callable[[In], Coroutine[Any, Any, Out]], /
) -> AsyncLlmFunction[In, Out]: ...


@overload
def llm_function(function: Callable[[In], Out], /) -> LlmFunction[In, Out]: ...


@overload
def llm_function(
    function: None = None,
    *,
    runtime: LlmFunctionRuntime | None = None,
    config: LlmFunctionConfig | LlmRuntimeConfig | None = None,
    test_params: TestParams | dict[str, Any] | list[Any] | None = None,
    compare_params: CompareParams | dict[str, Any] | list[Any] | None = None,
    force_replan: bool | None = None,
    max_retry: int | None = None,
    reset_loops: int | None = None,
    planning: Planning | None = None,
    usage_limits: UsageLimits | dict[str, Any] | None = None,
    literal_outputs: bool | list[str] | None = None,
    **settings: Any,
) -> _Decorator: ...


def llm_function(
    function: Callable[..., Any] | None = None,
    *,
    runtime: LlmFunctionRuntime | None = None,
    config: LlmFunctionConfig | LlmRuntimeConfig | None = None,
    test_params: TestParams | dict[str, Any] | list[Any] | None = None,
    compare_params: CompareParams | dict[str, Any] | list[Any] | None = None,
    force_replan: bool | None = None,
    max_retry: int | None = None,
    reset_loops: int | None = None,
    planning: Planning | None = None,
    usage_limits: UsageLimits | dict[str, Any] | None = None,
    literal_outputs: bool | list[str] | None = None,
    **settings: Any,
) -> Any:
    """Turn a body-less function into a workflow of tool calls, planned once and cached.

    The function takes exactly one parameter annotated with a pydantic model, returns a
    pydantic model and has a docstring (the task). Give ``runtime=`` (shared), ``config=``, or
    direct settings (``tools=[...]``, ``tool_sources=[...]``, ``llm_handler_params=...``,
    ``storage_path=...``). ``test_params``, ``compare_params``, ``force_replan``,
    ``max_retry``, ``reset_loops``, ``planning``, ``usage_limits`` and ``literal_outputs``
    override the runtime's
    for this function (validated like the config: a bad one is a ``ValidationError``).

    The wrapper (``LlmFunction[In, Out]``, or ``AsyncLlmFunction[In, Out]`` for an ``async
    def``) takes a model instance or a dict, and returns an instance of the output model.
    """
    given = {
        "test_params": test_params,
        "compare_params": compare_params,
        "force_replan": force_replan,
        "max_retry": max_retry,
        "reset_loops": reset_loops,
        "planning": planning,
        "usage_limits": usage_limits,
        "literal_outputs": literal_outputs,
    }
    overrides = FunctionOverrides(
        **{name: value for name, value in given.items() if value is not None}
    ).given()

    def decorate(target: Callable[..., Any]) -> Any:
        parameter, input_model, output_model, task = _signature(target)
        shared = _build_runtime(runtime, config, dict(settings))
        spec = FunctionSpec(target.__name__, task, input_model, output_model, overrides)
        return _make_wrapper(target, parameter, spec, shared)

    return decorate if function is None else decorate(function)


class LlmFunction(Generic[In, Out]):
    """A decorated function (sync): call it with the input model or a dict.

    Attributes: ``workflow`` (the cached workflow, ``None`` before the first successful call),
    ``counters`` (model calls, cache hits, plannings, runs, tool calls), ``input_model``,
    ``output_model``, ``task_description``, ``spec`` and ``runtime``; methods ``invoke()``,
    ``ainvoke()``, ``plan()``, ``set_workflow()``, ``invalidate()`` and
    ``export_workflow(package_dir)``.
    """

    def __init__(
        self,
        target: Callable[..., Any],
        parameter: str,
        spec: FunctionSpec,
        runtime: LlmFunctionRuntime,
    ) -> None:
        functools.update_wrapper(self, target)
        self._parameter = parameter
        self.spec = spec
        self.runtime = runtime

    def __repr__(self) -> str:
        return f"<llm_function {self.spec.name}({self.spec.input_model.__name__}) -> {self.spec.output_model.__name__}>"

    @property
    def input_model(self) -> type[In]:
        """The input model (the parameter's annotation)."""
        return self.spec.input_model  # type: ignore[return-value]

    @property
    def output_model(self) -> type[Out]:
        """The output model (the return annotation)."""
        return self.spec.output_model  # type: ignore[return-value]

    @property
    def task_description(self) -> str:
        """The task: the function's docstring."""
        return self.spec.task

    def _inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> BaseModel:
        if len(args) + len(kwargs) != 1 or (kwargs and self._parameter not in kwargs):
            raise TypeError(f"{self.spec.name}() takes exactly one argument ({self._parameter!r}).")
        return self._coerce(args[0] if args else kwargs[self._parameter])

    def _coerce(self, value: Any) -> BaseModel:
        model = self.spec.input_model
        if isinstance(value, model):
            return value
        if isinstance(value, BaseModel):
            value = value.model_dump()
        return model.model_validate(value)

    def __call__(self, *args: Any, **kwargs: Any) -> Out:
        timeout = None
        if "timeout" in kwargs and self._parameter != "timeout":
            timeout = kwargs.pop("timeout")
        return self.runtime.run_sync(self.spec, self._inputs(args, kwargs), timeout)  # type: ignore[return-value]

    def invoke(self, inputs: In | Mapping[str, Any], *, timeout: float | None = None) -> Out:
        """Call the function on ``inputs`` (a model instance or a dict), in this thread.

        ``timeout`` (seconds) bounds the waits of this call, for the planning and for async
        tools: ``LlmFunctionError(kind="timeout")`` when it passes (a shared planning goes on
        for the other callers). A sync tool running in this thread is not interrupted.
        """
        return self.runtime.run_sync(self.spec, self._coerce(inputs), timeout)  # type: ignore[return-value]

    async def ainvoke(self, inputs: In | Mapping[str, Any], *, timeout: float | None = None) -> Out:
        """Call the function from async code, sync or not: async tools are awaited in the
        running loop, sync tools run in worker threads. ``timeout`` as for ``invoke``."""
        running = self.runtime.run(self.spec, self._coerce(inputs))
        if timeout is None:
            return await running  # type: ignore[return-value]
        try:
            return await asyncio.wait_for(running, timeout)  # type: ignore[return-value]
        except asyncio.TimeoutError:
            raise LlmFunctionError(
                f"The call did not finish within its timeout of {timeout} s.",
                kind="timeout",
                stage="execution",
                details={"timeout": timeout},
            ) from None

    @property
    def workflow(self) -> Workflow | None:
        """The cached workflow (print it for readable steps), or ``None``."""
        record = self.runtime.cache.get(self.spec.key, self.runtime.tools)
        # A copy: the cached workflow itself must never change.
        return None if record is None else record.workflow.model_copy(deep=True)

    @property
    def counters(self) -> dict[str, int]:
        """Model calls, cache hits, plannings, runs and tool calls so far."""
        return self.spec.counters()

    def plan(self) -> Workflow:
        """The workflow the next call runs: the cached one, or a new plan (validated, not run,
        not cached) that the next call runs without planning again. Review it, then call the
        function, or pin it with ``set_workflow``."""
        return self.runtime.call(self.runtime.dry_run(self.spec))

    def set_workflow(self, workflow: Workflow | Mapping[str, Any] | str) -> Workflow:
        """Pin a reviewed workflow (a ``Workflow``, its JSON form, or JSON text): validated
        against the schemas (``LlmFunctionError(kind="plan_invalid")`` otherwise) and cached,
        in memory and storage, in place of any other; it runs with ``planning="never"`` too."""
        if isinstance(workflow, str):
            workflow = Workflow.model_validate_json(workflow)
        elif not isinstance(workflow, Workflow):
            workflow = Workflow.model_validate(workflow)
        return self.runtime.pin(self.spec, workflow).workflow.model_copy(deep=True)

    def invalidate(self) -> None:
        """Forget the cached workflow (memory and storage); the next call plans again."""
        self.runtime.invalidate(self.spec)

    def export_workflow(self, package_dir: str | Path) -> Path:
        """Write the workflow record to ``<package_dir>/workflows/<name>.json`` and return the path.

        An lllm package shipping it lets production run the function with no model at all
        (``LlmFunctionConfig(workflows_from=<lllm runtime>)``).
        """
        import json

        from llm_function.cache import WorkflowRecord

        record = self.runtime.cache.get(self.spec.key, self.runtime.tools)
        if record is None:
            record = WorkflowRecord.for_workflow(
                self.spec.key,
                self.plan(),
                self.runtime.tools,
                {"function": self.spec.name, "planner": "export"},
            )
        folder = Path(package_dir) / "workflows"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{self.spec.name}.json"
        target.write_text(
            json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        return target


class AsyncLlmFunction(LlmFunction[In, Out]):
    """A decorated ``async def`` function: calling it returns an awaitable."""

    async def __call__(self, *args: Any, **kwargs: Any) -> Out:  # type: ignore[override]
        return await self.runtime.run(self.spec, self._inputs(args, kwargs))  # type: ignore[return-value]

    async def aplan(self) -> Workflow:
        """``plan()`` for async code."""
        return await self.runtime.dry_run(self.spec)


def _make_wrapper(
    target: Callable[..., Any], parameter: str, spec: FunctionSpec, runtime: LlmFunctionRuntime
) -> LlmFunction[Any, Any]:
    cls = AsyncLlmFunction if inspect.iscoroutinefunction(target) else LlmFunction
    return cls(target, parameter, spec, runtime)
