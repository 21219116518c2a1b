"""Tests of llm_function.clients over real HTTP to a loopback server, plus ScriptedClient and make_client."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from loopback import CHAT_PATHS, DROP, HANG, Delay, LoopbackServer, chat_reply

from llm_function.clients import (
    LlmClient,
    LlmReply,
    OllamaClient,
    OpenAIClient,
    ScriptedClient,
    _retry_after_seconds,
    make_client,
)
from llm_function.errors import LlmFunctionError

PROTOCOLS = ["ollama", "openai"]
MESSAGES = [
    {"role": "system", "content": "Answer in JSON."},
    {"role": "user", "content": "Say hi."},
]


class SleepRecorder:
    """An injectable sleep that records the requested delays without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def server():
    """A started loopback server, closed after the test."""
    with LoopbackServer() as started:
        yield started


def client_for(protocol: str, base_url: str, **options):
    """A client with fast test defaults; ``options`` override them."""
    settings = {"timeout": 2.0, "max_retries": 2, "backoff": 0.01, "max_backoff": 0.05}
    settings.update(options)
    cls = OllamaClient if protocol == "ollama" else OpenAIClient
    return cls(base_url, "test-model", **settings)


def run(coro):
    return asyncio.run(coro)


# -- success -------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_success_forwards_everything_and_counts_usage(server, protocol):
    path = CHAT_PATHS[protocol]
    server.script(
        path, chat_reply(protocol, {"greeting": "hi"}, prompt_tokens=11, completion_tokens=4)
    )
    client = client_for(protocol, server.url, temperature=0.3, seed=42)

    reply = run(client.chat(MESSAGES))

    assert isinstance(reply, LlmReply)
    assert json.loads(reply.text) == {"greeting": "hi"}
    assert (reply.prompt_tokens, reply.completion_tokens, reply.model) == (11, 4, "test-model")
    assert reply.raw == chat_reply(
        protocol, {"greeting": "hi"}, prompt_tokens=11, completion_tokens=4
    )
    [request] = server.requests
    assert request.method == "POST" and request.path == path
    body = request.json
    assert body["model"] == "test-model"
    assert body["messages"] == MESSAGES
    assert body["stream"] is False
    if protocol == "ollama":
        assert body["format"] == "json"
        assert body["options"] == {"temperature": 0.3, "seed": 42}
        assert "temperature" not in body
    else:
        assert body["response_format"] == {"type": "json_object"}
        assert body["temperature"] == 0.3 and body["seed"] == 42
    assert "authorization" not in request.headers
    assert client.usage == {
        "calls": 1,
        "prompt_tokens": 11,
        "completion_tokens": 4,
        "retries": 0,
        "schema_fallbacks": 0,
    }

    server.script(path, chat_reply(protocol, "plain", prompt_tokens=2, completion_tokens=3))
    assert run(client.chat(MESSAGES, json_mode=False)).text == "plain"
    second = server.requests[-1].json
    assert "format" not in second and "response_format" not in second
    assert client.usage == {
        "calls": 2,
        "prompt_tokens": 13,
        "completion_tokens": 7,
        "retries": 0,
        "schema_fallbacks": 0,
    }


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_no_temperature_or_seed_sends_none(server, protocol):
    server.script(CHAT_PATHS[protocol], chat_reply(protocol, "{}"))
    run(client_for(protocol, server.url).chat(MESSAGES))
    body = server.requests[0].json
    assert "options" not in body and "temperature" not in body and "seed" not in body


