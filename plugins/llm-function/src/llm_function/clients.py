"""Chat clients for the planner: Ollama's native API, OpenAI-compatible servers, and a script.

``make_client(llm_handler_params)`` turns the runtime's ``llm_handler_params`` into a client (or
``None`` for the model-free schema planner). Every client has one coroutine,
``chat(messages, json_mode=True, schema=None) -> LlmReply``, and a ``usage`` dict of running
totals. With a ``schema`` (a JSON schema) the answer is constrained to it: Ollama gets it as
``"format"``, OpenAI-compatible servers as ``"response_format": {"type": "json_schema",
"json_schema": {"name": ..., "strict": true, "schema": ...}}``. A server that refuses the
schema (HTTP 400, 422 or 501) is asked again at once in plain JSON mode, with a warning on the
``llm_function.planning`` logger; the client remembers the refusal and sends plain JSON mode
from then on (``schema_refused`` holds the reason, ``usage["schema_fallbacks"]`` counts them).

The two HTTP clients share one request loop: a per-request timeout, retries with exponential
backoff on connection failures, timeouts, HTTP 429/500/502/503/504 and malformed bodies
(``Retry-After`` on 429/503 replaces the computed delay, capped at 60 s), no retry on other
4xx, and ``LlmFunctionError(kind="llm_unavailable")`` once the attempts are spent.

Event loops and threads: an ``httpx.AsyncClient`` is bound to the event loop it first runs on,
so keeping one across calls breaks as soon as a caller uses ``asyncio.run`` twice or calls from
another thread. These clients therefore open one ``httpx.AsyncClient`` per ``chat()`` call (its
retries reuse it) and close it before returning. The cost, one new connection per call, is
negligible next to a model's answer time. What is shared between loops and threads is
loop-independent: the ``usage`` counters (behind a lock) and one ``ssl.SSLContext``.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import json
import logging
import math
import ssl
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from . import forksafe
from .errors import LlmFunctionError

__all__ = [
    "LlmReply",
    "LlmClient",
    "OllamaClient",
    "OpenAIClient",
    "ScriptedClient",
    "make_client",
    "RETRY_STATUSES",
    "MAX_RETRY_AFTER",
]

#: HTTP statuses that are retried; every other non-2xx status fails at once.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Statuses whose ``Retry-After`` header replaces the computed backoff.
RETRY_AFTER_STATUSES = frozenset({429, 503})
#: The longest ``Retry-After`` delay honoured, in seconds.
MAX_RETRY_AFTER = 60.0

#: A sleep coroutine function, injectable so tests can record delays without waiting.
SleepFunction = Callable[[float], Awaitable[Any]]

_EXCERPT = 300

#: Statuses meaning "this server does not take that JSON schema": plain JSON mode is tried.
SCHEMA_REFUSED_STATUSES = frozenset({400, 422, 501})

logger = logging.getLogger("llm_function.planning")


@dataclass
class LlmReply:
    """One answer of a model: its text, token counts when reported, and the decoded body."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    model: str | None = None
    raw: dict = field(default_factory=dict)
    attempts: int = 1
    #: Whether the answer was constrained by the JSON schema passed to ``chat``.
    schema_used: bool = False


class LlmClient(ABC):
    """A chat model. Subclasses implement ``chat`` and call ``super().__init__()``.

    ``usage`` holds running totals: ``{"calls", "prompt_tokens", "completion_tokens",
    "retries"}``; ``calls`` and the token counts grow per successful call, ``retries`` per
    repeated attempt (successful or not).
    """

    def __init__(self) -> None:
        self.usage: dict[str, int] = {
            "calls": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "retries": 0,
            "schema_fallbacks": 0,
        }
        self._usage_lock = threading.Lock()
        forksafe.register(self)

    def _after_fork(self) -> None:
        # Locks another thread held when the process forked stay held in the child.
        for name, value in list(vars(self).items()):
            if isinstance(value, type(self._usage_lock)):
                setattr(self, name, threading.Lock())

    @abstractmethod
    async def chat(
        self, messages: list[dict], *, json_mode: bool = True, schema: dict | None = None
    ) -> LlmReply:
        """Send ``messages`` (``{"role": "system"|"user"|"assistant", "content": str}``) and
        return the model's answer; with ``json_mode`` the model is asked for a JSON object,
        with ``schema`` for one that fits this JSON schema (a client may ignore it; the
        reply's ``schema_used`` says whether it was applied)."""

    def _count_success(self, reply: LlmReply) -> None:
        with self._lock():
            self.usage["calls"] = self.usage.get("calls", 0) + 1
            self.usage["prompt_tokens"] = self.usage.get("prompt_tokens", 0) + (
                reply.prompt_tokens or 0
            )
            self.usage["completion_tokens"] = self.usage.get("completion_tokens", 0) + (
                reply.completion_tokens or 0
            )

    def _count_retry(self) -> None:
        with self._lock():
            self.usage["retries"] = self.usage.get("retries", 0) + 1

    def _lock(self) -> threading.Lock:
        # Tolerates subclasses that forgot ``super().__init__()``.
        if "_usage_lock" not in self.__dict__:
            LlmClient.__init__(self)
        return self._usage_lock


