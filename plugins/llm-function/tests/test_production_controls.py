"""Production controls (issue 15): planning="never", pinned workflows, a reviewed plan that is
the one that runs, usage limits per planning, logging, and the original API's porting aids."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from loopback import CHAT_PATHS, LoopbackServer, chat_reply
from pydantic import BaseModel

from llm_function import (
    LlmFunctionConfig,
    LlmFunctionError,
    LlmFunctionRuntime,
    LlmRuntimeConfig,
    Workflow,
    llm_function,
)

OLLAMA = CHAT_PATHS["ollama"]


class Word(BaseModel):
    word: str


class Loud(BaseModel):
    loud: str


def shout(word: Word) -> Loud:
    """Upper-case a word."""
    return Loud(loud=word.word.upper())


PLAN = {
    "steps": [{"id": "s", "tool": "shout", "args": {"word": {"ref": "input.word"}}}],
    "output": {"loud": {"ref": "s.loud"}},
}
BAD_PLAN = {"steps": [], "output": {"loud": {"value": 5}}}


def runtime_with(*replies: Any, storage: Path | None = None, **settings: Any) -> LlmFunctionRuntime:
    llm = {"llm_h_type": "scripted", "llm_h_params": {"replies": list(replies)}}
    return LlmFunctionRuntime(
        LlmFunctionConfig(
            runtime=LlmRuntimeConfig(llm_handler_params=llm, storage_path=storage, **settings),
            tool_sources=[shout],
        )
    )


def loud_on(runtime: LlmFunctionRuntime, **overrides: Any):
    @llm_function(runtime=runtime, **overrides)
    def loud(word: Word) -> Loud:
        """Shout the word."""

    return loud


# ------------------------------------------------------------------ planning="never"


@pytest.mark.parametrize("where", ["runtime", "decorator"])
def test_planning_never_refuses_to_plan_without_a_model_call(where: str) -> None:
    runtime = runtime_with(PLAN, **({"planning": "never"} if where == "runtime" else {}))
    loud = loud_on(runtime, **({"planning": "never"} if where == "decorator" else {}))
    for attempt in (lambda: loud({"word": "hi"}), loud.plan):
        with pytest.raises(LlmFunctionError) as caught:
            attempt()
        assert (caught.value.kind, caught.value.stage) == ("planning_disabled", "planning")
        assert "never" in str(caught.value)
    assert runtime.client.calls == [] and loud.counters["plannings"] == 0
    runtime.close()


def test_planning_never_runs_stored_and_pinned_workflows(tmp_path: Path) -> None:
    planning = runtime_with(PLAN, storage=tmp_path)
    assert loud_on(planning)({"word": "plan"}).loud == "PLAN"
    stored = runtime_with(storage=tmp_path, planning="never", force_replan=True)
    from_storage = loud_on(stored)
    assert from_storage({"word": "stored"}).loud == "STORED"  # force_replan yields to never
    assert from_storage.counters["plannings"] == 0

    pinned_runtime = runtime_with(planning="never")
    pinned = loud_on(pinned_runtime)
    pinned.set_workflow(PLAN)
    assert pinned({"word": "pinned"}).loud == "PINNED"
    assert pinned_runtime.client.calls == []
    for runtime in (planning, stored, pinned_runtime):
        runtime.close()


# ------------------------------------------------------------- pinning and reviewing


def test_set_workflow_validates_pins_and_stores(tmp_path: Path) -> None:
    runtime = runtime_with(PLAN, storage=tmp_path, force_replan=True)
    loud = loud_on(runtime)
    with pytest.raises(LlmFunctionError) as caught:
        loud.set_workflow(BAD_PLAN)
    assert caught.value.kind == "plan_invalid" and "loud" in str(caught.value)
    assert loud.workflow is None

    pinned = loud.set_workflow(json.dumps(PLAN))
    assert isinstance(pinned, Workflow) and loud.workflow == pinned
    (stored,) = tmp_path.glob("*.json")
    assert json.loads(stored.read_text())["provenance"]["planner"] == "pinned"
    assert loud({"word": "a"}).loud == "A"  # force_replan does not replace a pinned workflow
    assert runtime.client.calls == [] and loud.counters["cache_hits"] == 1
    runtime.close()


def test_a_reviewed_plan_is_approved_with_one_model_call() -> None:
    runtime = runtime_with(PLAN, PLAN)
    loud = loud_on(runtime)
    reviewed = loud.plan()
    assert loud.workflow is None  # not cached before it is approved or runs
    loud.set_workflow(reviewed)
    assert loud({"word": "ok"}).loud == "OK"
    assert len(runtime.client.calls) == 1
    runtime.close()


def test_an_async_function_plans_then_runs_that_plan() -> None:
    runtime = runtime_with(PLAN, PLAN)

    @llm_function(runtime=runtime)
    async def loud(word: Word) -> Loud:
        """Shout the word."""

    async def main() -> Loud:
        await loud.aplan()
        return await loud({"word": "x"})

    assert asyncio.run(main()).loud == "X"
    assert len(runtime.client.calls) == 1
    runtime.close()


# -------------------------------------------------------------------- usage limits


def http_runtime(url: str, **settings: Any) -> LlmFunctionRuntime:
    llm = {
        "llm_h_type": "ollama",
        "llm_h_params": {"connection_string": url, "model_name": "m", "max_retries": 0},
    }
    return LlmFunctionRuntime(
        LlmFunctionConfig(
            runtime=LlmRuntimeConfig(llm_handler_params=llm, **settings), tool_sources=[shout]
        )
    )


@pytest.mark.parametrize(
    ("limits", "name", "used"),
    [
        ({"total_tokens": 100}, "total_tokens", 120),
        ({"prompt_tokens": 50}, "prompt_tokens", 80),
        ({"model_calls": 1}, "model_calls", 1),
    ],
)
def test_usage_limits_stop_a_planning_before_the_next_model_call(
    limits: dict[str, int], name: str, used: int
) -> None:
    with LoopbackServer() as server:
        server.set_default(
            OLLAMA, chat_reply("ollama", BAD_PLAN, prompt_tokens=80, completion_tokens=40)
        )
        runtime = http_runtime(server.url, usage_limits=limits, max_retry=5)
        loud = loud_on(runtime)
        with pytest.raises(LlmFunctionError) as caught:
            loud({"word": "x"})
        error = caught.value
        assert (error.kind, error.details["limit"], error.details["used"]) == (
            "budget_exceeded",
            name,
            used,
        )
        assert len(server.requests) == 1 and loud.counters["model_calls"] == 1
        runtime.close()


def test_a_valid_plan_in_the_answer_that_reaches_a_limit_is_used() -> None:
    with LoopbackServer() as server:
        server.set_default(OLLAMA, chat_reply("ollama", PLAN, prompt_tokens=500))
        runtime = http_runtime(server.url)
        loud = loud_on(runtime, usage_limits={"total_tokens": 10})
        assert loud({"word": "x"}).loud == "X"
        runtime.close()


# ------------------------------------------------------------------------- logging


def test_planning_model_calls_cache_and_replans_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="llm_function")
    with LoopbackServer() as server:
        server.set_default(
            OLLAMA, chat_reply("ollama", PLAN, prompt_tokens=33, completion_tokens=9)
        )
        runtime = http_runtime(server.url)
        loud = loud_on(runtime)
        loud({"word": "a"})
        loud({"word": "b"})
        loud.invalidate()
        loud({"word": "c"})
        runtime.close()
    text = "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records)
    assert "llm_function INFO planning loud: no cached workflow" in text
    assert (
        "llm_function.planning INFO model call 1: test-model, 33 prompt + 9 completion tokens"
        in text
    )
    assert "llm_function INFO planned loud in" in text and "1 step(s)" in text
    assert "llm_function DEBUG cache hit: loud" in text
    assert "llm_function INFO invalidated the workflow of loud" in text
    assert text.count("planning loud: no cached workflow") == 2


def test_a_stale_workflow_is_logged_with_the_changed_tool(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO, logger="llm_function")
    first = runtime_with(PLAN, storage=tmp_path)
    loud_on(first)({"word": "a"})

    def shout(word: Word) -> Loud:  # the same name, other code
        """Upper-case a word."""
        return Loud(loud=word.word.upper() + "!")

    second = LlmFunctionRuntime(
        LlmFunctionConfig(
            runtime=LlmRuntimeConfig(
                llm_handler_params={"llm_h_type": "scripted", "llm_h_params": {"replies": [PLAN]}},
                storage_path=tmp_path,
            ),
            tool_sources=[shout],
        )
    )
    assert loud_on(second)({"word": "b"}).loud == "B!"
    messages = [r.getMessage() for r in caplog.records]
    assert any("stale" in m and "changed or gone: shout" in m for m in messages), messages
    first.close()
    second.close()


# ------------------------------------------------------------------- porting aids


def test_the_original_apis_names() -> None:
    runtime = runtime_with(PLAN)
    loud = loud_on(runtime)
    assert loud.input_model is Word and loud.output_model is Loud
    assert loud.task_description == "Shout the word."

    async def main() -> list[Loud]:
        return [await loud.ainvoke({"word": "a"}), await loud.ainvoke(Word(word="b"), timeout=5)]

    assert asyncio.run(main()) == [Loud(loud="A"), Loud(loud="B")]
    assert loud.invoke({"word": "c"}) == Loud(loud="C")
    runtime.close()


def test_ainvoke_timeout() -> None:
    async def slow(messages: list[dict]) -> str:
        await asyncio.sleep(5)
        return json.dumps(PLAN)

    runtime = runtime_with(slow)
    loud = loud_on(runtime)
    with pytest.raises(LlmFunctionError) as caught:
        asyncio.run(loud.ainvoke({"word": "a"}, timeout=0.1))
    assert caught.value.kind == "timeout"
    runtime.close()
