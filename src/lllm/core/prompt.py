"""``Prompt`` (a ``str.format`` template with a path) and what LLLM framework prompt files use
with it: parsers, renderers, handlers and the tool descriptions ``Function``/``tool``/``MCP``.

Creating any of these objects registers nothing: the ``prompts`` section finds module-level
``Prompt`` objects when it walks a package.

lllm is a registry: it stores what a prompt says about its output (``parser``, ``format``), its
tools (``function_list``, ``mcp_servers_list``) and its provider options (``addon_args``) for an
agent layer built on top of it, and never calls a model, runs a tool or connects to an MCP
server itself.
"""

from __future__ import annotations

import abc
import functools
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

import attrs

from lllm.core.const import FunctionCall, Invokers, ParseError
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

_F = TypeVar("_F", bound=Callable[..., Any])


# ------------------------------------------------------------------------------------ parsers


def _tags(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tag for group in groups for tag in group))


@functools.lru_cache(maxsize=256)
def _tag_pattern(kind: str, tag: str) -> Any:
    import re

    escaped = re.escape(tag)
    if kind == "xml":
        return re.compile(f"<{escaped}>(.*?)</{escaped}>", re.DOTALL)
    # A fenced block opened by ```tag; the lookahead keeps ```python from matching tag "py".
    return re.compile(f"```{escaped}(?![\\w.+-])(.*?)```", re.DOTALL)


class BaseParser(abc.ABC):
    """What a ``Prompt``'s ``parser`` is: an object whose ``parse`` turns a model's answer into
    a result (a dict for the framework's parsers) or raises ``ParseError``."""

    __slots__ = ()

    @abc.abstractmethod
    def parse(self, content: str, **runtime_args: Any) -> Any:
        """Parse ``content``; ``runtime_args`` are whatever the caller passes along."""


def _subclass_fields(cls: type) -> frozenset[str]:
    """The names the subclasses of ``DefaultTagParser`` between ``cls`` and it annotate."""
    import inspect

    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is DefaultTagParser:
            break
        for name, annotation in inspect.get_annotations(klass).items():
            if "ClassVar" not in str(annotation):
                names.add(name)
    return frozenset(names)


