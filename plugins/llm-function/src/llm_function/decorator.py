"""``@llm_function``: a typed, body-less function turned into a planned, cached workflow."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from llm_function.config import FunctionOverrides, LlmFunctionConfig, LlmRuntimeConfig
from llm_function.runtime import FunctionSpec, LlmFunctionRuntime
from llm_function.workflow import Workflow


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


def llm_function(
    function: Callable[..., Any] | None = None,
    *,
    runtime: LlmFunctionRuntime | None = None,
    config: LlmFunctionConfig | LlmRuntimeConfig | None = None,
    test_params: dict[str, Any] | None = None,
    compare_params: dict[str, Any] | None = None,
    force_replan: bool | None = None,
    max_retry: int | None = None,
    reset_loops: int | None = None,
    **settings: Any,
) -> Any:
    """Turn a body-less function into a workflow of tool calls, planned once and cached.

    The function takes exactly one parameter annotated with a pydantic model, returns a
    pydantic model and has a docstring (the task). Give ``runtime=`` (shared), ``config=``, or
    direct settings (``tools=[...]``, ``tool_sources=[...]``, ``llm_handler_params=...``,
    ``storage_path=...``). ``test_params``, ``compare_params``, ``force_replan``,
    ``max_retry`` and ``reset_loops`` override the runtime's for this function.

    The wrapper is sync or async like the function, takes a model instance or a dict, and
    returns an instance of the output model. It also has ``workflow`` (the cached workflow or
    ``None``), ``plan()`` (a dry run: the workflow, without running it), ``invalidate()``,
    ``export_workflow(package_dir)`` and ``counters``.
    """
    given = {
        "test_params": test_params,
        "compare_params": compare_params,
        "force_replan": force_replan,
        "max_retry": max_retry,
        "reset_loops": reset_loops,
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


class LlmFunction:
    """A decorated function (sync): call it with the input model or a dict.

    Attributes: ``workflow`` (the cached workflow, ``None`` before the first successful call),
    ``counters`` (model calls, cache hits, plannings, runs, tool calls), ``spec`` and
    ``runtime``; methods ``plan()``, ``invalidate()`` and ``export_workflow(package_dir)``.
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

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        timeout = None
        if "timeout" in kwargs and self._parameter != "timeout":
            timeout = kwargs.pop("timeout")
        return self.invoke(self._inputs(args, kwargs), timeout=timeout)

    def invoke(self, inputs: Any, *, timeout: float | None = None) -> Any:
        """Call the function on ``inputs`` (a model instance or a dict).

        ``timeout`` (seconds) bounds the waits of this call, for the planning and for async
        tools: ``LlmFunctionError(kind="timeout")`` when it passes (a shared planning goes on
        for the other callers). A sync tool running in this thread is not interrupted.
        """
        return self.runtime.run_sync(self.spec, self._coerce(inputs), timeout)

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
        """A dry run: the workflow the function runs (the cached one, or a new plan that is
        validated but neither run nor cached)."""
        return self.runtime.call(self.runtime.dry_run(self.spec))

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


class AsyncLlmFunction(LlmFunction):
    """A decorated ``async def`` function: calling it returns an awaitable."""

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        inputs = self._inputs(args, kwargs)
        return await self.runtime.run(self.spec, inputs)

    async def aplan(self) -> Workflow:
        """``plan()`` for async code."""
        return await self.runtime.call_async(self.runtime.dry_run(self.spec))


def _make_wrapper(
    target: Callable[..., Any], parameter: str, spec: FunctionSpec, runtime: LlmFunctionRuntime
) -> LlmFunction:
    cls = AsyncLlmFunction if inspect.iscoroutinefunction(target) else LlmFunction
    return cls(target, parameter, spec, runtime)
