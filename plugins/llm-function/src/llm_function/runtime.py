"""``LlmFunctionRuntime``: the state decorated functions share.

It resolves the tools once, builds the planners, the LLM client and the workflow cache
once, and runs everything on one background event loop of its own, so sync wrappers work
repeatedly, from any thread and inside a running event loop, and the LLM client is never
used across loops. Concurrent first calls of one function share one planning.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import math
import threading
import weakref
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from pydantic import BaseModel

from llm_function.cache import WorkflowCache, WorkflowRecord, cache_key
from llm_function.clients import make_client
from llm_function.config import (
    DEFAULT_MAX_RETRY,
    DEFAULT_RESET_LOOPS,
    LlmFunctionConfig,
    LlmRuntimeConfig,
)
from llm_function.errors import LlmFunctionError
from llm_function.executor import ExecutionCounters, execute_workflow
from llm_function.llm_planner import LlmPlanner, PlanCounters
from llm_function.schema_planner import SchemaPlanner, type_feasibility
from llm_function.sources import resolve_tools
from llm_function.tools import ToolRegistry
from llm_function.validation import WorkflowInvalid, validate_workflow
from llm_function.workflow import Workflow

T = TypeVar("T")


class FunctionSpec:
    """What the runtime needs to know of one decorated function, and its counters."""

    def __init__(
        self,
        name: str,
        task: str,
        input_model: type[BaseModel],
        output_model: type[BaseModel],
        overrides: dict[str, Any],
    ) -> None:
        self.name = name
        self.task = task
        self.input_model = input_model
        self.output_model = output_model
        self.overrides = {k: v for k, v in overrides.items() if v is not None}
        self.key = cache_key(task, input_model, output_model)
        self.model_calls = 0
        self.cache_hits = 0
        self.plannings = 0
        self.runs = 0
        self.execution = ExecutionCounters()
        self.replanned = False

    def counters(self) -> dict[str, int]:
        """Model calls, cache hits, plannings, runs and tool calls so far."""
        return {
            "model_calls": self.model_calls,
            "cache_hits": self.cache_hits,
            "plannings": self.plannings,
            "runs": self.runs,
            "tool_calls": self.execution.tool_calls,
        }


class _LoopThread:
    """A daemon thread running one event loop until closed."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="llm_function-runtime", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def close(self) -> None:
        if self.loop.is_closed():
            return
        if threading.current_thread() is not self.thread:
            # Cancel what still runs, so callers waiting on it get CancelledError, not a hang.
            async def cancel_all() -> None:
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            try:
                asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=5)
            except Exception:  # a loop that is stopping or stuck: stop it anyway
                pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout=5)
            self.loop.close()


