"""Tools: typed functions (one model in, one model out) that workflows call.

A tool is a sync or async function with exactly one parameter, annotated with a pydantic
model, and a return annotation that is a pydantic model. ``llm_tool`` marks a function as a
tool (optionally renaming it); ``Tool.from_function`` inspects one.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from llm_function.errors import ToolConflictError

TOOL_MARK = "__llm_tool__"


class Tool:
    """One tool: its name, description, input and output models, and the function.

    ``origin`` says where it came from (for conflict messages); ``fingerprint`` changes when
    the tool's code, description or schemas change, which invalidates cached workflows.
    """

    __slots__ = (
        "name",
        "description",
        "input_model",
        "output_model",
        "function",
        "is_async",
        "origin",
        "fingerprint",
        "parameter",
    )

    def __init__(
        self,
        name: str,
        function: Callable[..., Any],
        input_model: type[BaseModel],
        output_model: type[BaseModel],
        description: str = "",
        origin: str = "",
        parameter: str = "inputs",
    ) -> None:
        self.name = name
        self.function = function
        self.input_model = input_model
        self.output_model = output_model
        self.description = description
        self.origin = origin or _describe_origin(function)
        self.is_async = inspect.iscoroutinefunction(function)
        self.parameter = parameter
        self.fingerprint = _fingerprint(self)

    def __repr__(self) -> str:
        return f"<Tool {self.name} ({self.input_model.__name__} -> {self.output_model.__name__}) from {self.origin}>"

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        origin: str = "",
    ) -> Tool:
        """Inspect ``function`` (one model parameter of any name, a model return) into a ``Tool``.

        Raises ``TypeError`` naming the function when its signature does not fit.
        """
        if isinstance(function, Tool):
            return function
        mark = getattr(function, TOOL_MARK, None) or {}
        target = inspect.unwrap(function)
        label = getattr(target, "__qualname__", repr(target))
        try:
            hints = typing.get_type_hints(target)
        except Exception as exc:
            raise TypeError(f"Tool {label}: cannot read its type hints ({exc}).") from exc
        parameters = [
            p
            for p in inspect.signature(target).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        if len(parameters) != 1:
            raise TypeError(
                f"Tool {label} must take exactly one parameter, annotated with a pydantic model; it takes {len(parameters)}."
            )
        parameter = parameters[0]
        input_model = hints.get(parameter.name)
        output_model = hints.get("return")
        if not (isinstance(input_model, type) and issubclass(input_model, BaseModel)):
            raise TypeError(
                f"Tool {label}: parameter {parameter.name!r} must be annotated with a pydantic model, got {input_model!r}."
            )
        if not (isinstance(output_model, type) and issubclass(output_model, BaseModel)):
            raise TypeError(
                f"Tool {label}: the return annotation must be a pydantic model, got {output_model!r}."
            )
        doc = inspect.getdoc(target) or ""
        return cls(
            name or mark.get("name") or target.__name__,
            function,
            input_model,
            output_model,
            description if description is not None else (mark.get("description") or doc),
            origin,
            parameter.name,
        )

    @property
    def defined_in_module(self) -> str | None:
        """The module that defines the tool's function (lets lllm's sections place ``Tool`` objects)."""
        return getattr(inspect.unwrap(self.function), "__module__", None)

    async def call(self, arguments: Any) -> BaseModel:
        """Call the tool with an instance of its input model (other data is validated into one
        first); validate and return its output."""
        if not isinstance(arguments, self.input_model):
            if isinstance(arguments, BaseModel):
                arguments = arguments.model_dump()
            arguments = self.input_model.model_validate(arguments)
        if self.is_async:
            result = await self.function(arguments)
        else:
            result = self.function(arguments)
        if isinstance(result, self.output_model):
            return result
        return self.output_model.model_validate(result)

    def describe(self) -> dict[str, Any]:
        """Name, description and JSON schemas, as shown to planners."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_model.model_json_schema(),
            "output_schema": self.output_model.model_json_schema(),
        }


def _describe_origin(function: Callable[..., Any]) -> str:
    target = inspect.unwrap(function)
    module = getattr(target, "__module__", "?")
    qualname = getattr(target, "__qualname__", repr(target))
    try:
        file = inspect.getsourcefile(target)
    except TypeError:
        file = None
    return f"{module}.{qualname}" + (f" ({file})" if file else "")


