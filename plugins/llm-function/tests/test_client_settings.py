"""Typed client settings, defaults from the environment (OLLAMA_HOST, OPENAI_BASE_URL,
OPENAI_API_KEY) and extra model options, checked on the requests a real loopback HTTP
server receives (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest
from loopback import CHAT_PATHS, LoopbackServer, chat_reply
from pydantic import BaseModel

from llm_function import (
    LlmFunctionConfig,
    LlmFunctionError,
    LlmFunctionRuntime,
    LlmRuntimeConfig,
    llm_function,
)
from llm_function.clients import OllamaClient, OpenAIClient, make_client
from llm_function.settings import (
    DEFAULT_OLLAMA_URL,
    DEFAULT_OPENAI_URL,
    OllamaParams,
    OllamaSettings,
    OpenAISettings,
    ollama_url,
)

ENV = ("OLLAMA_HOST", "OPENAI_BASE_URL", "OPENAI_API_KEY")


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


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    with LoopbackServer() as started:
        yield started


def call_once(handler: Any) -> Loud:
    runtime = LlmFunctionRuntime(
        LlmFunctionConfig(
            runtime=LlmRuntimeConfig(llm_handler_params=handler), tool_sources=[shout]
        )
    )

    @llm_function(runtime=runtime)
    def loud(word: Word) -> Loud:
        """Shout the word."""

    try:
        return loud({"word": "hi"})
    finally:
        runtime.close()


@pytest.mark.parametrize("form", ["host:port", "http://host:port"])
def test_ollama_host_from_the_environment(
    form: str, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.set_default(CHAT_PATHS["ollama"], chat_reply("ollama", PLAN))
    address = server.url.split("://", 1)[1]
    monkeypatch.setenv("OLLAMA_HOST", address if form == "host:port" else server.url)
    handler = {"llm_h_type": "ollama", "llm_h_params": {"model_name": "m"}}
    assert call_once(handler) == Loud(loud="HI")
    assert len(server.requests_to(CHAT_PATHS["ollama"])) == 1


def test_openai_base_url_and_key_from_the_environment(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = CHAT_PATHS["openai"]
    server.set_default(path, chat_reply("openai", PLAN))
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert call_once({"llm_h_type": "openai", "llm_h_params": {"model_name": "m"}}).loud == "HI"
    assert server.requests_to(path)[0].headers["authorization"] == "Bearer sk-from-env"

    given = {"model_name": "m", "api_key": "sk-given", "connection_string": server.url}
    assert call_once({"llm_h_type": "openai", "llm_h_params": given}).loud == "HI"
    assert server.requests_to(path)[1].headers["authorization"] == "Bearer sk-given"


def test_defaults_without_environment() -> None:
    ollama = make_client({"llm_h_type": "ollama", "llm_h_params": {"model_name": "m"}})
    openai = make_client({"llm_h_type": "openai", "llm_h_params": {"model_name": "m"}})
    assert isinstance(ollama, OllamaClient) and ollama.base_url == DEFAULT_OLLAMA_URL
    assert isinstance(openai, OpenAIClient) and openai.base_url == DEFAULT_OPENAI_URL
    assert openai.api_key is None


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("example.com", "http://example.com:11434"),
        ("example.com:8080", "http://example.com:8080"),
        ("https://example.com", "https://example.com"),
        ("http://10.0.0.2", "http://10.0.0.2:11434"),
        ("[::1]", "http://[::1]:11434"),
        ("[::1]:9999", "http://[::1]:9999"),
        ("http://proxy:80/ollama/", "http://proxy:80/ollama"),
    ],
)
def test_ollama_host_forms(value: str, url: str) -> None:
    assert ollama_url(value) == url


def test_ollama_model_options_are_passed_through(server: LoopbackServer) -> None:
    path = CHAT_PATHS["ollama"]
    server.set_default(path, chat_reply("ollama", PLAN))
    params = {
        "connection_string": server.url,
        "model_name": "qwen3:8b",
        "num_ctx": 8192,
        "options": {"top_p": 0.9, "num_predict": 512},
        "think": False,
        "keep_alive": "10m",
        "temperature": 0,
        "seed": 7,
    }
    assert call_once({"llm_h_type": "ollama", "llm_h_params": params}).loud == "HI"
    body = server.requests_to(path)[0].json
    assert body["options"] == {
        "top_p": 0.9,
        "num_predict": 512,
        "num_ctx": 8192,
        "temperature": 0,
        "seed": 7,
    }
    assert body["think"] is False and body["keep_alive"] == "10m"


def test_any_openai_request_field_is_passed_through(server: LoopbackServer) -> None:
    path = CHAT_PATHS["openai"]
    server.set_default(path, chat_reply("openai", PLAN))
    params = {
        "connection_string": server.url,
        "model_name": "m",
        "extra_body": {"max_tokens": 300, "reasoning_effort": "low", "top_p": 0.5},
    }
    assert call_once({"llm_h_type": "openai", "llm_h_params": params}).loud == "HI"
    body = server.requests_to(path)[0].json
    assert (body["max_tokens"], body["reasoning_effort"], body["top_p"]) == (300, "low", 0.5)
    assert body["model"] == "m" and body["stream"] is False


def test_typed_settings_objects(server: LoopbackServer) -> None:
    server.set_default(CHAT_PATHS["ollama"], chat_reply("ollama", PLAN))
    typed = OllamaSettings(
        llm_h_params=OllamaParams(connection_string=server.url, model_name="m"),
        planning_deadline=30,
    )
    assert call_once(typed).loud == "HI"
    config = LlmRuntimeConfig(
        llm_handler_params={"llm_h_type": "OpenAI", "llm_h_params": {"model_name": "m"}}
    )
    assert isinstance(config.llm_handler_params, OpenAISettings)


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"model_name": "m", "num_ctxx": 4096}, "num_ctxx"),
        ({"model_name": "m", "think": "very"}, "think"),
        ({"model_name": "m", "options": "num_ctx=4096"}, "options"),
    ],
)
def test_unknown_or_bad_keys_are_errors_naming_the_key(params: dict, key: str) -> None:
    with pytest.raises(LlmFunctionError) as caught:
        LlmRuntimeConfig(llm_handler_params={"llm_h_type": "ollama", "llm_h_params": params})
    assert caught.value.kind == "config_invalid" and caught.value.details["key"] == key
    assert key in str(caught.value)
