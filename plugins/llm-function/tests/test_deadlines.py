"""The planning deadline bounds the whole planning, and a sync call's own ``timeout`` bounds
its waits (issue 15, bug 5). Real HTTP to a loopback server that hangs or asks for a long
``Retry-After``; the assertions are on the outcome (kind, requests made), not on time."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from loopback import CHAT_PATHS, Delay, Hang, LoopbackServer, Reply, chat_reply
from pydantic import BaseModel

from llm_function import (
    LlmFunctionConfig,
    LlmFunctionError,
    LlmFunctionRuntime,
    LlmRuntimeConfig,
    llm_function,
)

MODEL = "m"


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


@pytest.fixture
def server():
    with LoopbackServer(hang_seconds=30) as started:
        yield started


def function_on(url: str, protocol: str = "ollama", **handler: Any):
    params = {
        "llm_h_type": protocol,
        "llm_h_params": {
            "connection_string": url,
            "model_name": MODEL,
            "timeout": 30,
            "max_retries": 3,
            "backoff": 20,
        },
        **handler,
    }
    runtime = LlmFunctionRuntime(
        LlmFunctionConfig(runtime=LlmRuntimeConfig(llm_handler_params=params), tool_sources=[shout])
    )

    @llm_function(runtime=runtime)
    def loud(word: Word) -> Loud:
        """Shout the word."""

    return loud


@pytest.mark.parametrize(
    "fault",
    ["hung-server", "retry-after-20", "backoff-20"],
)
@pytest.mark.parametrize("protocol", ["ollama", "openai"])
def test_the_deadline_stops_a_planning_wherever_it_waits(
    fault: str, protocol: str, server: LoopbackServer
) -> None:
    path = CHAT_PATHS[protocol]
    answer = {
        "hung-server": Hang(),  # the request timeout is 30 s
        "retry-after-20": Reply(429, {"error": "slow down"}, {"Retry-After": "20"}),
        "backoff-20": Reply(500, {"error": "boom"}),  # the computed backoff is 20 s
    }[fault]
    server.script(path, answer)
    server.set_default(path, chat_reply(protocol, PLAN, model=MODEL))
    loud = function_on(server.url, protocol, planning_deadline=0.3)

    with pytest.raises(LlmFunctionError) as caught:
        loud({"word": "hi"})
    assert (caught.value.kind, caught.value.stage) == ("budget_exceeded", "planning")
    assert caught.value.details["deadline"] == 0.3
    assert len(server.requests_to(path)) == 1  # no retry after the deadline
    assert loud.workflow is None
    loud.runtime.close()


def test_a_sync_call_timeout_stops_waiting_and_the_planning_goes_on(
    server: LoopbackServer,
) -> None:
    path = CHAT_PATHS["ollama"]
    release = threading.Event()
    server.script(path, lambda body: (release.wait(30), chat_reply("ollama", PLAN, model=MODEL))[1])
    loud = function_on(server.url)

    with pytest.raises(LlmFunctionError) as caught:
        loud({"word": "hi"}, timeout=0.2)
    assert caught.value.kind == "timeout" and caught.value.details["timeout"] == 0.2
    release.set()
    assert loud({"word": "again"}).loud == "AGAIN"  # joins the planning the first call started
    assert len(server.requests_to(path)) == 1
    assert loud.counters["plannings"] == 1
    assert loud.invoke({"word": "cached"}, timeout=5).loud == "CACHED"
    loud.runtime.close()


class Wait(BaseModel):
    seconds: float


class Waited(BaseModel):
    seconds: float


def test_a_parameter_named_timeout_stays_the_input() -> None:
    @llm_function(tools=[])
    def echo(timeout: Wait) -> Waited:
        """Echo the seconds."""

    assert echo(timeout={"seconds": 1.5}).seconds == 1.5
    echo.runtime.close()


def test_a_slow_answer_within_the_deadline_is_used(server: LoopbackServer) -> None:
    path = CHAT_PATHS["ollama"]
    server.script(path, Delay(0.05, chat_reply("ollama", PLAN, model=MODEL)))
    loud = function_on(server.url, planning_deadline=30)
    assert loud({"word": "hi"}).loud == "HI"
    loud.runtime.close()
