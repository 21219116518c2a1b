"""Typed model-client settings: what ``llm_handler_params`` may hold.

``llm_handler_params`` is one of these models, chosen by ``llm_h_type`` (a discriminated
union), or the same as a dict, which is validated into one::

    {"llm_h_type": "ollama", "llm_h_params": {"model_name": "qwen3:8b", "num_ctx": 8192},
     "planning_deadline": 60}

Unknown keys are errors. What the config leaves out comes from the environment as the
clients' own ecosystems do (read when a runtime is built): ``OLLAMA_HOST`` for Ollama's
address; ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` for OpenAI-compatible servers.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from llm_function.errors import LlmFunctionError

#: Where Ollama listens unless ``OLLAMA_HOST`` or the config says otherwise.
DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
OLLAMA_PORT = 11434
#: OpenAI's API unless ``OPENAI_BASE_URL`` or the config says otherwise.
DEFAULT_OPENAI_URL = "https://api.openai.com/v1"

Number = Union[StrictInt, StrictFloat]  # noqa: UP007 - a runtime type for pydantic


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class HttpParams(_Settings):
    """``llm_h_params`` shared by the HTTP clients; ``None`` means the default."""

    connection_string: str | None = Field(default=None, min_length=1)
    model_name: str = Field(min_length=1)
    api_key: str | None = None
    temperature: Number | None = None
    seed: StrictInt | None = None
    timeout: Number | None = Field(default=None, gt=0)
    max_retries: StrictInt | None = Field(default=None, ge=0)
    backoff: Number | None = Field(default=None, ge=0)
    max_backoff: Number | None = Field(default=None, ge=0)


class OllamaParams(HttpParams):
    """Ollama's ``llm_h_params``: ``options`` (any model option: ``num_ctx``, ``top_p``,
    ``num_predict``…; ``num_ctx`` may also be given on its own), ``think`` and ``keep_alive``
    (sent as Ollama's request fields of those names)."""

    options: dict[str, Any] = Field(default_factory=dict)
    num_ctx: StrictInt | None = Field(default=None, gt=0)
    think: bool | Literal["low", "medium", "high"] | None = None
    keep_alive: str | Number | None = None


#: Request fields ``extra_body`` may not set: the client owns them.
OPENAI_RESERVED = frozenset({"model", "messages", "stream"})


class OpenAIParams(HttpParams):
    """OpenAI-compatible ``llm_h_params``: ``extra_body`` holds any other request field
    (``max_tokens``, ``top_p``, ``reasoning_effort``…), sent as is."""

    extra_body: dict[str, Any] = Field(default_factory=dict)

    @field_validator("extra_body")
    @classmethod
    def _not_reserved(cls, value: dict[str, Any]) -> dict[str, Any]:
        taken = sorted(OPENAI_RESERVED.intersection(value))
        if taken:
            raise ValueError(f"{', '.join(taken)} cannot be set through extra_body")
        return value


class ScriptedParams(_Settings):
    """``llm_h_params`` of the scripted client: its canned ``replies``."""

    replies: list[Any] = Field(default_factory=list)


class CustomParams(_Settings):
    """``llm_h_params`` of a client of your own: an object with an async ``chat``."""

    client: Any

    @field_validator("client")
    @classmethod
    def _has_chat(cls, value: Any) -> Any:
        if not callable(getattr(value, "chat", None)):
            raise ValueError("must be an LlmClient instance (an object with an async chat())")
        return value


class _Handler(_Settings):
    planning_deadline: Number | None = Field(default=None, gt=0)


class OllamaSettings(_Handler):
    """Ollama's native ``/api/chat``."""

    llm_h_type: Literal["ollama"] = "ollama"
    llm_h_params: OllamaParams


class OpenAISettings(_Handler):
    """An OpenAI-compatible ``/v1/chat/completions``."""

    llm_h_type: Literal["openai"] = "openai"
    llm_h_params: OpenAIParams


class SchemaSettings(_Handler):
    """No model: the schema planner."""

    llm_h_type: Literal["schema"] = "schema"
    llm_h_params: dict[str, Any] = Field(default_factory=dict, max_length=0)


class ScriptedSettings(_Handler):
    """Canned answers, for tests."""

    llm_h_type: Literal["scripted"] = "scripted"
    llm_h_params: ScriptedParams = Field(default_factory=ScriptedParams)


class CustomSettings(_Handler):
    """A client object of your own."""

    llm_h_type: Literal["custom"] = "custom"
    llm_h_params: CustomParams


LlmHandlerSettings = Annotated[
    Union[OllamaSettings, OpenAISettings, SchemaSettings, ScriptedSettings, CustomSettings],  # noqa: UP007
    Field(discriminator="llm_h_type"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(LlmHandlerSettings)
_TYPES_HINT = "use 'ollama', 'openai', 'schema', 'scripted' or 'custom'"


def _config_error(key: str, message: str) -> LlmFunctionError:
    return LlmFunctionError(
        f"invalid llm_handler_params: {message}",
        kind="config_invalid",
        stage="configuration",
        details={"key": key},
    )


def parse_handler(value: Any) -> Any:
    """``value`` (a settings model, a dict, ``None`` or ``{}``) as a settings model or ``None``.

    Raises ``LlmFunctionError(kind="config_invalid")`` whose ``details["key"]`` and message
    name the offending key.
    """
    if value is None or isinstance(value, _Handler):
        return value
    if not isinstance(value, dict):
        raise _config_error("llm_handler_params", "llm_handler_params must be a dict or None")
    if not value:
        return None
    value = dict(value)
    h_type = value.get("llm_h_type")
    if not isinstance(h_type, str) or not h_type.strip():
        raise _config_error("llm_h_type", f"llm_h_type is missing; {_TYPES_HINT}")
    value["llm_h_type"] = h_type.strip().lower()
    if value.get("llm_h_params") is None:
        value.pop("llm_h_params", None)
    if isinstance(value.get("llm_h_params"), dict):  # None means "the default"
        value["llm_h_params"] = {k: v for k, v in value["llm_h_params"].items() if v is not None}
    try:
        return _ADAPTER.validate_python(value)
    except ValidationError as exc:
        raise _validation_error(exc) from None


def _validation_error(exc: ValidationError) -> LlmFunctionError:
    first = exc.errors()[0]
    if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
        tag = (
            first.get("input", {}).get("llm_h_type")
            if isinstance(first.get("input"), dict)
            else None
        )
        return _config_error("llm_h_type", f"unknown llm_h_type {tag!r}; {_TYPES_HINT}")
    path = [str(part) for part in first["loc"][1:]]  # the first part is the union tag
    # After the field come labels of union members ("int", "float"): not keys.
    if len(path) > 1 and path[0] == "llm_h_params":
        key = path[1]
    else:
        key = path[0] if path else "llm_handler_params"
    if first["type"] == "missing" and key == "llm_h_params":
        key = {"ollama": "model_name", "openai": "model_name", "custom": "client"}.get(
            str(first["loc"][0]), key
        )
    errors = [
        f"{'.'.join(str(p) for p in error['loc'][1:])}: {error['msg']}" for error in exc.errors()
    ]
    error = _config_error(key, f"{key}: {first['msg']}")
    error.details["errors"] = errors
    return error


def ollama_url(host: str) -> str:
    """A base URL from an ``OLLAMA_HOST`` value (``host``, ``host:port``, ``scheme://host[:port]``;
    the port defaults to 11434 over http)."""
    value = host.strip().rstrip("/")
    scheme, _, rest = value.rpartition("://")
    scheme = scheme or "http"
    authority, slash, path = rest.partition("/")
    if authority.startswith("["):  # IPv6: [::1]:11434
        has_port = "]:" in authority
    else:
        has_port = ":" in authority
    if not authority:
        authority = "127.0.0.1"
    if not has_port and scheme == "http":
        authority = f"{authority}:{OLLAMA_PORT}"
    return f"{scheme}://{authority}{slash}{path}"


def resolved_http_params(settings: OllamaSettings | OpenAISettings) -> dict[str, Any]:
    """The client's constructor arguments: the settings, with what they leave out taken from
    the environment, then the defaults."""
    params = settings.llm_h_params
    given = params.model_dump(exclude_none=True)
    if isinstance(settings, OllamaSettings):
        if "connection_string" not in given:
            host = os.environ.get("OLLAMA_HOST", "").strip()
            given["connection_string"] = ollama_url(host) if host else DEFAULT_OLLAMA_URL
        options = dict(given.pop("options", {}))
        if "num_ctx" in given:
            options["num_ctx"] = given.pop("num_ctx")
        given["options"] = options
    else:
        if "connection_string" not in given:
            given["connection_string"] = (
                os.environ.get("OPENAI_BASE_URL", "").strip() or DEFAULT_OPENAI_URL
            )
        if "api_key" not in given and os.environ.get("OPENAI_API_KEY"):
            given["api_key"] = os.environ["OPENAI_API_KEY"]
    return given