def test_openai_api_key_header(server):
    server.script(CHAT_PATHS["openai"], chat_reply("openai", "{}"))
    run(client_for("openai", server.url, api_key="sk-test").chat(MESSAGES))
    assert server.requests[0].headers["authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("suffix", ["/v1", "/v1/", "/", "/v1/chat/completions"])
def test_openai_base_url_variants(server, suffix):
    server.set_default(CHAT_PATHS["openai"], chat_reply("openai", "{}"))
    client = client_for("openai", server.url + suffix)
    assert client.url == server.url + "/v1/chat/completions"
    run(client.chat(MESSAGES))
    assert server.requests[0].path == "/v1/chat/completions"


@pytest.mark.parametrize("suffix", ["", "/", "/api", "/api/chat"])
def test_ollama_base_url_variants(suffix):
    assert OllamaClient("http://host:11434" + suffix, "m").url == "http://host:11434/api/chat"
    assert OllamaClient("localhost:11434", "m").url == "http://localhost:11434/api/chat"


# -- retries -------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_500_then_success_is_retried(server, protocol):
    server.script(
        CHAT_PATHS[protocol], (500, {"error": "boom"}), chat_reply(protocol, '{"ok": true}')
    )
    sleeps = SleepRecorder()
    client = client_for(protocol, server.url, sleep=sleeps)
    reply = run(client.chat(MESSAGES))
    assert reply.text == '{"ok": true}' and reply.attempts == 2
    assert len(server.requests) == 2
    assert sleeps.delays == [0.01]
    assert client.usage["retries"] == 1 and client.usage["calls"] == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_429_retry_after_seconds_is_honoured(server, protocol):
    server.script(
        CHAT_PATHS[protocol],
        (429, {"error": "slow down"}, {"Retry-After": "3"}),
        chat_reply(protocol, "{}"),
    )
    sleeps = SleepRecorder()
    client = client_for(protocol, server.url, sleep=sleeps)
    run(client.chat(MESSAGES))
    # Honoured in full although it exceeds max_backoff (0.05).
    assert sleeps.delays == [3.0]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_503_retry_after_http_date_is_honoured(server, protocol):
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    server.script(
        CHAT_PATHS[protocol],
        (503, {"error": "busy"}, {"Retry-After": when}),
        chat_reply(protocol, "{}"),
    )
    sleeps = SleepRecorder()
    run(client_for(protocol, server.url, sleep=sleeps).chat(MESSAGES))
    [delay] = sleeps.delays
    assert 27.0 <= delay <= 30.0


def test_retry_after_is_capped_at_60_and_ignored_when_invalid(server):
    path = CHAT_PATHS["ollama"]
    server.script(
        path,
        (429, {}, {"Retry-After": "3600"}),
        (503, {}, {"Retry-After": "soon"}),
        chat_reply("ollama", "{}"),
    )
    sleeps = SleepRecorder()
    run(client_for("ollama", server.url, sleep=sleeps, max_retries=3).chat(MESSAGES))
    assert sleeps.delays == [60.0, 0.02]


def test_retry_after_parsing():
    assert _retry_after_seconds(None) is None
    assert _retry_after_seconds("") is None
    assert _retry_after_seconds("2.5") == 2.5
    assert _retry_after_seconds("-4") == 0.0
    assert _retry_after_seconds("nan") is None
    assert _retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _retry_after_seconds("not a date") is None


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_timeout_then_success(protocol):
    with LoopbackServer(hang_seconds=2.0) as server:
        server.script(CHAT_PATHS[protocol], HANG, chat_reply(protocol, '{"late": false}'))
        client = client_for(protocol, server.url, timeout=0.3)
        started = time.monotonic()
        reply = run(client.chat(MESSAGES))
        assert time.monotonic() - started < 1.5
        assert reply.text == '{"late": false}'
        assert client.usage["retries"] == 1
        assert len(server.requests) == 2


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_dropped_connection_then_success(server, protocol):
    server.script(CHAT_PATHS[protocol], DROP, chat_reply(protocol, '{"a": 1}'))
    client = client_for(protocol, server.url)
    assert run(client.chat(MESSAGES)).text == '{"a": 1}'
    assert client.usage["retries"] == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_malformed_json_body_then_success(server, protocol):
    server.script(CHAT_PATHS[protocol], (200, b"{not json"), chat_reply(protocol, '{"a": 1}'))
    client = client_for(protocol, server.url)
    assert run(client.chat(MESSAGES)).text == '{"a": 1}'
    assert client.usage == {
        "calls": 1,
        "prompt_tokens": 12,
        "completion_tokens": 7,
        "retries": 1,
        "schema_fallbacks": 0,
    }


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_missing_content_field_is_retried_then_fails(server, protocol):
    path = CHAT_PATHS[protocol]
    broken = {"model": "test-model", "done": True} if protocol == "ollama" else {"choices": []}
    server.script(path, broken, chat_reply(protocol, "  "), chat_reply(protocol, '{"x": 2}'))
    client = client_for(protocol, server.url)
    assert run(client.chat(MESSAGES)).text == '{"x": 2}'
    assert client.usage["retries"] == 2

    server.set_default(path, broken)
    with pytest.raises(LlmFunctionError) as info:
        run(client.chat(MESSAGES))
    assert info.value.kind == "llm_unavailable"
    assert "malformed response" in info.value.details["last_error"]
    assert info.value.details["status"] == 200


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_always_500_raises_llm_unavailable(server, protocol):
    server.set_default(CHAT_PATHS[protocol], (500, {"error": "model crashed"}))
    sleeps = SleepRecorder()
    client = client_for(
        protocol, server.url, max_retries=4, backoff=0.01, max_backoff=0.03, sleep=sleeps
    )
    with pytest.raises(LlmFunctionError) as info:
        run(client.chat(MESSAGES))
    error = info.value
    assert error.kind == "llm_unavailable" and error.stage == "planning"
    assert error.details["attempts"] == 5
    assert error.details["status"] == 500
    assert error.details["url"] == client.url
    assert "model crashed" in error.details["last_error"]
    assert len(server.requests) == 5
    assert sleeps.delays == [0.01, 0.02, 0.03, 0.03]
    assert client.usage == {
        "calls": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "retries": 4,
        "schema_fallbacks": 0,
    }


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("status", [400, 401, 404])
def test_client_errors_are_not_retried(server, protocol, status):
    server.set_default(CHAT_PATHS[protocol], (status, {"error": "nope"}))
    sleeps = SleepRecorder()
    client = client_for(protocol, server.url, sleep=sleeps)
    with pytest.raises(LlmFunctionError) as info:
        run(client.chat(MESSAGES))
    assert info.value.kind == "llm_unavailable"
    assert info.value.details["attempts"] == 1
    assert info.value.details["status"] == status
    assert len(server.requests) == 1
    assert sleeps.delays == [] and client.usage["retries"] == 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_connection_refused_exhausts_attempts(protocol):
    with LoopbackServer() as server:
        url = server.url
    client = client_for(protocol, url, max_retries=1)
    with pytest.raises(LlmFunctionError) as info:
        run(client.chat(MESSAGES))
    assert info.value.details["attempts"] == 2
    assert "status" not in info.value.details
    assert info.value.details["last_error"]


# -- event loops and threads ---------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_two_event_loops_in_a_row(server, protocol):
    server.set_default(CHAT_PATHS[protocol], chat_reply(protocol, '{"n": 1}'))
    client = client_for(protocol, server.url)
    assert run(client.chat(MESSAGES)).text == '{"n": 1}'
    assert run(client.chat(MESSAGES)).text == '{"n": 1}'
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(client.chat(MESSAGES)).text == '{"n": 1}'
    finally:
        loop.close()
    assert client.usage["calls"] == 3


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_threads_share_one_client(server, protocol):
    def echo(body):
        return chat_reply(
            protocol,
            {"echo": body["messages"][-1]["content"]},
            prompt_tokens=1,
            completion_tokens=2,
        )

    server.set_default(CHAT_PATHS[protocol], Delay(0.1, echo))
    client = client_for(protocol, server.url)
    results: dict[int, str] = {}
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            messages = [{"role": "user", "content": f"thread {index}"}]
            results[index] = asyncio.run(client.chat(messages)).text
        except BaseException as exc:  # surfaced by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not failures
    assert {index: json.loads(text)["echo"] for index, text in results.items()} == {
        index: f"thread {index}" for index in range(4)
    }
    assert client.usage == {
        "calls": 4,
        "prompt_tokens": 4,
        "completion_tokens": 8,
        "retries": 0,
        "schema_fallbacks": 0,
    }


# -- ScriptedClient ------------------------------------------------------------------------


def test_scripted_client_replies_in_order():
    seen = []

    def answer(messages):
        seen.append(messages)
        return {"from": "callable", "n": len(messages)}

    client = ScriptedClient(['{"a": 1}', {"b": 2}, answer, ValueError("boom"), "text"])
    assert isinstance(client, LlmClient)

    async def scenario():
        first = await client.chat(MESSAGES)
        second = await client.chat([{"role": "user", "content": "2"}], json_mode=False)
        third = await client.chat(MESSAGES)
        with pytest.raises(ValueError, match="boom"):
            await client.chat(MESSAGES)
        fifth = await client.chat(MESSAGES)
        return first, second, third, fifth

    first, second, third, fifth = run(scenario())
    assert first.text == '{"a": 1}'
    assert json.loads(second.text) == {"b": 2}
    assert json.loads(third.text) == {"from": "callable", "n": 2}
    assert fifth.text == "text"
    assert seen == [MESSAGES]
    assert len(client.calls) == 5 and client.calls[1] == [{"role": "user", "content": "2"}]
    assert client.json_modes == [True, False, True, True, True]
    assert client.usage == {
        "calls": 4,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "retries": 0,
        "schema_fallbacks": 0,
    }
    assert client.remaining == 0

    with pytest.raises(LlmFunctionError) as info:
        run(client.chat(MESSAGES))
    assert info.value.kind == "llm_unavailable" and info.value.stage == "planning"
    assert info.value.details["reason"] == "script exhausted"
    assert len(client.calls) == 6


def test_scripted_client_add_and_exception_class_and_async_callable():
    async def later(messages):
        return "async"

    client = ScriptedClient()
    client.add(later, RuntimeError)
    assert run(client.chat(MESSAGES)).text == "async"
    with pytest.raises(RuntimeError):
        run(client.chat(MESSAGES))


# -- make_client ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params", [None, {}, {"llm_h_type": "schema"}, {"llm_h_type": "schema", "llm_h_params": {}}]
)
def test_make_client_without_model(params):
    assert make_client(params) is None