def _code_text(function: Callable[..., Any]) -> str:
    """The function's source, or (no source: a ``.pyc``-only install) a digest of its code
    objects that is the same in every process."""
    target = inspect.unwrap(function)
    try:
        return inspect.getsource(target)
    except (OSError, TypeError):
        pass
    code = getattr(target, "__code__", None)
    if code is None:  # a callable object: its class's __call__
        call = vars(type(target)).get("__call__")
        code = getattr(call, "__code__", None)
    if code is None:
        return f"{type(target).__module__}.{type(target).__qualname__}"
    return json.dumps(_code_digest(code), sort_keys=True)


def _code_digest(code: types.CodeType) -> dict[str, Any]:
    """What a code object does, recursively, without memory addresses or line numbers."""
    return {
        "name": getattr(code, "co_qualname", code.co_name),
        "arguments": [code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount],
        "flags": code.co_flags,
        "bytecode": code.co_code.hex(),
        "names": list(code.co_names),
        "variables": list(code.co_varnames),
        "free": list(code.co_freevars),
        "cells": list(code.co_cellvars),
        "constants": [_constant(value) for value in code.co_consts],
    }


def _constant(value: Any) -> Any:
    if isinstance(value, types.CodeType):
        return {"code": _code_digest(value)}
    if isinstance(value, tuple):
        return {"tuple": [_constant(item) for item in value]}
    if isinstance(value, frozenset):  # its iteration order varies with the hash seed
        return {"frozenset": sorted(json.dumps(_constant(item)) for item in value)}
    return repr(value)  # str, bytes, numbers, None, Ellipsis: no addresses


def _fingerprint(tool: Tool) -> str:
    payload = json.dumps(
        {
            "name": tool.name,
            "description": tool.description,
            "input": tool.input_model.model_json_schema(),
            "output": tool.output_model.model_json_schema(),
            "code": _code_text(tool.function),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def llm_tool(
    function: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
) -> Any:
    """Mark a function as a tool (``@llm_tool`` or ``@llm_tool(name=..., description=...)``).

    The function is returned unchanged apart from the mark, and still callable directly.
    Its signature is checked at once (``TypeError`` if it does not fit).
    """

    def mark(target: Callable[..., Any]) -> Callable[..., Any]:
        Tool.from_function(target, name=name, description=description)
        setattr(target, TOOL_MARK, {"name": name, "description": description})
        return target

    return mark if function is None else mark(function)


def is_tool(value: Any) -> bool:
    """Whether ``value`` is a ``Tool`` or a function marked with ``llm_tool``."""
    return isinstance(value, Tool) or (
        callable(value) and getattr(value, TOOL_MARK, None) is not None
    )


class ToolRegistry:
    """Tools by name. Adding a different tool under a name already taken raises
    ``ToolConflictError`` naming both origins; adding the same function again is a no-op."""

    def __init__(self, tools: list[Any] | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        #: Grows whenever a tool is added: lets caches skip re-checking fingerprints.
        self.version = 0
        for tool in tools or ():
            self.add(tool)

    def add(self, tool: Any, *, origin: str = "") -> Tool:
        """Add a ``Tool`` or a tool function; returns the ``Tool``."""
        tool = tool if isinstance(tool, Tool) else Tool.from_function(tool, origin=origin)
        existing = self._tools.get(tool.name)
        if existing is not None:
            if inspect.unwrap(existing.function) is inspect.unwrap(tool.function):
                return existing
            raise ToolConflictError(
                f"Two tools are named {tool.name!r}: {existing.origin} and {tool.origin}."
            )
        self._tools[tool.name] = tool
        self.version += 1
        return tool

    def extend(self, tools: list[Any]) -> None:
        """Add several tools."""
        for tool in tools:
            self.add(tool)

    def get(self, name: str) -> Tool:
        """The tool ``name`` (``KeyError`` listing the known names when absent)."""
        try:
            return self._tools[name]
        except KeyError:
            raise KeyError(
                f"No tool named {name!r}; known tools: {', '.join(sorted(self._tools)) or 'none'}."
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        """Sorted tool names."""
        return sorted(self._tools)