def _config_error(key: str, message: str) -> LlmFunctionError:
    return LlmFunctionError(
        f"invalid llm_handler_params: {message}",
        kind="config_invalid",
        stage="configuration",
        details={"key": key},
    )


def _check_messages(messages: Any) -> list[dict]:
    if not isinstance(messages, (list, tuple)):
        raise TypeError(f"messages must be a list of dicts, got {type(messages).__name__}")
    checked = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise TypeError(f"messages[{index}] must be a dict with 'role' and 'content'")
        checked.append(dict(message))
    return checked


def _excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or HTTP date), capped at 60."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


class _MalformedReply(Exception):
    """The server answered 2xx but the body is not a usable reply."""


class _HttpClient(LlmClient):
    """The request loop shared by the Ollama and OpenAI clients."""

    protocol = "http"

    def __init__(
        self,
        connection_string: str,
        model_name: str,
        *,
        api_key: str | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        sleep: SleepFunction = asyncio.sleep,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(connection_string, str) or not connection_string.strip():
            raise _config_error(
                "connection_string", "connection_string must be a non-empty URL string"
            )
        if not isinstance(model_name, str) or not model_name.strip():
            raise _config_error("model_name", "model_name must be a non-empty string")
        if api_key is not None and not isinstance(api_key, str):
            raise _config_error("api_key", "api_key must be a string")
        if temperature is not None and (
            isinstance(temperature, bool) or not isinstance(temperature, (int, float))
        ):
            raise _config_error("temperature", "temperature must be a number")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise _config_error("seed", "seed must be an integer")
        for key, value in (
            ("timeout", timeout),
            ("backoff", backoff),
            ("max_backoff", max_backoff),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or value < 0
                or math.isnan(value)
            ):
                raise _config_error(key, f"{key} must be a non-negative number")
        if timeout <= 0:
            raise _config_error("timeout", "timeout must be positive")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise _config_error("max_retries", "max_retries must be a non-negative integer")
        if not callable(sleep):
            raise TypeError("sleep must be a coroutine function taking seconds")
        base = connection_string.strip()
        if "://" not in base:
            base = "http://" + base
        self.base_url = base.rstrip("/")
        self.url = self._endpoint(self.base_url)
        self.model_name = model_name
        self.api_key = api_key
        self.temperature = temperature
        self.seed = seed
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.headers = dict(headers or {})
        self._sleep = sleep
        self._ssl_context: ssl.SSLContext | None = None
        self._ssl_lock = threading.Lock()
        #: Why the server refused a JSON schema (``None``: no refusal yet).
        self.schema_refused: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, model_name={self.model_name!r})"

    def _endpoint(self, base: str) -> str:
        raise NotImplementedError

    def _payload(self, messages: list[dict], json_mode: bool, schema: dict | None = None) -> dict:
        raise NotImplementedError

    def _parse(self, body: Any) -> LlmReply:
        raise NotImplementedError

    def _verify(self) -> ssl.SSLContext:
        # Building an SSL context costs tens of milliseconds, so the per-call httpx clients
        # share one; an SSLContext is not tied to an event loop and is safe across threads.
        with self._ssl_lock:
            if self._ssl_context is None:
                factory = getattr(httpx, "create_ssl_context", None)
                self._ssl_context = (
                    factory() if factory is not None else ssl.create_default_context()
                )
            return self._ssl_context

    def _request_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", **self.headers}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def backoff_delay(self, attempt: int) -> float:
        """The delay after failed attempt number ``attempt`` (1-based) absent ``Retry-After``."""
        return min(self.backoff * (2 ** (attempt - 1)), self.max_backoff)

    def _unavailable(self, attempts: int, status: int | None, last_error: str) -> LlmFunctionError:
        details: dict[str, Any] = {"url": self.url, "attempts": attempts, "last_error": last_error}
        if status is not None:
            details["status"] = status
        return LlmFunctionError(
            f"{self.protocol} model {self.model_name!r} at {self.url} unavailable after "
            f"{attempts} attempt(s): {last_error}",
            kind="llm_unavailable",
            stage="planning",
            details=details,
        )

    async def chat(
        self, messages: list[dict], *, json_mode: bool = True, schema: dict | None = None
    ) -> LlmReply:
        """POST ``messages`` to the server, retrying transient failures; see the module doc."""
        checked = _check_messages(messages)
        if schema is not None and json_mode and self.schema_refused is None:
            try:
                reply = await self._post(self._payload(checked, json_mode, schema))
            except LlmFunctionError as exc:
                status = exc.details.get("status")
                if status not in SCHEMA_REFUSED_STATUSES:
                    raise
                self.schema_refused = f"HTTP {status}: {exc.details.get('last_error', '')}"
                with self._lock():
                    self.usage["schema_fallbacks"] = self.usage.get("schema_fallbacks", 0) + 1
                logger.warning(
                    "%s at %s refused the plan's JSON schema (%s); asking in plain JSON mode from now on",
                    self.model_name,
                    self.url,
                    self.schema_refused,
                )
            else:
                reply.schema_used = True
                return reply
        return await self._post(self._payload(checked, json_mode))

    async def _post(self, payload: dict) -> LlmReply:
        last_error = "no attempt made"
        last_status: int | None = None
        attempts = 0
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            headers=self._request_headers(),
            follow_redirects=True,
            verify=self._verify(),
        ) as http:
            for attempt in range(1, self.max_retries + 2):
                attempts = attempt
                delay: float | None = None
                try:
                    response = await http.post(self.url, json=payload)
                except httpx.TimeoutException as exc:
                    last_status, last_error = (
                        None,
                        f"timed out after {self.timeout:g}s ({type(exc).__name__})",
                    )
                except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                    raise self._unavailable(attempt, None, f"{type(exc).__name__}: {exc}") from exc
                except httpx.TransportError as exc:
                    last_status, last_error = (
                        None,
                        f"{type(exc).__name__}: {str(exc) or 'connection failed'}",
                    )
                else:
                    last_status = response.status_code
                    if 200 <= response.status_code < 300:
                        try:
                            try:
                                body = json.loads(response.content)
                            except (ValueError, UnicodeDecodeError) as exc:
                                raise _MalformedReply(f"body is not JSON ({exc})") from exc
                            reply = self._parse(body)
                        except _MalformedReply as exc:
                            last_error = (
                                f"malformed response: {exc}; body: {_excerpt(response.text)}"
                            )
                        else:
                            reply.attempts = attempt
                            self._count_success(reply)
                            return reply
                    elif response.status_code in RETRY_STATUSES:
                        last_error = f"HTTP {response.status_code}: {_excerpt(response.text)}"
                        if response.status_code in RETRY_AFTER_STATUSES:
                            delay = _retry_after_seconds(response.headers.get("retry-after"))
                    else:
                        raise self._unavailable(
                            attempt,
                            response.status_code,
                            f"HTTP {response.status_code}: {_excerpt(response.text)}",
                        )
                if attempt > self.max_retries:
                    break
                self._count_retry()
                await self._sleep(self.backoff_delay(attempt) if delay is None else delay)
        raise self._unavailable(attempts, last_status, last_error)


