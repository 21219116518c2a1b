"""Regressions found in review: run-time reference errors, workflow copies, storage failures,
cancellation of one caller during a shared planning."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from llm_function import (
    LlmFunctionConfig,
    LlmFunctionError,
    LlmFunctionRuntime,
    LlmRuntimeConfig,
    llm_function,
)


class NamesIn(BaseModel):
    names: list[str]


class First(BaseModel):
    first: str


class Word(BaseModel):
    word: str


def upper(q: Word) -> First:
    """Upper-case a word."""
    return First(first=q.word.upper())


def scripted(*replies: object) -> dict:
    return {"llm_h_type": "scripted", "llm_h_params": {"replies": list(replies)}}


PLAN = {
    "steps": [{"id": "u", "tool": "upper", "args": {"word": {"ref": "input.names.0"}}}],
    "output": {"first": {"ref": "u.first"}},
}


def make_runtime(tmp_path: Path | None = None, *replies: object) -> LlmFunctionRuntime:
    storage = None if tmp_path is None else tmp_path
    return LlmFunctionRuntime(
        LlmFunctionConfig(
            runtime=LlmRuntimeConfig(llm_handler_params=scripted(*replies), storage_path=storage),
            tool_sources=[upper],
        )
    )


def test_a_reference_that_does_not_resolve_at_run_time_is_an_llm_function_error() -> None:
    runtime = make_runtime(None, PLAN)

    @llm_function(runtime=runtime)
    def first_name(inputs: NamesIn) -> First:
        """Upper-case the first name."""

    assert first_name({"names": ["ada"]}).first == "ADA"
    with pytest.raises(LlmFunctionError) as info:
        first_name({"names": []})
    assert info.value.kind == "tool_failed" and "input.names.0" in str(info.value)


def test_changing_the_returned_workflow_never_changes_the_cached_one() -> None:
    runtime = make_runtime(None, PLAN)

    @llm_function(runtime=runtime)
    def first_name(inputs: NamesIn) -> First:
        """Upper-case the first name."""

    first_name({"names": ["ada"]})
    shown = first_name.workflow
    shown.output["first"] = shown.steps[0].args["word"]  # try to hijack the output
    assert first_name({"names": ["bo"]}).first == "BO"
    assert first_name.workflow.output["first"].ref == "u.first"


def test_a_storage_failure_warns_and_keeps_the_result(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    runtime = make_runtime(blocker, PLAN)

    @llm_function(runtime=runtime)
    def first_name(inputs: NamesIn) -> First:
        """Upper-case the first name."""

    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert first_name({"names": ["ada"]}).first == "ADA"
    messages = [str(w.message) for w in caught]
    assert any("could not store" in m for m in messages), messages
    assert first_name({"names": ["bo"]}).first == "BO"  # served from memory
    assert first_name.counters["plannings"] == 1


def test_cancelling_one_caller_does_not_cancel_the_shared_planning() -> None:
    async def slow_plan(messages):
        await asyncio.sleep(0.3)
        return json.dumps(PLAN)

    runtime = make_runtime(None, slow_plan)

    @llm_function(runtime=runtime)
    async def first_name(inputs: NamesIn) -> First:
        """Upper-case the first name."""

    async def scenario() -> str:
        first = asyncio.ensure_future(first_name({"names": ["ada"]}))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(first_name({"names": ["bo"]}))
        await asyncio.sleep(0.05)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        return (await second).first

    assert asyncio.run(scenario()) == "BO"
    assert first_name.counters["plannings"] == 1


def test_close_during_a_call_cancels_it_and_the_runtime_works_again() -> None:
    import concurrent.futures
    import threading

    async def slow_plan(messages):
        await asyncio.sleep(2)
        return json.dumps(PLAN)

    runtime = make_runtime(None, slow_plan, PLAN)

    @llm_function(runtime=runtime)
    def first_name(inputs: NamesIn) -> First:
        """Upper-case the first name."""

    outcome: list[BaseException] = []

    def call() -> None:
        try:
            first_name({"names": ["ada"]})
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    threading.Event().wait(0.2)
    runtime.close()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert outcome and isinstance(
        outcome[0], (concurrent.futures.CancelledError, asyncio.CancelledError)
    )
    assert first_name({"names": ["bo"]}).first == "BO"