def test_make_client_http_types():
    params = {
        "connection_string": "http://127.0.0.1:9/v1",
        "model_name": "gpt-x",
        "api_key": "k",
        "temperature": 0.0,
        "seed": 7,
        "timeout": 5,
        "max_retries": 4,
        "backoff": 0.1,
        "max_backoff": 1,
    }
    openai = make_client({"llm_h_type": "openai", "llm_h_params": params})
    assert isinstance(openai, OpenAIClient)
    assert openai.url == "http://127.0.0.1:9/v1/chat/completions"
    assert (openai.model_name, openai.api_key, openai.temperature, openai.seed) == (
        "gpt-x",
        "k",
        0.0,
        7,
    )
    assert (openai.timeout, openai.max_retries, openai.backoff, openai.max_backoff) == (
        5.0,
        4,
        0.1,
        1.0,
    )

    minimal = {"connection_string": "http://localhost:11434", "model_name": "m", "timeout": None}
    ollama = make_client({"llm_h_type": "ollama", "llm_h_params": minimal})
    assert isinstance(ollama, OllamaClient)
    assert (ollama.timeout, ollama.max_retries, ollama.backoff, ollama.max_backoff) == (
        60.0,
        2,
        0.5,
        8.0,
    )


def test_make_client_scripted_and_custom():
    scripted = make_client({"llm_h_type": "scripted", "llm_h_params": {"replies": ['{"a": 1}']}})
    assert isinstance(scripted, ScriptedClient)
    assert run(scripted.chat(MESSAGES)).text == '{"a": 1}'
    mine = ScriptedClient([])
    assert make_client({"llm_h_type": "custom", "llm_h_params": {"client": mine}}) is mine
    assert make_client(mine) is mine