def _content_text(content: Any, where: str) -> str:
    # An empty answer is never usable (thinking models sometimes return only their reasoning),
    # so it counts as malformed and is retried.
    if not isinstance(content, str):
        raise _MalformedReply(f"{where} is missing or not a string")
    if not content.strip():
        raise _MalformedReply(f"{where} is empty")
    return content


class OllamaClient(_HttpClient):
    """Ollama's native ``POST {base}/api/chat`` (non-streaming).

    JSON mode sends ``"format": "json"``, or the JSON schema itself when one is given; ``options`` (``num_ctx``…), ``temperature`` and
    ``seed`` go in ``"options"``; ``think`` and ``keep_alive`` are request fields.
    The reply is ``message.content``; token counts come from ``prompt_eval_count`` and
    ``eval_count``. ``connection_string`` may also end in ``/api`` or ``/api/chat``.
    """

    protocol = "ollama"

    def __init__(
        self,
        connection_string: str,
        model_name: str,
        *,
        options: dict[str, Any] | None = None,
        think: bool | str | None = None,
        keep_alive: str | float | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(connection_string, model_name, **settings)
        self.options = dict(options or {})
        self.think = think
        self.keep_alive = keep_alive

    def _endpoint(self, base: str) -> str:
        if base.endswith("/api/chat"):
            return base
        if base.endswith("/api"):
            return base + "/chat"
        return base + "/api/chat"

    def _payload(self, messages: list[dict], json_mode: bool, schema: dict | None = None) -> dict:
        payload: dict[str, Any] = {"model": self.model_name, "messages": messages, "stream": False}
        if json_mode:
            payload["format"] = "json" if schema is None else schema
        options: dict[str, Any] = dict(self.options)
        if self.temperature is not None:
            options["temperature"] = self.temperature
        if self.seed is not None:
            options["seed"] = self.seed
        if options:
            payload["options"] = options
        if self.think is not None:
            payload["think"] = self.think
        if self.keep_alive is not None:
            payload["keep_alive"] = self.keep_alive
        return payload

    def _parse(self, body: Any) -> LlmReply:
        if not isinstance(body, dict):
            raise _MalformedReply("body is not a JSON object")
        message = body.get("message")
        if not isinstance(message, dict):
            error = body.get("error")
            raise _MalformedReply(f"server error: {error}" if error else "'message' is missing")
        text = _content_text(message.get("content"), "message.content")
        return LlmReply(
            text=text,
            prompt_tokens=_int_or_none(body.get("prompt_eval_count")),
            completion_tokens=_int_or_none(body.get("eval_count")),
            model=body.get("model") if isinstance(body.get("model"), str) else None,
            raw=body,
        )


class OpenAIClient(_HttpClient):
    """An OpenAI-compatible ``POST {base}/v1/chat/completions`` (OpenAI, vLLM, llama.cpp,
    LM Studio, Ollama's ``/v1``).

    ``connection_string`` may end with or without ``/v1`` (or be the full endpoint). JSON mode
    sends ``"response_format": {"type": "json_object"}``, or ``{"type": "json_schema",
    "json_schema": {"name": "plan", "strict": true, "schema": ...}}`` when a schema is given (OpenAI itself then requires the word
    "JSON" somewhere in the messages); ``temperature`` and ``seed`` are top-level fields and
    ``api_key`` becomes ``Authorization: Bearer …``; ``extra_body`` adds any other request
    field. The reply is ``choices[0].message.content``.
    """

    protocol = "openai"

    def __init__(
        self,
        connection_string: str,
        model_name: str,
        *,
        extra_body: dict[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(connection_string, model_name, **settings)
        self.extra_body = dict(extra_body or {})

    def _endpoint(self, base: str) -> str:
        if base.endswith("/chat/completions"):
            return base
        if base.endswith("/v1"):
            return base + "/chat/completions"
        return base + "/v1/chat/completions"

    def _payload(self, messages: list[dict], json_mode: bool, schema: dict | None = None) -> dict:
        payload: dict[str, Any] = {"model": self.model_name, "messages": messages, "stream": False}
        if json_mode and schema is not None:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "plan", "strict": True, "schema": schema},
            }
        elif json_mode:
            payload["response_format"] = {"type": "json_object"}
        if self.temperature is not None:
            payload["temperature"] = self.temperature
        if self.seed is not None:
            payload["seed"] = self.seed
        payload.update(self.extra_body)
        return payload

    def _parse(self, body: Any) -> LlmReply:
        if not isinstance(body, dict):
            raise _MalformedReply("body is not a JSON object")
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            error = body.get("error")
            raise _MalformedReply(
                f"server error: {error}" if error else "'choices' is missing or empty"
            )
        message = choices[0].get("message")
        if not isinstance(message, dict):
            raise _MalformedReply("choices[0].message is missing")
        text = _content_text(message.get("content"), "choices[0].message.content")
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        return LlmReply(
            text=text,
            prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
            completion_tokens=_int_or_none(usage.get("completion_tokens")),
            model=body.get("model") if isinstance(body.get("model"), str) else None,
            raw=body,
        )


#: What a ``ScriptedClient`` reply may be.
ScriptedReply = Any  # str | dict | list | Callable[[list[dict]], str | dict] | BaseException


class ScriptedClient(LlmClient):
    """A client that answers from a script, for tests (yours and the package's).

    Each ``chat()`` takes the next reply: a ``str`` is returned as is, a ``dict``/``list`` is
    ``json.dumps``-ed, a callable is called with the messages (its result, possibly awaited,
    is treated the same way) and an exception instance or class is raised. Every call's
    messages are appended to ``calls`` (and its ``json_mode`` to ``json_modes``), even when
    the script has run out, which raises ``LlmFunctionError(kind="llm_unavailable")``.
    """

    def __init__(self, replies: Iterable[ScriptedReply] = (), *, model: str = "scripted") -> None:
        super().__init__()
        self._replies: collections.deque[ScriptedReply] = collections.deque(replies)
        self._script_lock = threading.Lock()
        self.model = model
        self.calls: list[list[dict]] = []
        self.json_modes: list[bool] = []
        self.schemas: list[dict | None] = []

    def __repr__(self) -> str:
        return f"ScriptedClient(remaining={self.remaining}, calls={len(self.calls)})"

    @property
    def remaining(self) -> int:
        """How many scripted replies are left."""
        return len(self._replies)

    def add(self, *replies: ScriptedReply) -> None:
        """Append replies to the script."""
        with self._script_lock:
            self._replies.extend(replies)

    async def chat(
        self, messages: list[dict], *, json_mode: bool = True, schema: dict | None = None
    ) -> LlmReply:
        """Record the call (and its ``schema`` in ``schemas``) and answer with the next
        scripted reply."""
        checked = _check_messages(messages)
        with self._script_lock:
            self.calls.append(checked)
            self.json_modes.append(json_mode)
            self.schemas.append(schema)
            if not self._replies:
                raise LlmFunctionError(
                    f"scripted client has no reply left for call {len(self.calls)}",
                    kind="llm_unavailable",
                    stage="planning",
                    details={"reason": "script exhausted", "calls": len(self.calls)},
                )
            reply = self._replies.popleft()
        if isinstance(reply, type) and issubclass(reply, BaseException):
            raise reply()
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply):
            reply = reply([dict(message) for message in checked])
            if inspect.isawaitable(reply):
                reply = await reply
            if isinstance(reply, BaseException):
                raise reply
        if isinstance(reply, (dict, list)):
            text = json.dumps(reply)
        elif isinstance(reply, str):
            text = reply
        else:
            raise TypeError(
                f"scripted reply must be str, dict, list, callable or exception, got {type(reply).__name__}"
            )
        result = LlmReply(text=text, model=self.model, raw={"scripted": True, "content": text})
        self._count_success(result)
        return result


