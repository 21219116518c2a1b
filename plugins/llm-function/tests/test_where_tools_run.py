"""Where tools run (issue 15, bug 1): a sync function's sync tools in the caller's thread, an
async function's async tools in the caller's event loop and its sync tools in worker threads;
never on the runtime's own loop thread, so tools of concurrent calls overlap and a tool may
use ``asyncio.run``."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from llm_function import LlmFunctionError, llm_function


class Ticket(BaseModel):
    name: str


class Seen(BaseModel):
    name: str
    thread: int


class Report(BaseModel):
    name: str
    thread: int


def where(ticket: Ticket) -> Seen:
    """Say which thread runs this tool."""
    return Seen(name=ticket.name, thread=threading.get_ident())


def test_a_sync_tool_runs_in_the_callers_thread() -> None:
    @llm_function(tools=[where])
    def report(ticket: Ticket) -> Report:
        """Report which thread served the ticket."""

    assert report({"name": "main"}).thread == threading.get_ident()  # planned, then run
    assert report({"name": "main"}).thread == threading.get_ident()  # cached
    seen: dict[str, int] = {}

    def worker() -> None:
        seen["worker"] = threading.get_ident()
        seen["tool"] = report({"name": "worker"}).thread

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["tool"] == seen["worker"]
    report.runtime.close()


def test_sync_tools_of_concurrent_calls_run_at_the_same_time() -> None:
    # Each call's tool waits for the other call's tool: on one shared thread the barrier breaks.
    barrier = threading.Barrier(2, timeout=30)

    def meet(ticket: Ticket) -> Seen:
        """Wait for the other caller."""
        barrier.wait()
        return Seen(name=ticket.name, thread=threading.get_ident())

    @llm_function(tools=[meet])
    def report(ticket: Ticket) -> Report:
        """Meet the other caller."""

    assert report.plan().steps[0].tool == "meet"  # plans without running the tool
    results: dict[str, Any] = {}

    def call(name: str) -> None:
        try:
            results[name] = report({"name": name})
        except Exception as exc:  # noqa: BLE001 - asserted below
            results[name] = exc

    threads = [threading.Thread(target=call, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {name: type(result) for name, result in results.items()} == {
        "a": Report,
        "b": Report,
    }, results
    assert results["a"].thread != results["b"].thread
    report.runtime.close()


class Text(BaseModel):
    text: str


class Upper(BaseModel):
    upper: str


async def _shout(text: str) -> str:
    await asyncio.sleep(0)
    return text.upper()


def shout_via_asyncio_run(text: Text) -> Upper:
    """A sync wrapper around an async SDK."""
    return Upper(upper=asyncio.run(_shout(text.text)))


@pytest.mark.parametrize("form", ["sync", "async", "tested-while-planning"])
def test_a_sync_tool_may_use_asyncio_run(form: str) -> None:
    settings: dict[str, Any] = {"tools": [shout_via_asyncio_run]}
    if form == "tested-while-planning":
        settings["test_params"] = {"inputs": [{"text": "probe"}]}
    if form == "async":

        @llm_function(**settings)
        async def shout(text: Text) -> Upper:
            """Shout the text."""

        async def twice() -> list[Upper]:
            return [await shout({"text": "hi"}), await shout({"text": "ho"})]

        assert asyncio.run(twice()) == [Upper(upper="HI"), Upper(upper="HO")]
    else:

        @llm_function(**settings)
        def shout(text: Text) -> Upper:
            """Shout the text."""

        assert shout({"text": "hi"}) == Upper(upper="HI")
        assert shout({"text": "ho"}) == Upper(upper="HO")
    assert shout.counters["plannings"] == 1
    shout.runtime.close()


class LoopSeen(BaseModel):
    name: str
    loop_id: int
    thread: int


class LoopReport(BaseModel):
    name: str
    loop_id: int
    thread: int


async def where_async(ticket: Ticket) -> LoopSeen:
    """Say which loop runs this tool."""
    return LoopSeen(
        name=ticket.name, loop_id=id(asyncio.get_running_loop()), thread=threading.get_ident()
    )


def test_an_async_function_awaits_async_tools_in_the_callers_loop() -> None:
    @llm_function(tools=[where_async])
    async def report(ticket: Ticket) -> LoopReport:
        """Report which loop served the ticket."""

    async def main() -> tuple[int, list[LoopReport]]:
        loop_id = id(asyncio.get_running_loop())
        return loop_id, [await report({"name": "a"}), await report({"name": "b"})]

    loop_id, results = asyncio.run(main())
    assert [r.loop_id for r in results] == [loop_id, loop_id]
    assert [r.thread for r in results] == [threading.get_ident()] * 2
    report.runtime.close()


def test_an_async_function_runs_sync_tools_off_every_event_loop() -> None:
    @llm_function(tools=[where])
    async def report(ticket: Ticket) -> Report:
        """Report which thread served the ticket."""

    async def main() -> Report:
        await report({"name": "plan"})
        return await report({"name": "cached"})

    result = asyncio.run(main())
    loop_thread = report.runtime._loop_thread
    assert result.thread != threading.get_ident()
    assert loop_thread is None or result.thread != loop_thread.ident
    report.runtime.close()


def test_an_async_tool_reached_from_a_sync_function_still_works() -> None:
    @llm_function(tools=[where_async])
    def report(ticket: Ticket) -> LoopReport:
        """Report which loop served the ticket."""

    first, second = report({"name": "a"}), report({"name": "b"})
    assert first.name == "a" and second.name == "b"
    assert first.thread != threading.get_ident()  # it ran on the runtime's loop
    report.runtime.close()


def test_a_failing_sync_tool_in_the_callers_thread_is_tool_failed() -> None:
    def broken(ticket: Ticket) -> Seen:
        """Always fails."""
        raise ConnectionError("no route")

    @llm_function(tools=[broken])
    def report(ticket: Ticket) -> Report:
        """Report."""

    with pytest.raises(LlmFunctionError) as caught:
        report({"name": "x"})
    assert (caught.value.kind, caught.value.details["tool"]) == ("tool_failed", "broken")
    assert report.workflow is None
    report.runtime.close()