def _http(h_type: str, **extra) -> dict:
    return {
        "llm_h_type": h_type,
        "llm_h_params": {"connection_string": "http://x", "model_name": "m", **extra},
    }


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"llm_h_type": "gemini"}, "llm_h_type"),
        ({"llm_h_params": {}}, "llm_h_type"),
        ("ollama", "llm_handler_params"),
        ({"llm_h_type": "ollama", "llm_h_params": {"connection_string": ""}}, "connection_string"),
        ({"llm_h_type": "openai", "llm_h_params": {"connection_string": "http://x"}}, "model_name"),
        ({"llm_h_type": "openai"}, "model_name"),
        (_http("openai", timeout_note="unknown keys are errors"), "timeout_note"),
        (_http("ollama", num_ctx="big"), "num_ctx"),
        (_http("openai", extra_body={"model": "other"}), "extra_body"),
        ({"llm_h_type": "schema", "planning_deadline": -1}, "planning_deadline"),
        ({"llm_h_type": "schema", "extra": 1}, "extra"),
        ({"llm_h_type": "ollama", "llm_h_params": "nope"}, "llm_h_params"),
        (_http("ollama", timeout="fast"), "timeout"),
        (_http("ollama", max_retries=-1), "max_retries"),
        (_http("openai", seed=1.5), "seed"),
        ({"llm_h_type": "scripted", "llm_h_params": {"replies": "x"}}, "replies"),
        ({"llm_h_type": "custom", "llm_h_params": {}}, "client"),
    ],
)
def test_make_client_config_errors(params, key):
    with pytest.raises(LlmFunctionError) as info:
        make_client(params)
    assert info.value.kind == "config_invalid" and info.value.stage == "configuration"
    assert info.value.details["key"] == key
    assert key in str(info.value)
