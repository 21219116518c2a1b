"""The tools a ``Prompt`` declares: ``Function`` (a tool's schema, linked to the callable
behind it), the ``tool`` decorator that builds one from a function, ``MCP`` (an MCP server)
and ``default_function_call_processor``. lllm stores them for the agent layer: it never runs
a tool or connects to a server.

Public names are imported from ``lllm.core.prompt``, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, overload

import attrs

from lllm.core.const import FunctionCall, Invokers

__all__ = ["MCP", "Function", "default_function_call_processor", "tool"]

_F = TypeVar("_F", bound=Callable[..., Any])


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