@attrs.define(slots=True, init=False)
class DefaultTagParser(BaseParser):
    """Extract ``<tag>…</tag>`` blocks, fenced ```` ```tag ```` blocks and ``<SIGNAL>`` flags.

    ``parse`` returns ``{"raw", "xml_tags", "md_tags", "signal_tags"}``; each tag in
    ``xml_tags`` / ``md_tags`` maps to the stripped contents of all its blocks, in order, and
    each signal tag maps to whether the literal ``<TAG>`` occurs. Required tags are extracted
    even if not listed in ``xml_tags`` / ``md_tags``; one with no block raises ``ParseError``.

    Each tag argument is a tag or an iterable of tags (kept as a tuple). ``parser_args`` is a
    dict of settings for subclasses; other keyword arguments are kept too: one that a
    subclass declares with an annotation (``threshold: float = 0.5``) becomes that attribute,
    any other goes into ``parser_args``.
    """

    xml_tags: tuple[str, ...] = attrs.field(converter=_tags)
    md_tags: tuple[str, ...] = attrs.field(converter=_tags)
    signal_tags: tuple[str, ...] = attrs.field(converter=_tags)
    required_xml_tags: tuple[str, ...] = attrs.field(converter=_tags)
    required_md_tags: tuple[str, ...] = attrs.field(converter=_tags)
    parser_args: dict[str, Any] = attrs.field(converter=dict)

    def __init__(
        self,
        xml_tags: Iterable[str] | str = (),
        md_tags: Iterable[str] | str = (),
        signal_tags: Iterable[str] | str = (),
        required_xml_tags: Iterable[str] | str = (),
        required_md_tags: Iterable[str] | str = (),
        parser_args: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        declared = _subclass_fields(type(self)) if extra else frozenset()
        own = {name: extra.pop(name) for name in list(extra) if name in declared}
        self.__attrs_init__(
            xml_tags,
            md_tags,
            signal_tags,
            required_xml_tags,
            required_md_tags,
            {**(parser_args or {}), **extra},
        )
        for name, value in own.items():
            setattr(self, name, value)

    def parse(self, content: str, **runtime_args: Any) -> dict[str, Any]:
        """Parse ``content``; raise ``ParseError`` naming every required tag that has no block.

        ``runtime_args`` are accepted for subclasses and ignored here.
        """
        xml = {
            tag: [m.strip() for m in _tag_pattern("xml", tag).findall(content)]
            for tag in _union(self.xml_tags, self.required_xml_tags)
        }
        md = {
            tag: [m.strip() for m in _tag_pattern("md", tag).findall(content)]
            for tag in _union(self.md_tags, self.required_md_tags)
        }
        missing_xml = [tag for tag in self.required_xml_tags if not xml[tag]]
        missing_md = [tag for tag in self.required_md_tags if not md[tag]]
        if missing_xml or missing_md:
            described = [f"<{tag}>...</{tag}>" for tag in missing_xml]
            described += [f"```{tag} ... ``` block" for tag in missing_md]
            raise ParseError(
                "The response is missing required tags: " + ", ".join(described),
                (*missing_xml, *missing_md),
            )
        return {
            "raw": content,
            "xml_tags": xml,
            "md_tags": md,
            "signal_tags": {tag: f"<{tag}>" in content for tag in self.signal_tags},
        }


# ---------------------------------------------------------------------------------- rendering


def _template_fields(text: str) -> tuple[str, ...]:
    """The top-level ``str.format`` field names of ``text``; ``()`` if it is not a template."""
    import string

    formatter = string.Formatter()
    names: dict[str, None] = {}
    pending = [text]
    try:
        while pending:
            # Fields nested in a format spec ("{x:{width}}") are template variables too.
            for _, field, spec, _ in formatter.parse(pending.pop(0)):
                if field is None:
                    continue
                name = field.partition(".")[0].partition("[")[0]
                if not name.isidentifier():
                    return ()
                names.setdefault(name, None)
                if spec and "{" in spec:
                    pending.append(spec)
    except ValueError:
        return ()
    return tuple(names)


def _format(text: str, names: tuple[str, ...], values: Mapping[str, Any], owner: str) -> str:
    if not names:
        return text
    missing = sorted(name for name in names if name not in values)
    if missing:
        raise ValueError(f"{owner} is missing values for: {', '.join(missing)}.")
    return text.format(**values)


class BaseRenderer(abc.ABC):
    """What a ``Prompt``'s ``renderer`` is: ``render(template, **values)`` returns the text.

    Subclass it to use another template engine; calling the prompt calls ``render``.
    """

    __slots__ = ()

    @abc.abstractmethod
    def render(self, prompt: str, **kwargs: Any) -> str:
        """The text of the template ``prompt`` filled in with ``kwargs``."""


class StringFormatterRenderer(BaseRenderer):
    """The default renderer: ``str.format``, with lllm's rules.

    Missing values raise ``ValueError`` listing them all; extra values are ignored; a text
    that is not a template of named fields (no fields, ``{}``/``{0}``, unparsable braces such
    as JSON) is returned unchanged.
    """

    __slots__ = ()

    def render(self, prompt: str, **kwargs: Any) -> str:
        """Render ``prompt`` with ``kwargs`` by the rules above."""
        return _format(prompt, _template_fields(prompt), kwargs, "The template")

    def __repr__(self) -> str:
        return "StringFormatterRenderer()"


_STRING_FORMATTER = StringFormatterRenderer()


def _renderer(value: Any) -> Any:
    return _STRING_FORMATTER if value is None else value


# ----------------------------------------------------------------------------------- handlers


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


@attrs.define(slots=True)
class DefaultSimpleHandler:
    """The messages sent back to a model after an error or between rounds of function calls.

    Each template is a ``str.format`` string: ``exception_msg`` takes ``{error_message}``,
    ``interrupt_msg`` takes ``{call_results}``, ``interrupt_final_msg`` takes nothing.
    """

    exception_msg: str = "Error: {error_message}. Please fix the problem and answer again."
    interrupt_msg: str = (
        "Here are the results of your function calls:\n{call_results}\n"
        "Continue your task; call more functions if you need to."
    )
    interrupt_final_msg: str = (
        "You have made all the function calls you can. Give your final answer now."
    )

    def on_exception(self, error_message: str) -> str:
        """The message asking the model to fix the error described by ``error_message``."""
        return self.exception_msg.format(error_message=error_message)

    def on_interrupt(self, call_results: str) -> str:
        """The message returning ``call_results`` to the model."""
        return self.interrupt_msg.format(call_results=call_results)

    def on_interrupt_final(self) -> str:
        """The message telling the model to stop calling functions and answer."""
        return self.interrupt_final_msg.format()


class AgentException(Exception):
    """An error inside an agent call (the framework's agent loop raises it); ``message`` and
    ``detail`` are kept as given."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


def _total(records: Mapping[Any, list[Any]]) -> int:
    return sum(len(items) for items in records.values())


@attrs.define(slots=True)
class AgentCallState:
    """The record of one agent call that the framework hands to handlers: its limits and what
    happened at each step (``exception_retries``, ``interrupts`` and ``llm_recalls`` map a
    step to a list). lllm runs no agent calls; handler code that reads one type-checks and
    can be tested with a state it builds."""

    agent_name: str
    max_exception_retry: int
    max_interrupt_steps: int
    max_llm_recall: int
    exception_retries: dict[Any, list[Any]] = attrs.field(factory=dict)
    interrupts: dict[Any, list[Any]] = attrs.field(factory=dict)
    llm_recalls: dict[Any, list[Any]] = attrs.field(factory=dict)
    state: str = "initial"

    @property
    def exception_retries_count(self) -> int:
        """How many exceptions were recorded, over all steps."""
        return _total(self.exception_retries)

    @property
    def llm_recalls_count(self) -> int:
        """How many model recalls were recorded, over all steps."""
        return _total(self.llm_recalls)

    @property
    def reach_max_exception_retry(self) -> bool:
        """Whether the exception budget is spent."""
        return self.exception_retries_count >= self.max_exception_retry

    @property
    def reach_max_llm_recall(self) -> bool:
        """Whether the recall budget is spent."""
        return self.llm_recalls_count >= self.max_llm_recall

    @property
    def reach_max_interrupt_steps(self) -> bool:
        """Whether as many tool-call steps as allowed were taken."""
        return len(self.interrupts) >= self.max_interrupt_steps


#: The name later framework versions give ``AgentCallState``.
AgentCallSession = AgentCallState


# -------------------------------------------------------------------------------------- tools


def default_function_call_processor(result: Any, function_call: FunctionCall) -> str:
    """The text a tool's result is returned to the model as, unless a tool sets its own."""
    return (
        f"Return of calling function {function_call.name} with arguments "
        f"{function_call.arguments}:\n---\n{result}\n---\n"
    )


def _as_list(value: Iterable[Any] | None) -> list[Any]:
    return [] if value is None else list(value)


def _non_empty_name(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"{type(instance).__name__}.{attribute.name} must be a non-empty str, got {value!r}."
        )


_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    tuple: "array",
    set: "array",
    dict: "object",
}
_JSON_TYPE_NAMES = {getattr(kind, "__name__", ""): name for kind, name in _JSON_TYPES.items()}


