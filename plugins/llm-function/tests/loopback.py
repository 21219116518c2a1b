"""A real HTTP server on 127.0.0.1 that answers from per-path scripts, for tests.

    with LoopbackServer() as server:
        server.script("/api/chat", (500, {"error": "boom"}), ollama_reply('{"a": 1}'))
        ... talk to server.url ...
        assert server.requests_to("/api/chat")[0].json["model"] == "m"

Each request to a path takes the next response queued for that path (then for ``"*"``); when
the queues are empty it gets the default set by ``set_default`` (per path, then ``"*"``), else
a 404. A response may be:

- a ``dict`` or ``list``: 200 with that JSON body;
- ``(status, body)`` or ``(status, body, headers)``: ``body`` is JSON (dict/list/None), ``bytes``
  (sent verbatim, labelled ``application/json`` unless headers say otherwise) or ``str``
  (sent as ``text/plain``);
- an ``int``: that status with ``{"error": <reason phrase>}``;
- ``Reply(status, body, headers)``, the explicit form of the tuple;
- ``"drop"`` / ``DROP``: the connection is closed without an answer;
- ``"hang"`` / ``Hang(seconds)``: nothing is sent for ``seconds`` (default ``hang_seconds``,
  2 s; cut short when the server closes), then the connection is dropped;
- ``Delay(seconds, response)``: ``response`` after a pause;
- a callable: called with the request's parsed JSON body (``None`` when not JSON); its result
  is any of the above. If it raises, the answer is a 500 and the exception is kept in
  ``server.errors``.

Every request (method, path, query, headers with lower-case names, raw body and parsed JSON)
is recorded in ``server.requests`` before it is answered. The server runs in a daemon thread
with daemon handler threads, so ``close()`` returns promptly even with hanging requests.
``loopback_server`` is a pytest fixture yielding a started server (import it into a test
module or a conftest to use it).
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

DROP = "drop"
HANG = "hang"

#: The chat endpoint path of each protocol the clients speak.
CHAT_PATHS = {"ollama": "/api/chat", "openai": "/v1/chat/completions"}

_MAX_CALLABLE_DEPTH = 8


@dataclass
class Reply:
    """An HTTP answer: status, body (JSON value, ``bytes`` or ``str``) and extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hang:
    """Send nothing for ``seconds`` (the server's ``hang_seconds`` when ``None``), then drop."""

    seconds: float | None = None


@dataclass
class Delay:
    """Answer ``response`` after ``seconds``."""

    seconds: float
    response: Any


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any


class _Drop:
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LoopbackServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self.server.owner._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET


