"""Single-flight until the workflow is cached (issue 15, bug 4): a call arriving after the
planning ended but while the first run is still going shares that planning instead of
planning again."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from llm_function import LlmFunctionConfig, LlmFunctionRuntime, LlmRuntimeConfig, llm_function

#: Only a guard against a hang: the events are set within milliseconds when all is well.
GUARD_SECONDS = 30


class Word(BaseModel):
    word: str


class Loud(BaseModel):
    loud: str


PLAN = {
    "steps": [{"id": "s", "tool": "slow_shout", "args": {"word": {"ref": "input.word"}}}],
    "output": {"loud": {"ref": "s.loud"}},
}


@pytest.mark.parametrize("planner", ["model", "schema"])
def test_a_call_during_the_first_run_shares_its_planning(planner: str) -> None:
    entered: list[str] = []
    two_inside, release = threading.Event(), threading.Event()
    lock = threading.Lock()

    def slow_shout(word: Word) -> Loud:
        """Upper-case a word, slowly."""
        with lock:
            entered.append(word.word)
            if len(entered) == 2:
                two_inside.set()
        assert release.wait(GUARD_SECONDS)
        return Loud(loud=word.word.upper())

    llm = None
    if planner == "model":  # a second planning would succeed too: it must not happen
        llm = {"llm_h_type": "scripted", "llm_h_params": {"replies": [PLAN, PLAN, PLAN]}}
    runtime = LlmFunctionRuntime(
        LlmFunctionConfig(
            runtime=LlmRuntimeConfig(llm_handler_params=llm), tool_sources=[slow_shout]
        )
    )

    @llm_function(runtime=runtime)
    def loud(word: Word) -> Loud:
        """Shout the word."""

    results: dict[str, Any] = {}

    def call(word: str) -> None:
        results[word] = loud({"word": word}).loud

    first = threading.Thread(target=call, args=("first",))
    first.start()
    while not entered and first.is_alive():  # the first call planned and is running its tool
        threading.Event().wait(0.005)
    assert entered == ["first"]
    second = threading.Thread(target=call, args=("second",))
    second.start()
    try:
        assert two_inside.wait(GUARD_SECONDS)  # the second call reached the tool as well
    finally:
        release.set()
        first.join()
        second.join()
    assert results == {"first": "FIRST", "second": "SECOND"}
    assert loud.counters["plannings"] == 1
    if planner == "model":
        assert len(runtime.client.calls) == 1
    assert loud({"word": "third"}).loud == "THIRD"
    assert loud.counters["cache_hits"] == 1 and loud.counters["plannings"] == 1
    runtime.close()


def test_a_failed_first_run_ends_the_flight_and_the_next_call_plans_again() -> None:
    def picky(word: Word) -> Loud:
        """Upper-case a word that is not 'bad'."""
        if word.word == "bad":
            raise ValueError("bad word")
        return Loud(loud=word.word.upper())

    plan = json.loads(json.dumps(PLAN).replace("slow_shout", "picky"))
    runtime = LlmFunctionRuntime(
        LlmFunctionConfig(
            runtime=LlmRuntimeConfig(
                llm_handler_params={
                    "llm_h_type": "scripted",
                    "llm_h_params": {"replies": [plan, plan]},
                }
            ),
            tool_sources=[picky],
        )
    )

    @llm_function(runtime=runtime)
    def loud(word: Word) -> Loud:
        """Shout the word."""

    with pytest.raises(Exception, match="bad word"):
        loud({"word": "bad"})
    assert loud.workflow is None and runtime._flights == {}
    assert loud({"word": "good"}).loud == "GOOD"
    assert loud.counters["plannings"] == 2 and loud.workflow is not None
    runtime.close()