def _json_type(hint: Any) -> str:
    """The JSON Schema type of a parameter annotated ``hint`` (``"string"`` when unknown)."""
    import types
    import typing

    if isinstance(hint, str):  # an annotation that could not be evaluated
        return _JSON_TYPE_NAMES.get(hint.partition("[")[0].strip(), "string")
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _json_type(options[0]) if len(options) == 1 else "string"
    return _JSON_TYPES.get(origin if origin is not None else hint, "string")


def _parameters_of(
    fn: Callable[..., Any], descriptions: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    import inspect
    import typing

    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # forward references that do not resolve: keep the annotations' text
        hints = dict(getattr(fn, "__annotations__", {}) or {})
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, parameter in inspect.signature(fn).parameters.items():
        if name in ("self", "cls") or parameter.kind in (
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
        ):
            continue
        schema: dict[str, Any] = {"type": _json_type(hints.get(name, str))}
        text = descriptions.get(name, "")
        if parameter.default is parameter.empty:
            required.append(name)
        else:
            text = f"{text} (default: {parameter.default!r})".strip()
        if text:
            schema["description"] = text
        properties[name] = schema
    return properties, required


@attrs.define(slots=True)
class Function:
    """A tool a prompt offers the model: its schema and, once linked, the callable behind it.

    ``name``, ``description``, ``properties`` (JSON Schema of each parameter), ``required``,
    ``additional_properties`` and ``strict`` describe the tool to the model; ``function`` is
    the Python callable that implements it (``None`` for a declaration whose implementation
    lives elsewhere) and ``processor(result, function_call)`` turns a result into the text
    returned to the model. lllm stores tools for the agent layer: it never calls a model
    and never runs ``function``.
    """

    name: str = attrs.field(validator=_non_empty_name)
    description: str = ""
    properties: dict[str, Any] = attrs.field(factory=dict, converter=dict)
    required: list[str] = attrs.field(factory=list, converter=_as_list)
    additional_properties: bool = False
    strict: bool = True
    function: Callable[..., Any] | None = None
    processor: Callable[[Any, FunctionCall], str] = default_function_call_processor

    def link_function(self, fn: Callable[..., Any]) -> None:
        """Attach ``fn`` as the implementation of this tool."""
        self.function = fn

    @property
    def linked(self) -> bool:
        """Whether an implementation is attached."""
        return self.function is not None

    @property
    def defined_in_module(self) -> str | None:
        """The module of the implementing function (where ``@tool`` made this tool), or
        ``None``: discovery registers a tool in the file that defines its function."""
        module = getattr(self.function, "__module__", None)
        return module if isinstance(module, str) else None

    def to_tool(self, invoker: Invokers | str = Invokers.LITELLM) -> dict[str, Any]:
        """The tool's description in the function-calling format model APIs take.

        Both invokers the framework names (``litellm``, ``openai``) use this one format.
        """
        Invokers(invoker)  # an unknown invoker is a ValueError
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": {
                    "type": "object",
                    "properties": self.properties,
                    "required": self.required,
                    "additionalProperties": self.additional_properties,
                },
                "strict": self.strict,
            },
        }

    @classmethod
    def from_callable(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        prop_desc: Mapping[str, str] | None = None,
        strict: bool = True,
        processor: Callable[[Any, FunctionCall], str] = default_function_call_processor,
    ) -> Function:
        """A ``Function`` describing ``fn`` and linked to it.

        The name defaults to ``fn.__name__`` and the description to its docstring. Each
        parameter (but ``self``, ``cls``, ``*args`` and ``**kwargs``) becomes a property
        whose JSON type comes from its annotation (``str`` → ``string``, ``int`` →
        ``integer``, ``float`` → ``number``, ``bool`` → ``boolean``, lists, tuples and sets →
        ``array``, dicts → ``object``, ``Optional[X]`` as ``X``, anything else ``string``),
        described by ``prop_desc`` and its default; parameters without a default are required.
        """
        import inspect

        properties, required = _parameters_of(fn, prop_desc or {})
        title: str = name or str(getattr(fn, "__name__", ""))
        text: str = description or inspect.getdoc(fn) or title
        return cls(
            name=title,
            description=text,
            properties=properties,
            required=required,
            strict=strict,
            function=fn,
            processor=processor,
        )


