"""The constants module of the LLLM framework, kept so its package files import unmodified.

Prompt files written for the framework do ``from lllm.core.const import ParseError`` (to raise
from a custom parser) and sometimes the enums below. lllm does not call models: these names
exist so such files load, and hold the values the framework gives them, for the agent layer
built on top of lllm. ``ParseError`` is the same class as ``lllm.core.prompt.ParseError``.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from lllm.core.errors import LllmError

__all__ = [
    "APIType",
    "APITypes",
    "Features",
    "FunctionCall",
    "Invokers",
    "LLM_SIDE_ROLES",
    "Modalities",
    "Modality",
    "ParseError",
    "Providers",
    "Role",
    "Roles",
]


class ParseError(LllmError, ValueError):
    """A model's answer could not be parsed.

    ``ParseError(message, missing=(), *, context="")``: ``missing`` names the required tags the
    answer lacks (set by ``DefaultTagParser``); ``context`` is free text about the failure, as
    in the framework, whose second positional argument it is: a string given there is taken
    as ``context``. ``message`` is the message; ``detail`` is another name for ``context``.
    """

    def __init__(
        self, message: str, missing: Any = (), *, context: str = "", detail: str = ""
    ) -> None:
        super().__init__(message)
        if isinstance(missing, str):
            context, missing = context or missing, ()
        self.message: str = message
        self.missing: tuple[str, ...] = tuple(missing)
        self.context: str = context or detail

    @property
    def detail(self) -> str:
        """The same text as ``context`` (the name later framework versions use)."""
        return self.context

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.missing), {"context": self.context})


class Roles(str, enum.Enum):
    """Who a message of a dialog comes from."""

    SYSTEM = "system"
    ASSISTANT = "assistant"
    USER = "user"
    TOOL = "tool"
    TOOL_CALL = "tool_call"


class Modalities(str, enum.Enum):
    """What a message carries."""

    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    FUNCTION_CALL = "function_call"


class APITypes(str, enum.Enum):
    """Which kind of model API a call goes through: chat completions or responses."""

    COMPLETION = "completion"
    RESPONSE = "response"


class Invokers(str, enum.Enum):
    """The back ends that turn a dialog into a model call (``Function.to_tool`` takes one)."""

    LITELLM = "litellm"
    OPENAI = "openai"


class Providers(str, enum.Enum):
    """Model vendors named by model cards."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"


class Features(str, enum.Enum):
    """Capabilities a model may offer."""

    FUNCTION_CALL = "function_call"
    STRUCTURED_OUTPUT = "structured_output"
    STREAMING = "streaming"
    FINETUNING = "finetuning"
    DISTILLATION = "distillation"
    PREDICTED_OUTPUT = "predicted_output"
    COMPUTER_USE = "computer_use"
    WEB_SEARCH = "web_search"


#: Singular spellings, as later framework versions also export them.
Role = Roles
Modality = Modalities
APIType = APITypes

#: The roles whose messages the model writes.
LLM_SIDE_ROLES: tuple[Roles, ...] = (Roles.ASSISTANT, Roles.TOOL_CALL)


@attrs.define(slots=True)
class FunctionCall:
    """One call of a tool a model asked for, and what came of it once the agent layer ran it.

    lllm records calls for the agent layer and never makes them: ``arguments`` are the
    model's arguments; ``result`` / ``result_str`` / ``error_message`` are filled in by
    whoever runs the tool.
    """

    id: str
    name: str
    arguments: dict[str, Any] = attrs.field(factory=dict, converter=dict)
    result: Any = None
    result_str: str | None = None
    error_message: str | None = None

    @property
    def success(self) -> bool:
        """Whether the call ran and produced a result text without an error."""
        return self.error_message is None and self.result_str is not None

    def equals(self, other: FunctionCall) -> bool:
        """Whether ``other`` calls the same tool with the same arguments (ids aside)."""
        return self.name == other.name and self.arguments == other.arguments

    def is_repeated(self, calls: list[FunctionCall]) -> bool:
        """Whether an equal call is among ``calls``."""
        return any(self.equals(call) for call in calls)
