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
import functools
import logging
import math
import threading
import time
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

from pydantic import BaseModel

from llm_function import forksafe
from llm_function.cache import WorkflowCache, WorkflowRecord, cache_key
from llm_function.clients import make_client
from llm_function.config import (
    DEFAULT_MAX_RETRY,
    DEFAULT_RESET_LOOPS,
    CompareParams,
    LlmFunctionConfig,
    LlmRuntimeConfig,
)
from llm_function.errors import LlmFunctionError
from llm_function.executor import (
    CompiledWorkflow,
    ExecutionCounters,
    execute_workflow,
    in_worker_thread,
)
from llm_function.feasibility import type_feasibility
from llm_function.llm_planner import LlmPlanner, PlanCounters
from llm_function.loop_thread import LoopThread
from llm_function.schema_planner import SchemaPlanner
from llm_function.sources import resolve_tools
from llm_function.tools import ToolRegistry
from llm_function.validation import WorkflowInvalid, validate_workflow
from llm_function.workflow import Workflow

T = TypeVar("T")

logger = logging.getLogger("llm_function")


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
        self.prompt_chars = 0
        self.execution = ExecutionCounters()
        self.replanned = False
        self._compiled: CompiledWorkflow | None = None
        self._lock = threading.Lock()
        forksafe.register(self)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self.execution._after_fork()

    def counters(self) -> dict[str, int]:
        """Model calls, cache hits, plannings, runs and tool calls so far, and the size in
        characters of the last planning prompt sent to a model (0: none sent)."""
        return {
            "model_calls": self.model_calls,
            "cache_hits": self.cache_hits,
            "plannings": self.plannings,
            "runs": self.runs,
            "tool_calls": self.execution.tool_calls,
            "prompt_chars": self.prompt_chars,
        }

    def count_run(self, cache_hit: bool) -> None:
        """Count one run (and a cache hit); safe from any thread."""
        with self._lock:
            self.runs += 1
            if cache_hit:
                self.cache_hits += 1

    def compiled(self, record: WorkflowRecord, tools: ToolRegistry) -> CompiledWorkflow:
        """``record``'s workflow compiled for this function's output model (kept for reuse)."""
        compiled = self._compiled
        if compiled is None or compiled.workflow is not record.workflow:
            compiled = CompiledWorkflow(record.workflow, self.output_model, tools)
            self._compiled = compiled
        return compiled