class LlmFunctionRuntime:
    """Shared state for decorated functions: tools, planners, client, cache and event loop."""

    def __init__(self, config: LlmFunctionConfig | None = None, **settings: Any) -> None:
        if config is None:
            config = LlmFunctionConfig(**settings)
        elif settings:
            raise TypeError("Pass either a LlmFunctionConfig or settings, not both.")
        self.config = config
        self.settings: LlmRuntimeConfig = config.runtime
        registry = config.tool_registry
        if registry is not None and not isinstance(registry, ToolRegistry):
            raise LlmFunctionError(
                "tool_registry must be a ToolRegistry", kind="config_invalid", stage="configuration"
            )
        self.tools: ToolRegistry = resolve_tools(list(config.tool_sources or []), registry)
        params = dict(self.settings.llm_handler_params or {})
        self.planning_deadline: float | None = params.pop("planning_deadline", None)
        self.client = make_client(params or None)
        self.schema_planner = SchemaPlanner(self.tools)
        self.cache = WorkflowCache(self.settings.storage_path)
        if config.workflows_from is not None:
            self.cache.seed(_records_from_lllm(config.workflows_from))
        self._loop_thread: _LoopThread | None = None
        self._loop_lock = threading.Lock()
        self._inflight: dict[str, asyncio.Task[WorkflowRecord]] = {}
        self._finalizer: weakref.finalize | None = None

    # ----------------------------------------------------------------------- the loop

    def _loop(self) -> asyncio.AbstractEventLoop:
        with self._loop_lock:
            if self._loop_thread is None or self._loop_thread.loop.is_closed():
                self._loop_thread = _LoopThread()
                self._finalizer = weakref.finalize(self, self._loop_thread.close)
            return self._loop_thread.loop

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coroutine`` on the runtime's loop."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop())

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the runtime's loop and wait for it (from any thread but the loop's)."""
        thread = self._loop_thread.thread if self._loop_thread is not None else None
        if threading.current_thread() is thread:
            coroutine.close()
            raise RuntimeError(
                "A sync llm_function was called from inside the runtime's own loop (a tool); call its async form instead."
            )
        return self.submit(coroutine).result()

    async def call_async(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the runtime's loop and await it from another loop."""
        thread = self._loop_thread.thread if self._loop_thread is not None else None
        if threading.current_thread() is thread:
            return await coroutine
        return await asyncio.wrap_future(self.submit(coroutine))

    def close(self) -> None:
        """Stop the runtime's loop (it restarts on the next call)."""
        with self._loop_lock:
            if self._finalizer is not None:
                self._finalizer()
            self._loop_thread = None
            self._inflight = {}

    # ---------------------------------------------------------------------- settings

    def setting(self, spec: FunctionSpec, name: str) -> Any:
        """A setting for ``spec``: its decorator override, else the runtime's."""
        if name in spec.overrides:
            return spec.overrides[name]
        return getattr(self.settings, name)

    # ---------------------------------------------------------------------- planning

    def _must_replan(self, spec: FunctionSpec) -> bool:
        return bool(self.setting(spec, "force_replan")) and not spec.replanned

    async def workflow_for(self, spec: FunctionSpec) -> tuple[WorkflowRecord, bool]:
        """The workflow to run for ``spec`` and whether it is already cached (else: planned now).

        A planning in flight for the same function is awaited rather than repeated, before
        the cache is consulted (a forced replan must not be bypassed by concurrent calls).
        """
        task = self._inflight.get(spec.key)
        if task is None:
            if not self._must_replan(spec):
                record = self.cache.get(spec.key, self.tools)
                if record is not None:
                    spec.cache_hits += 1
                    return record, True
            # The planning runs in a task of its own that every caller awaits through a
            # shield: cancelling one caller never cancels the others' planning.
            task = asyncio.get_running_loop().create_task(self._plan(spec))
            self._inflight[spec.key] = task
            task.add_done_callback(lambda done, key=spec.key: self._planned(key, done))
        return await asyncio.shield(task), False

    def _planned(self, key: str, task: asyncio.Task[WorkflowRecord]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved here: waiters may all have gone

    async def _plan(self, spec: FunctionSpec) -> WorkflowRecord:
        spec.plannings += 1
        tester = self._tester(spec)
        provenance: dict[str, Any] = {
            "function": spec.name,
            "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
        }
        if self.client is None:
            workflow = self.schema_planner.plan(spec.input_model, spec.output_model)
            provenance["planner"] = "schema"
            if tester is not None:
                try:
                    await tester(workflow)
                except LlmFunctionError as exc:
                    raise LlmFunctionError(
                        f"The schema planner's workflow failed the function's tests: {exc}",
                        kind="test_failed",
                        stage="testing",
                        details={"error": str(exc), **exc.details},
                        workflow_error=str(exc),
                    ) from exc
        else:
            problems = type_feasibility(spec.input_model, spec.output_model, self.tools)
            if problems:
                raise LlmFunctionError(
                    "No workflow can produce the output from the input and tools:\n  - "
                    + "\n  - ".join(problems),
                    kind="infeasible",
                    stage="planning",
                    details={"reasons": problems},
                )
            try:
                hint: Workflow | None = self.schema_planner.plan(
                    spec.input_model, spec.output_model
                )
            except LlmFunctionError:
                hint = None
            planner = LlmPlanner(
                self.client,
                self.tools,
                max_retry=self._int_setting(spec, "max_retry", DEFAULT_MAX_RETRY),
                reset_loops=self._int_setting(spec, "reset_loops", DEFAULT_RESET_LOOPS),
                deadline=self.planning_deadline,
            )
            counters = PlanCounters()
            try:
                workflow = await planner.plan(
                    spec.task,
                    spec.input_model,
                    spec.output_model,
                    hint=hint,
                    tester=tester,
                    counters=counters,
                )
            finally:
                spec.model_calls += counters.model_calls
            provenance["planner"] = "llm"
            provenance["model"] = getattr(self.client, "model_name", None)
        try:
            validate_workflow(workflow, spec.input_model, spec.output_model, self.tools)
        except WorkflowInvalid as exc:  # a planner bug, never a user error
            raise LlmFunctionError(
                str(exc), kind="plan_invalid", stage="validation", workflow_error=str(exc)
            ) from exc
        return WorkflowRecord.for_workflow(spec.key, workflow, self.tools, provenance)

    def _int_setting(self, spec: FunctionSpec, name: str, default: int) -> int:
        value = self.setting(spec, name)
        return default if value is None else int(value)

    def _tester(self, spec: FunctionSpec) -> Any:
        test_params = self.setting(spec, "test_params")
        compare_params = self.setting(spec, "compare_params")
        if not test_params and not compare_params:
            return None

        async def test(workflow: Workflow) -> None:
            for inputs in (test_params or {}).get("inputs", []):
                await execute_workflow(
                    workflow,
                    spec.input_model.model_validate(inputs),
                    spec.output_model,
                    self.tools,
                    spec.execution,
                )
            compare = compare_params or {}
            fields = compare.get("fields")
            rel_tol = float(compare.get("rel_tol", 1e-9))
            for index, case in enumerate(compare.get("cases", [])):
                produced = await execute_workflow(
                    workflow,
                    spec.input_model.model_validate(case["input"]),
                    spec.output_model,
                    self.tools,
                    spec.execution,
                )
                actual = produced.model_dump(mode="json")
                for name, expected in case.get("expected", {}).items():
                    if fields is not None and name not in fields:
                        continue
                    if not _same(actual.get(name), expected, rel_tol):
                        raise LlmFunctionError(
                            f"compare case {index}: output field {name!r} is {actual.get(name)!r}, expected {expected!r}",
                            kind="test_failed",
                            stage="testing",
                            details={
                                "case": index,
                                "field": name,
                                "actual": actual.get(name),
                                "expected": expected,
                            },
                        )

        return test

    # ---------------------------------------------------------------------- running

    async def run(self, spec: FunctionSpec, inputs: BaseModel) -> BaseModel:
        """Plan (or reuse) the workflow for ``spec``, run it on ``inputs``, cache it on success."""
        record, cached = await self.workflow_for(spec)
        spec.runs += 1
        output = await execute_workflow(
            record.workflow, inputs, spec.output_model, self.tools, spec.execution
        )
        if not cached:
            try:
                self.cache.put(record)
            except OSError as exc:  # the result is good; only storing it failed
                import warnings

                warnings.warn(
                    f"llm_function: could not store the workflow of {spec.name} in {self.cache.storage_path}: {exc}",
                    RuntimeWarning,
                    stacklevel=2,
                )
            spec.replanned = True
        return output

    async def dry_run(self, spec: FunctionSpec) -> Workflow:
        """The workflow ``spec`` would run (cached, or planned now and not cached); no tool runs
        unless the function has test or compare parameters."""
        record = None if self._must_replan(spec) else self.cache.get(spec.key, self.tools)
        if record is not None:
            return record.workflow.model_copy(deep=True)
        return (await self._plan(spec)).workflow

    def invalidate(self, spec: FunctionSpec) -> None:
        """Forget the cached workflow of ``spec`` (memory and storage)."""
        self.cache.remove(spec.key)


def _same(actual: Any, expected: Any, rel_tol: float) -> bool:
    if (
        isinstance(actual, (int, float))
        and isinstance(expected, (int, float))
        and not isinstance(actual, bool)
    ):
        return math.isclose(actual, expected, rel_tol=rel_tol, abs_tol=rel_tol)
    return actual == expected


def _records_from_lllm(source: Any) -> list[WorkflowRecord]:
    """The workflow records of an lllm runtime's ``workflows`` section."""
    import warnings

    import lllm

    runtime = lllm.get_default_runtime() if source is True else source
    records = []
    for node in runtime.iter_nodes("workflow"):
        try:
            records.append(WorkflowRecord.from_json(node.value))
        except Exception as exc:
            warnings.warn(
                f"llm_function: ignoring workflow {node.qualified_key}: {exc}",
                RuntimeWarning,
                stacklevel=3,
            )
    return records


__all__ = ["LlmFunctionRuntime", "FunctionSpec", "Awaitable"]