@overload
def tool(description: _F, /) -> Function: ...


@overload
def tool(
    description: str | None = None,
    prop_desc: Mapping[str, str] | None = None,
    *,
    name: str | None = None,
    strict: bool = True,
    processor: Callable[[Any, FunctionCall], str] = default_function_call_processor,
) -> Callable[[Callable[..., Any]], Function]: ...


def tool(
    description: Any = None,
    prop_desc: Mapping[str, str] | None = None,
    *,
    name: str | None = None,
    strict: bool = True,
    processor: Callable[[Any, FunctionCall], str] = default_function_call_processor,
) -> Any:
    """Decorate a function to make it a ``Function`` (see ``Function.from_callable``).

    ``@tool(description=..., prop_desc={param: text}, name=..., strict=..., processor=...)``;
    a bare ``@tool`` works too. The decorated name is then the ``Function``, linked to the
    original function.
    """
    if callable(description):
        return Function.from_callable(description, strict=strict, processor=processor)

    def decorate(fn: Callable[..., Any]) -> Function:
        return Function.from_callable(
            fn,
            name=name,
            description=description,
            prop_desc=prop_desc,
            strict=strict,
            processor=processor,
        )

    return decorate


_APPROVALS = ("never", "manual", "auto")


def _approval(instance: Any, attribute: Any, value: Any) -> None:
    if value not in _APPROVALS:
        raise ValueError(f"MCP.require_approval must be one of {_APPROVALS}, got {value!r}.")


def _optional_list(value: Any) -> list[str] | None:
    return None if value is None else list(value)


@attrs.define(slots=True)
class MCP:
    """An MCP server a prompt lets the model use: ``server_label``, ``server_url``,
    ``require_approval`` (``"never"``, ``"manual"`` or ``"auto"``) and ``allowed_tools``
    (``None`` for all). lllm stores it for the agent layer and connects to nothing."""

    server_label: str = attrs.field(validator=_non_empty_name)
    server_url: str
    require_approval: str = attrs.field(default="never", validator=_approval)
    allowed_tools: list[str] | None = attrs.field(default=None, converter=_optional_list)

    def to_tool(self, invoker: Invokers | str = Invokers.LITELLM) -> dict[str, Any]:
        """The server's description in the tool format model APIs take."""
        Invokers(invoker)
        described: dict[str, Any] = {
            "type": "mcp",
            "server_label": self.server_label,
            "server_url": self.server_url,
            "require_approval": self.require_approval,
        }
        if self.allowed_tools:
            described["allowed_tools"] = list(self.allowed_tools)
        return described


# ------------------------------------------------------------------------------------- Prompt


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


def register_prompt(prompt: Prompt, overwrite: bool = True) -> ResourceNode:
    """Register ``prompt`` in the default runtime under its bare ``path`` (the framework's
    manual registration); with ``overwrite=False`` a taken key raises ``ValueError``."""
    from lllm.core.runtime import get_default_runtime

    return get_default_runtime().register_prompt(prompt, overwrite)
