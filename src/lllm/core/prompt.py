"""``Prompt`` (a ``str.format`` template with a path) and what LLLM framework prompt files use
with it: parsers, renderers, handlers and the tool descriptions ``Function``/``tool``/``MCP``.

Creating any of these objects registers nothing: the ``prompts`` section finds module-level
``Prompt`` objects when it walks a package.

lllm is a registry: it stores what a prompt says about its output (``parser``, ``format``), its
tools (``function_list``, ``mcp_servers_list``) and its provider options (``addon_args``) for an
agent layer built on top of it, and never calls a model, runs a tool or connects to an MCP
server itself.

This module defines ``Prompt``, ``BaseHandler`` (whose methods take and return a ``Prompt``) and
``register_prompt``; the rest lives in private modules and is re-exported here, the import path
the framework documents: parsers in ``lllm.core._parsers``, renderers in
``lllm.core._rendering``, ``DefaultSimpleHandler`` and the agent-call records in
``lllm.core._handlers``, tool declarations in ``lllm.core._tool_declarations``, and
``ParseError`` / ``FunctionCall`` in ``lllm.core.const``.
"""

from __future__ import annotations

import abc
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from lllm.core._handlers import (
    AgentCallSession,
    AgentCallState,
    AgentException,
    DefaultSimpleHandler,
)
from lllm.core._parsers import BaseParser, DefaultTagParser
from lllm.core._rendering import (
    BaseRenderer,
    StringFormatterRenderer,
    _format,
    _renderer,
    _template_fields,
)
from lllm.core._tool_declarations import (
    MCP,
    Function,
    _as_list,
    default_function_call_processor,
    tool,
)
from lllm.core.const import FunctionCall, ParseError
from lllm.core.resource import validate_key

if TYPE_CHECKING:
    from lllm.core.resource import ResourceNode

__all__ = [
    "AgentCallSession",
    "AgentCallState",
    "AgentException",
    "BaseHandler",
    "BaseParser",
    "BaseRenderer",
    "DefaultSimpleHandler",
    "DefaultTagParser",
    "Function",
    "FunctionCall",
    "MCP",
    "ParseError",
    "Prompt",
    "StringFormatterRenderer",
    "default_function_call_processor",
    "register_prompt",
    "tool",
]