_HTTP_TYPES: dict[str, type[_HttpClient]] = {"ollama": OllamaClient, "openai": OpenAIClient}


def make_client(llm_handler_params: Any) -> LlmClient | None:
    """Build the client described by ``llm_handler_params``, or ``None`` for no model.

    ``llm_handler_params`` is a settings model of ``llm_function.settings`` or the same as a
    dict (validated: unknown keys are errors), ``None`` or ``{}`` (no model: the schema
    planner), or an ``LlmClient``, returned as is. ``"ollama"``/``"openai"`` need
    ``llm_h_params["model_name"]``; the address and key come from the config, else from
    ``OLLAMA_HOST`` / ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``, else the defaults.
    Anything wrong raises ``LlmFunctionError(kind="config_invalid", stage="configuration")``
    whose ``details["key"]`` names the offending key.
    """
    if isinstance(llm_handler_params, LlmClient):
        return llm_handler_params
    from llm_function.settings import parse_handler, resolved_http_params

    settings = parse_handler(llm_handler_params)
    if settings is None or settings.llm_h_type == "schema":
        return None
    if settings.llm_h_type in _HTTP_TYPES:
        params = resolved_http_params(settings)
        return _HTTP_TYPES[settings.llm_h_type](
            params.pop("connection_string"), params.pop("model_name"), **params
        )
    if settings.llm_h_type == "scripted":
        return ScriptedClient(settings.llm_h_params.replies)
    return settings.llm_h_params.client