class LlmFunctionRuntime:
    """Shared state for decorated functions: tools, planners, client, cache and event loop.

    Planning runs on a background event loop of the runtime's own. Workflows run where they
    are called: a sync function's tools in the caller's thread, an async function's in the
    caller's event loop (its sync tools in worker threads). No tool runs on the runtime's loop
    thread, except async tools reached from sync code.
    """

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
        handler = self.settings.llm_handler_params
        self.planning_deadline: float | None = (
            None if handler is None else handler.planning_deadline
        )
        self.client = make_client(handler)
        self.schema_planner = SchemaPlanner(self.tools)
        self.cache = WorkflowCache(self.settings.storage_path)
        if config.workflows_from is not None:
            self.cache.seed(_records_from_lllm(config.workflows_from))
        self._loop_thread: LoopThread | None = None
        self._loop_lock = threading.Lock()
        self._flights: dict[str, concurrent.futures.Future[WorkflowRecord]] = {}
        self._flight_lock = threading.Lock()
        self._finalizer: weakref.finalize | None = None
        forksafe.register(self)

    def _after_fork(self) -> None:
        # The loop's thread did not survive the fork: forget it (a new one starts on demand).
        if self._finalizer is not None:
            self._finalizer.detach()
        self._finalizer = None
        self._loop_thread = None
        self._loop_lock = threading.Lock()
        self._flights = {}
        self._flight_lock = threading.Lock()

    # ----------------------------------------------------------------------- the loop

    def _loop(self) -> asyncio.AbstractEventLoop:
        with self._loop_lock:
            if self._loop_thread is None or self._loop_thread.loop.is_closed():
                self._loop_thread = LoopThread()
                self._finalizer = weakref.finalize(self, self._loop_thread.close)
            return self._loop_thread.loop

    def _on_loop_thread(self) -> bool:
        loop_thread = self._loop_thread
        return loop_thread is not None and threading.get_ident() == loop_thread.ident

    def _refuse_loop_thread(self) -> None:
        if self._on_loop_thread():
            raise RuntimeError(
                "A sync llm_function was called from inside the runtime's own loop (a tool); call its async form instead."
            )

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coroutine`` on the runtime's loop."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop())

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the runtime's loop and wait for it (from any thread but the loop's)."""
        if self._on_loop_thread():
            coroutine.close()
            self._refuse_loop_thread()
        return _wait(self.submit(coroutine), timeout)

    async def call_async(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the runtime's loop and await it from another loop."""
        if self._on_loop_thread():
            return await coroutine
        return await asyncio.wrap_future(self.submit(coroutine))

    def close(self) -> None:
        """Stop the runtime's loop (it restarts on the next call)."""
        with self._loop_lock:
            if self._finalizer is not None:
                self._finalizer()
            self._loop_thread = None
        with self._flight_lock:
            self._flights = {}

    # ---------------------------------------------------------------------- settings

    def setting(self, spec: FunctionSpec, name: str) -> Any:
        """A setting for ``spec``: its decorator override, else the runtime's."""
        if name in spec.overrides:
            return spec.overrides[name]
        return getattr(self.settings, name)

    # ---------------------------------------------------------------------- planning

    def _must_replan(self, spec: FunctionSpec) -> bool:
        return (
            not spec.replanned
            and bool(self.setting(spec, "force_replan"))
            and self.setting(spec, "planning") != "never"
        )

    def _cached(self, spec: FunctionSpec) -> WorkflowRecord | None:
        """The cached record for ``spec`` unless a forced replan is still due."""
        if self._must_replan(spec):
            return None
        record = self.cache.get(spec.key, self.tools)
        if record is not None:
            logger.debug("cache hit: %s", spec.name)
        return record

    def _flight(self, spec: FunctionSpec) -> concurrent.futures.Future[WorkflowRecord]:
        """The workflow of ``spec`` in flight (planned or being planned, not cached yet),
        started now if there is none.

        Concurrent callers share one flight until its record is cached: they wait for the
        planning, then run its record themselves. The flight ends when the planning fails or
        when a run of its record finishes (a successful one caches the record first).
        """
        with self._flight_lock:
            future = self._flights.get(spec.key)
            if future is not None:
                return future
            if self.setting(spec, "planning") == "never":
                raise LlmFunctionError(
                    f"{spec.name} has no cached, shipped or pinned workflow and planning is 'never'.",
                    kind="planning_disabled",
                    stage="planning",
                    details={"function": spec.name, "key": spec.key},
                )
            reason = "force_replan" if self._must_replan(spec) else "no cached workflow"
            logger.info("planning %s: %s", spec.name, reason)
            future = self.submit(self._plan_bounded(spec))
            self._flights[spec.key] = future
        # Outside the lock: a future already done runs the callback at once, in this thread.
        future.add_done_callback(functools.partial(self._planned, spec.key))
        return future

    def _planned(self, key: str, future: concurrent.futures.Future[WorkflowRecord]) -> None:
        if future.cancelled() or future.exception() is not None:
            self._land(key, future)

    def _land(self, key: str, future: concurrent.futures.Future[WorkflowRecord]) -> bool:
        """End the flight ``future`` of ``key``; whether it was still in flight."""
        with self._flight_lock:
            if self._flights.get(key) is future:
                del self._flights[key]
                return True
            return False

    def _ran(
        self,
        spec: FunctionSpec,
        flight: concurrent.futures.Future[WorkflowRecord],
        record: WorkflowRecord,
        succeeded: bool,
    ) -> None:
        """A run of a flight's record finished: cache the record if it succeeded (once), and
        end the flight."""
        if succeeded and self.cache.peek(spec.key) is not record:
            self._store(spec, record)
        self._land(spec.key, flight)

    async def workflow_for(
        self, spec: FunctionSpec
    ) -> tuple[WorkflowRecord, concurrent.futures.Future[WorkflowRecord] | None]:
        """The workflow to run for ``spec``, and the flight it comes from (``None``: cached)."""
        record = self._cached(spec)
        if record is not None:
            return record, None
        # Every caller awaits the shared planning through a shield: cancelling one caller
        # never cancels the others' planning.
        flight = self._flight(spec)
        return await asyncio.shield(asyncio.wrap_future(flight)), flight

    async def _plan_bounded(self, spec: FunctionSpec) -> WorkflowRecord:
        """``_plan``, stopped at the planning deadline wherever it is (a model call, a retry's
        backoff, a ``Retry-After`` wait, a test run) with ``budget_exceeded``."""
        deadline = self.planning_deadline
        if deadline is None:
            return await self._plan(spec)
        planning = asyncio.ensure_future(self._plan(spec))
        try:
            done, _ = await asyncio.wait({planning}, timeout=deadline)
        except asyncio.CancelledError:
            planning.cancel()
            raise
        if planning in done:
            return planning.result()
        planning.cancel()
        await asyncio.gather(planning, return_exceptions=True)
        raise LlmFunctionError(
            f"Planning {spec.name} took longer than the deadline of {deadline} s.",
            kind="budget_exceeded",
            stage="planning",
            details={"deadline": deadline, "model_calls": spec.model_calls},
        )

    async def _plan(self, spec: FunctionSpec) -> WorkflowRecord:
        started = time.monotonic()
        try:
            record = await self._plan_unlogged(spec)
        except LlmFunctionError as exc:
            logger.warning(
                "planning %s failed after %.3f s (%s): %s",
                spec.name,
                time.monotonic() - started,
                exc.kind,
                exc,
            )
            raise
        logger.info(
            "planned %s in %.3f s with the %s planner: %d step(s)",
            spec.name,
            time.monotonic() - started,
            record.provenance.get("planner"),
            len(record.workflow.steps),
        )
        return record

    async def _plan_unlogged(self, spec: FunctionSpec) -> WorkflowRecord:
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
            problems = type_feasibility(
                spec.input_model,
                spec.output_model,
                self.tools,
                self.setting(spec, "literal_outputs"),
            )
            if problems:
                raise LlmFunctionError(
                    "No workflow can produce the output from the input and tools:\n  - "
                    + "\n  - ".join(problems),
                    kind="infeasible",
                    stage="planning",
                    details={"reasons": problems},
                )
            hint, notes = self._hint(spec)
            planner = LlmPlanner(
                self.client,
                self.tools,
                max_retry=self._int_setting(spec, "max_retry", DEFAULT_MAX_RETRY),
                reset_loops=self._int_setting(spec, "reset_loops", DEFAULT_RESET_LOOPS),
                deadline=self.planning_deadline,
                limits=self.setting(spec, "usage_limits"),
            )
            counters = PlanCounters()
            try:
                workflow = await planner.plan(
                    spec.task,
                    spec.input_model,
                    spec.output_model,
                    hint=hint,
                    notes=notes,
                    tester=tester,
                    literal_outputs=self.setting(spec, "literal_outputs"),
                    counters=counters,
                )
            finally:
                spec.model_calls += counters.model_calls
                spec.prompt_chars = counters.prompt_chars
                logger.info(
                    "planning %s used %d model call(s), %d prompt + %d completion tokens",
                    spec.name,
                    counters.model_calls,
                    counters.prompt_tokens,
                    counters.completion_tokens,
                )
            provenance["planner"] = "llm"
            provenance["model"] = getattr(self.client, "model_name", None)
        try:
            validate_workflow(
                workflow,
                spec.input_model,
                spec.output_model,
                self.tools,
                literal_outputs=self.setting(spec, "literal_outputs"),
            )
        except WorkflowInvalid as exc:  # a planner bug, never a user error
            raise LlmFunctionError(
                str(exc), kind="plan_invalid", stage="validation", workflow_error=str(exc)
            ) from exc
        return WorkflowRecord.for_workflow(spec.key, workflow, self.tools, provenance)

    def _hint(self, spec: FunctionSpec) -> tuple[Workflow | None, list[str]]:
        """The schema planner's plan for ``spec``; failing that, its partial plan and what it
        left open (ambiguities named with both candidates), for the model."""
        try:
            return self.schema_planner.plan(spec.input_model, spec.output_model), []
        except LlmFunctionError as exc:
            partial = exc.details.get("partial_plan")
            hint = None
            if partial and (partial.get("steps") or partial.get("output")):
                hint = Workflow.model_validate(partial)
            return hint, list(exc.details.get("notes") or exc.details.get("reasons") or [])

    def _int_setting(self, spec: FunctionSpec, name: str, default: int) -> int:
        value = self.setting(spec, name)
        return default if value is None else int(value)

    def _tester(self, spec: FunctionSpec) -> Any:
        test_params = self.setting(spec, "test_params")
        compare_params = self.setting(spec, "compare_params")
        if not test_params and not compare_params:
            return None

        async def test(workflow: Workflow) -> None:
            for inputs in test_params.inputs if test_params else ():
                await execute_workflow(
                    workflow,
                    spec.input_model.model_validate(inputs),
                    spec.output_model,
                    self.tools,
                    spec.execution,
                )
            compare = compare_params or CompareParams()
            for index, case in enumerate(compare.cases):
                produced = await execute_workflow(
                    workflow,
                    spec.input_model.model_validate(case.input),
                    spec.output_model,
                    self.tools,
                    spec.execution,
                )
                actual = produced.model_dump(mode="json")
                for name, expected in case.expected.items():
                    if compare.fields is not None and name not in compare.fields:
                        continue
                    if not _same(actual.get(name), expected, compare.rel_tol):
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

    def run_sync(
        self, spec: FunctionSpec, inputs: BaseModel, timeout: float | None = None
    ) -> BaseModel:
        """Run ``spec``'s workflow on ``inputs`` in this thread (planning it first on the
        runtime's loop if needed) and cache a new workflow once it succeeded.

        ``timeout`` (seconds) bounds the waits: for the planning and for async tools.
        """
        record = self._cached(spec)
        flight = None
        if record is None:
            self._refuse_loop_thread()
            flight = self._flight(spec)
            record = _wait(flight, timeout)
        compiled = spec.compiled(record, self.tools)
        if compiled.all_sync:
            runner: Any = None
        elif self._on_loop_thread():
            self._refuse_loop_thread()
        else:
            runner = functools.partial(self._run_on_loop, timeout)
        spec.count_run(flight is None)
        if flight is None:
            return compiled.run_sync(inputs, runner, spec.execution)
        succeeded = False
        try:
            output = compiled.run_sync(inputs, runner, spec.execution)
            succeeded = True
        finally:
            self._ran(spec, flight, record, succeeded)
        return output

    def _run_on_loop(self, timeout: float | None, coroutine: Coroutine[Any, Any, T]) -> T:
        future = self.submit(coroutine)
        try:
            return _wait(future, timeout)
        except LlmFunctionError:
            future.cancel()
            raise

    async def run(self, spec: FunctionSpec, inputs: BaseModel) -> BaseModel:
        """Run ``spec``'s workflow on ``inputs`` in the running loop (planning it first on the
        runtime's loop if needed; sync tools in worker threads); cache a new one on success."""
        record, flight = await self.workflow_for(spec)
        spec.count_run(flight is None)
        compiled = spec.compiled(record, self.tools)
        if flight is None:
            return await compiled.run_async(inputs, in_worker_thread, spec.execution)
        succeeded = False
        try:
            output = await compiled.run_async(inputs, in_worker_thread, spec.execution)
            succeeded = True
        finally:
            self._ran(spec, flight, record, succeeded)
        return output

    def _store(self, spec: FunctionSpec, record: WorkflowRecord) -> None:
        try:
            self.cache.put(record)
        except OSError as exc:  # the result is good; only storing it failed
            import warnings

            warnings.warn(
                f"llm_function: could not store the workflow of {spec.name} in {self.cache.storage_path}: {exc}",
                RuntimeWarning,
                stacklevel=3,
            )
        spec.replanned = True

    async def dry_run(self, spec: FunctionSpec) -> Workflow:
        """The workflow ``spec`` runs next: the cached one, or one planned now (or in flight),
        not run and not cached yet; the next call runs that very workflow (and caches it if it
        succeeds). No tool runs unless the function has test or compare parameters."""
        record, _ = await self.workflow_for(spec)
        return record.workflow.model_copy(deep=True)

    def pin(self, spec: FunctionSpec, workflow: Workflow) -> WorkflowRecord:
        """Validate ``workflow`` for ``spec`` and cache it (memory and storage) as the one to run,
        in place of anything cached or in flight; a forced replan no longer applies."""
        try:
            validate_workflow(
                workflow,
                spec.input_model,
                spec.output_model,
                self.tools,
                literal_outputs=self.setting(spec, "literal_outputs"),
            )
        except WorkflowInvalid as exc:
            raise LlmFunctionError(
                f"The workflow given for {spec.name} is invalid: {exc}",
                kind="plan_invalid",
                stage="validation",
                workflow_error=str(exc),
            ) from exc
        provenance = {
            "function": spec.name,
            "planner": "pinned",
            "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
        }
        record = WorkflowRecord.for_workflow(spec.key, workflow, self.tools, provenance)
        with self._flight_lock:
            self._flights.pop(spec.key, None)
        self.cache.put(record)
        spec.replanned = True
        return record

    def invalidate(self, spec: FunctionSpec) -> None:
        """Forget the cached workflow of ``spec`` (memory and storage) and any in flight."""
        with self._flight_lock:
            self._flights.pop(spec.key, None)
        self.cache.remove(spec.key)
        logger.info("invalidated the workflow of %s: the next call plans again", spec.name)


def _wait(future: concurrent.futures.Future[T], timeout: float | None) -> T:
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        if not future.done():
            raise LlmFunctionError(
                f"The call did not finish within its timeout of {timeout} s.",
                kind="timeout",
                stage="planning",
                details={"timeout": timeout},
            ) from None
        raise


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


__all__ = ["LlmFunctionRuntime", "FunctionSpec"]