class LoopbackServer:
    """A scripted HTTP server on ``127.0.0.1`` (port chosen by the OS); see the module doc."""

    def __init__(
        self,
        responses: dict[str, list[Any]] | None = None,
        *,
        hang_seconds: float = 2.0,
        default: Any = None,
    ) -> None:
        self.hang_seconds = hang_seconds
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self._queues: dict[str, deque[Any]] = {}
        self._defaults: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        for path, items in (responses or {}).items():
            self.script(path, *items)
        if default is not None:
            self.set_default("*", default)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        """Bind and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="loopback-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, release hanging handlers and close the socket."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The bound port (the server must be started)."""
        if self._server is None:
            raise RuntimeError("LoopbackServer is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    # -- scripting -----------------------------------------------------------------------

    def script(self, path: str, *responses: Any) -> LoopbackServer:
        """Queue ``responses`` for ``path`` (``"*"`` matches any path); returns ``self``."""
        with self._lock:
            self._queues.setdefault(path, deque()).extend(responses)
        return self

    def set_default(self, path: str, response: Any) -> LoopbackServer:
        """Answer ``path`` (or ``"*"``) with ``response`` whenever its queue is empty."""
        with self._lock:
            self._defaults[path] = response
        return self

    def pending(self, path: str | None = None) -> int:
        """How many queued responses are unused (for ``path``, or in all queues)."""
        with self._lock:
            if path is not None:
                return len(self._queues.get(path, ()))
            return sum(len(queue) for queue in self._queues.values())

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests whose path is ``path``."""
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def reset(self) -> None:
        """Forget queued responses, defaults, recorded requests and errors."""
        with self._lock:
            self._queues.clear()
            self._defaults.clear()
            self.requests.clear()
            self.errors.clear()

    # -- serving -------------------------------------------------------------------------

    def _next_response(self, path: str) -> Any:
        with self._lock:
            for key in (path, "*"):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
            for key in (path, "*"):
                if key in self._defaults:
                    return self._defaults[key]
        return Reply(404, {"error": f"loopback: nothing scripted for {path}"})

    def _resolve(self, response: Any, request: RecordedRequest) -> Reply | Hang | Delay | _Drop:
        for _ in range(_MAX_CALLABLE_DEPTH):
            if isinstance(response, (Reply, Hang, Delay)):
                return response
            if isinstance(response, str) and response in (DROP, HANG):
                return _Drop() if response == DROP else Hang()
            if isinstance(response, (dict, list)):
                return Reply(200, response)
            if isinstance(response, bool):
                break
            if isinstance(response, int):
                try:
                    phrase = HTTPStatus(response).phrase
                except ValueError:
                    phrase = "status"
                return Reply(response, {"error": phrase})
            if (
                isinstance(response, tuple)
                and len(response) in (2, 3)
                and isinstance(response[0], int)
            ):
                headers = dict(response[2]) if len(response) == 3 else {}
                return Reply(response[0], response[1], headers)
            if callable(response):
                response = response(request.json)
                continue
            break
        raise TypeError(f"loopback: unsupported scripted response {response!r}")

    def _handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length > 0 else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        parts = urlsplit(handler.path)
        request = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query=parts.query,
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
            json=parsed,
        )
        with self._lock:
            self.requests.append(request)
        try:
            action = self._resolve(self._next_response(request.path), request)
        except Exception as exc:  # a broken script or callable: answer 500 and keep the error
            with self._lock:
                self.errors.append(exc)
            action = Reply(500, {"error": f"loopback: {type(exc).__name__}: {exc}"})
        if isinstance(action, Delay):
            if self._stopping.wait(max(action.seconds, 0.0)):
                action = _Drop()
            else:
                try:
                    action = self._resolve(action.response, request)
                except Exception as exc:
                    with self._lock:
                        self.errors.append(exc)
                    action = Reply(500, {"error": f"loopback: {type(exc).__name__}: {exc}"})
        if isinstance(action, Hang):
            seconds = self.hang_seconds if action.seconds is None else action.seconds
            self._stopping.wait(max(seconds, 0.0))
            action = _Drop()
        if isinstance(action, _Drop) or not isinstance(action, Reply):
            self._drop(handler)
            return
        self._send(handler, action)

    @staticmethod
    def _drop(handler: _Handler) -> None:
        handler.close_connection = True
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    @staticmethod
    def _send(handler: _Handler, reply: Reply) -> None:
        headers = {name.lower(): value for name, value in reply.headers.items()}
        if isinstance(reply.body, bytes):
            payload = reply.body
            content_type = "application/json"
        elif isinstance(reply.body, str):
            payload = reply.body.encode("utf-8")
            content_type = "text/plain; charset=utf-8"
        elif reply.body is None:
            payload = b""
            content_type = "application/json"
        else:
            payload = json.dumps(reply.body).encode("utf-8")
            content_type = "application/json"
        headers.setdefault("content-type", content_type)
        try:
            handler.send_response(reply.status)
            for name, value in headers.items():
                if name != "content-length":
                    handler.send_header(name, str(value))
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            if payload:
                handler.wfile.write(payload)
        except OSError:
            handler.close_connection = True


def _content(content: Any) -> str:
    return content if isinstance(content, str) else json.dumps(content)


def ollama_reply(
    content: Any,
    *,
    model: str = "test-model",
    prompt_tokens: int | None = 12,
    eval_count: int | None = 7,
    completion_tokens: int | None = None,
) -> dict:
    """A realistic non-streaming Ollama ``/api/chat`` body; a non-str ``content`` is JSON-encoded.

    ``completion_tokens`` is an alias of ``eval_count``; ``None`` token counts are omitted.
    """
    if completion_tokens is not None:
        eval_count = completion_tokens
    body: dict[str, Any] = {
        "model": model,
        "created_at": "2024-06-01T12:00:00.000000Z",
        "message": {"role": "assistant", "content": _content(content)},
        "done_reason": "stop",
        "done": True,
        "total_duration": 1_500_000_000,
        "load_duration": 20_000_000,
        "prompt_eval_duration": 300_000_000,
        "eval_duration": 1_100_000_000,
    }
    if prompt_tokens is not None:
        body["prompt_eval_count"] = prompt_tokens
    if eval_count is not None:
        body["eval_count"] = eval_count
    return body


def openai_reply(
    content: Any,
    *,
    model: str = "test-model",
    prompt_tokens: int | None = 12,
    completion_tokens: int | None = 7,
    finish_reason: str = "stop",
) -> dict:
    """A realistic OpenAI ``/v1/chat/completions`` body; a non-str ``content`` is JSON-encoded.

    With both token counts ``None`` the ``usage`` object is omitted.
    """
    body: dict[str, Any] = {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 1_717_243_200,
        "model": model,
        "system_fingerprint": "fp_loopback",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": _content(content)},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
    }
    if prompt_tokens is not None or completion_tokens is not None:
        body["usage"] = {
            "prompt_tokens": prompt_tokens or 0,
            "completion_tokens": completion_tokens or 0,
            "total_tokens": (prompt_tokens or 0) + (completion_tokens or 0),
        }
    return body


def chat_reply(
    protocol: str,
    content: Any,
    *,
    prompt_tokens: int = 12,
    completion_tokens: int = 7,
    model: str = "test-model",
) -> dict:
    """``ollama_reply`` or ``openai_reply`` by protocol name (``"ollama"`` / ``"openai"``)."""
    if protocol == "ollama":
        return ollama_reply(
            content, model=model, prompt_tokens=prompt_tokens, eval_count=completion_tokens
        )
    if protocol == "openai":
        return openai_reply(
            content, model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    raise ValueError(f"unknown protocol {protocol!r}")


def chat_content(protocol: str, body: Any) -> Any:
    """The assistant text inside a reply body built for ``protocol`` (handy in callables)."""
    if protocol == "ollama":
        return body["message"]["content"]
    return body["choices"][0]["message"]["content"]


try:
    import pytest
except ImportError:  # pragma: no cover - the helper also works without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def loopback_server() -> Any:
        """A started ``LoopbackServer``, closed after the test."""
        with LoopbackServer() as server:
            yield server