def _metadata(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return {} if value is None else dict(value)


def _creating_module() -> str | None:
    """The ``__name__`` of the module whose top-level code is running, seen from the caller."""
    frame: Any = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            return frame.f_globals.get("__name__")
        frame = frame.f_back
    return None


def _tool_entry(path: str, item: Any) -> Function | str:
    if isinstance(item, (Function, str)):
        return item
    if isinstance(item, Mapping):
        return Function(**item)
    raise TypeError(
        f"Prompt {path!r}: function_list holds Function objects (see @tool) or resource "
        f"keys, got {type(item).__name__} {item!r}."
    )


def _mcp_entry(path: str, item: Any) -> MCP:
    if isinstance(item, MCP):
        return item
    if isinstance(item, Mapping):
        return MCP(**item)
    raise TypeError(
        f"Prompt {path!r}: mcp_servers_list holds MCP objects, got {type(item).__name__} {item!r}."
    )


@attrs.frozen(slots=True, eq=False, repr=False)
class Prompt:
    """A prompt template stored under ``path``, with what an agent needs to use it.

    ``prompt`` is the template; calling the prompt renders it with ``renderer`` (by default
    ``str.format``: ``{{`` and ``}}`` are literal braces, and a text whose fields are not all
    named — ``{}``, ``{0}`` — or cannot be parsed — a lone ``}``, JSON — is not a template: it
    has no ``template_vars`` and renders unchanged). The rest is stored for the agent layer:
    ``parser`` (how to read an answer), ``format`` (a class — e.g. a pydantic model — or a JSON
    schema for structured output), ``function_list`` (``Function`` objects or resource keys
    of tools), ``mcp_servers_list`` (``MCP`` objects), ``addon_args`` (provider options such
    as ``{"web_search": True}``), ``handler`` and ``metadata``. Prompts compare by identity.
    """

    path: str
    prompt: str
    metadata: dict[str, Any] = attrs.field(factory=dict, converter=_metadata)
    parser: Any = None
    handler: Any = None
    format: Any = None
    function_list: list[Function | str] = attrs.field(factory=list, converter=_as_list)
    mcp_servers_list: list[MCP] = attrs.field(factory=list, converter=_as_list)
    addon_args: dict[str, Any] = attrs.field(factory=dict, converter=_metadata)
    renderer: Any = attrs.field(default=None, converter=_renderer)
    _ordered_vars: tuple[str, ...] | None = attrs.field(default=None, init=False)
    _defined_in_module: str | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        validate_key(self.path)
        # Prompt objects have no __module__: record the module being executed, which is how
        # the prompts section tells a prompt defined in a file from one imported into it.
        object.__setattr__(self, "_defined_in_module", _creating_module())
        if not isinstance(self.prompt, str):
            raise TypeError(
                f"The text of prompt {self.path!r} must be a str, got {type(self.prompt).__name__}."
            )
        if not callable(getattr(self.renderer, "render", None)):
            raise TypeError(
                f"The renderer of prompt {self.path!r} needs a render(prompt, **values) "
                f"method, got {self.renderer!r}."
            )
        self.function_list[:] = [_tool_entry(self.path, item) for item in self.function_list]
        self.mcp_servers_list[:] = [_mcp_entry(self.path, item) for item in self.mcp_servers_list]

    @property
    def defined_in_module(self) -> str | None:
        """The name of the module whose top-level code created this prompt (``None`` if none).

        A prompt built by a function called at a module's top level belongs to that module;
        ``extend`` makes a prompt that belongs to the module calling it.
        """
        return self._defined_in_module

    # -- template ------------------------------------------------------------------------

    @property
    def ordered_template_vars(self) -> tuple[str, ...]:
        """The distinct top-level ``str.format`` field names, in order of first appearance."""
        names = self._ordered_vars
        if names is None:
            names = _template_fields(self.prompt)
            object.__setattr__(self, "_ordered_vars", names)
        return names

    @property
    def template_vars(self) -> set[str]:
        """The set of top-level ``str.format`` field names (a new set at each access)."""
        return set(self.ordered_template_vars)

    def validate_args(self, args: Mapping[str, Any] | None = None) -> list[str]:
        """The template variables ``args`` gives no value for, in order of first appearance."""
        given = args or {}
        return [name for name in self.ordered_template_vars if name not in given]

    def __call__(self, **values: Any) -> str:
        """Render the template with ``values`` through ``renderer``.

        With the default renderer extra values are ignored and a missing one raises
        ``ValueError`` listing every variable without a value.
        """
        renderer = self.renderer
        if type(renderer).render is StringFormatterRenderer.render:
            return _format(self.prompt, self.ordered_template_vars, values, f"Prompt {self.path!r}")
        result: str = renderer.render(self.prompt, **values)
        return result

    # -- answers -------------------------------------------------------------------------

    def parse(self, content: str, **runtime_args: Any) -> Any:
        """Parse a model's answer: ``{"raw": content}`` without a parser, else the parser's
        result, with ``"raw": content`` added to a dict that lacks it.

        ``runtime_args`` are passed on to ``parser.parse`` (and only when given, so a parser
        whose ``parse`` takes the text alone works).
        """
        if self.parser is None:
            return {"raw": content}
        if runtime_args:
            result = self.parser.parse(content, **runtime_args)
        else:
            result = self.parser.parse(content)
        if isinstance(result, dict) and "raw" not in result:
            result = {**result, "raw": content}
        return result

    # -- tools and provider options ------------------------------------------------------

    @property
    def functions(self) -> dict[str, Function]:
        """The ``Function`` objects of ``function_list`` by name (resource keys left out)."""
        return {item.name: item for item in self.function_list if isinstance(item, Function)}

    @property
    def mcp_servers(self) -> dict[str, MCP]:
        """The servers of ``mcp_servers_list`` by ``server_label``."""
        return {server.server_label: server for server in self.mcp_servers_list}

    def get_function(self, name: str) -> Function:
        """The ``Function`` called ``name``; ``KeyError`` naming those there are if none."""
        functions = self.functions
        if name not in functions:
            raise KeyError(
                f"Prompt {self.path!r} declares no function {name!r}; it has: "
                f"{', '.join(sorted(functions)) or '(none)'}."
            )
        return functions[name]

    def link_function(self, name: str, fn: Callable[..., Any]) -> None:
        """Attach ``fn`` as the implementation of the declared function ``name``."""
        self.get_function(name).link_function(fn)

    @property
    def allow_web_search(self) -> bool:
        """Whether ``addon_args`` turns web search on (``"web_search"``)."""
        return bool(self.addon_args.get("web_search", False))

    @property
    def computer_use_config(self) -> dict[str, Any]:
        """The ``"computer_use"`` settings of ``addon_args`` (``{}`` if none)."""
        config: dict[str, Any] = self.addon_args.get("computer_use") or {}
        return config

    # -- composition and tracking --------------------------------------------------------

    def extend(self, **changes: Any) -> Prompt:
        """A new prompt with ``changes`` applied; a given ``metadata`` is merged over the old.

        Fields not given are shared with this prompt (the lists are copied).
        """
        if "metadata" in changes:
            changes["metadata"] = {**self.metadata, **_metadata(changes["metadata"])}
        return attrs.evolve(self, **changes)

    def info_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for experiment tracking: the path, ``prompt_hash`` (the first
        12 hex digits of the template's SHA-256, so template changes show), metadata, tool
        and server names, ``addon_args``, and whether a parser and a format are set."""
        import hashlib

        return {
            "path": self.path,
            "prompt_hash": hashlib.sha256(self.prompt.encode("utf-8")).hexdigest()[:12],
            "metadata": self.metadata,
            "functions": [
                item.name if isinstance(item, Function) else item for item in self.function_list
            ],
            "mcp_servers": [server.server_label for server in self.mcp_servers_list],
            "addon_args": self.addon_args,
            "has_parser": self.parser is not None,
            "has_format": self.format is not None,
        }

    def __repr__(self) -> str:
        text = self.prompt if len(self.prompt) <= 40 else self.prompt[:40] + "..."
        return f"<Prompt {self.path!r}: {text!r}>"


# BaseHandler's methods take and return a Prompt: it is defined here, beside Prompt, so
# its annotations resolve at runtime (typing.get_type_hints) without an import cycle.
class BaseHandler(abc.ABC):
    """What the framework's agent loop asks, through a prompt's ``handler``, for the prompt to
    send after a failed parse (``on_exception``), after tool calls (``on_interrupt``) and when
    the tool-call budget is spent (``on_interrupt_final``). lllm stores handlers and calls
    none of these: subclasses are for the agent layer."""

    @abc.abstractmethod
    def on_exception(self, prompt: Prompt, call_state: Any) -> Prompt:
        """The prompt to send after ``prompt``'s answer failed to parse."""

    @abc.abstractmethod
    def on_interrupt(self, prompt: Prompt, call_state: Any) -> Prompt:
        """The prompt that returns tool results to the model."""

    @abc.abstractmethod
    def on_interrupt_final(self, prompt: Prompt, call_state: Any) -> Prompt:
        """The prompt that asks for a final answer once no more tool calls are allowed."""


def register_prompt(prompt: Prompt, overwrite: bool = True) -> ResourceNode:
    """Register ``prompt`` in the default runtime under its bare ``path`` (the framework's
    manual registration); with ``overwrite=False`` a taken key raises ``ValueError``."""
    from lllm.core.runtime import get_default_runtime

    return get_default_runtime().register_prompt(prompt, overwrite)
