"""A process forked after first use (gunicorn --preload, Celery prefork, multiprocessing with
fork) works in the child (issue 15, bug 2): the runtime's loop thread did not survive the
fork, so the child starts its own; planning in flight in the parent is not waited on."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import threading
from collections.abc import Callable

import pytest
from pydantic import BaseModel

from llm_function import LlmFunctionConfig, LlmFunctionRuntime, LlmRuntimeConfig, llm_function

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

#: Only a guard against a hung child (the bug): a healthy child answers in well under a second.
CHILD_GUARD_SECONDS = 60


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


def in_child(work: Callable[[], object]) -> object:
    """Fork; run ``work`` in the child and return what it returned (as JSON), or fail."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read_end)
            payload = json.dumps({"result": work()})
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            payload = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        try:
            os.write(write_end, payload.encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], CHILD_GUARD_SECONDS)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            pytest.fail("the forked child hung")
        chunks = []
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    answer = json.loads(b"".join(chunks) or b"{}")
    assert "error" not in answer, answer.get("error")
    return answer["result"]


def scripted_runtime(*replies: object) -> LlmFunctionRuntime:
    return LlmFunctionRuntime(
        LlmFunctionConfig(
            runtime=LlmRuntimeConfig(
                llm_handler_params={
                    "llm_h_type": "scripted",
                    "llm_h_params": {"replies": list(replies)},
                }
            ),
            tool_sources=[shout],
        )
    )


def test_a_child_forked_after_first_use_plans_and_runs() -> None:
    runtime = scripted_runtime(PLAN, PLAN)

    @llm_function(runtime=runtime)
    def loud(word: Word) -> Loud:
        """Shout the word."""

    @llm_function(runtime=runtime)
    async def loud_async(word: Word) -> Loud:
        """Shout the word."""

    assert loud({"word": "parent"}).loud == "PARENT"  # the runtime's loop thread is running
    assert runtime._loop_thread is not None and runtime._loop_thread.thread.is_alive()

    def child_work() -> list[str]:
        cached = loud({"word": "cached"}).loud
        loud.invalidate()
        replanned = loud({"word": "replanned"}).loud  # planning needs the loop
        awaited = asyncio.run(loud_async({"word": "awaited"})).loud
        return [cached, replanned, awaited, str(loud.counters["plannings"])]

    assert in_child(child_work) == ["CACHED", "REPLANNED", "AWAITED", "2"]
    assert loud({"word": "parent again"}).loud == "PARENT AGAIN"  # the parent is unaffected
    runtime.close()


def test_a_child_does_not_wait_for_a_planning_in_flight_in_the_parent() -> None:
    started, release = threading.Event(), threading.Event()

    async def slow(messages: list[dict]) -> str:
        started.set()
        while not release.is_set():
            await asyncio.sleep(0.01)
        return json.dumps(PLAN)

    runtime = scripted_runtime(slow, PLAN)

    @llm_function(runtime=runtime)
    def loud(word: Word) -> Loud:
        """Shout the word."""

    results: list[str] = []
    parent_call = threading.Thread(target=lambda: results.append(loud({"word": "p"}).loud))
    parent_call.start()
    assert started.wait(CHILD_GUARD_SECONDS)
    try:
        assert in_child(lambda: loud({"word": "child"}).loud) == "CHILD"
    finally:
        release.set()
        parent_call.join()
    assert results == ["P"]
    runtime.close()
