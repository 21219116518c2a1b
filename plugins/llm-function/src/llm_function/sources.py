"""Tool sources: where the tools of a runtime come from.

Every source has ``tools() -> list[Tool]`` (called once, when a runtime resolves its tools)
and ``describe() -> str``, a readable account of the source that also prefixes the origin of
each of its tools, so that a name clash says exactly where both tools came from.

- ``InMemoryToolSource``: a list of functions or ``Tool`` objects.
- ``PythonModuleToolSource``: the tools defined in an importable module.
- ``PythonFileToolSource``: the tools defined in a Python file (imported once per process).
- ``EntryPointToolSource``: the entry-point group ``llm_function.tools`` of installed
  distributions.
- ``RuntimeToolSource``: the ``tools`` section of an ``lllm`` runtime.

``resolve_tools`` gathers sources into one ``ToolRegistry``.

Selection rule for modules and files: the module-level functions marked with ``@llm_tool``
(and ``Tool`` objects) *defined* in that module (by ``__module__``), in definition order;
with ``include_unmarked=True`` also the unmarked public functions defined there whose
signature fits (one pydantic-model parameter, a pydantic-model return). An unmarked function
that does not fit is skipped silently; a marked one is an error.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llm_function.tools import TOOL_MARK, Tool, ToolRegistry

__all__ = [
    "ToolSource",
    "InMemoryToolSource",
    "PythonModuleToolSource",
    "PythonFileToolSource",
    "EntryPointToolSource",
    "RuntimeToolSource",
    "resolve_tools",
    "DEFAULT_ENTRY_POINT_GROUP",
]

#: The entry-point group third-party distributions declare tools in.
DEFAULT_ENTRY_POINT_GROUP = "llm_function.tools"


class _ImportTypeError(ImportError, TypeError):
    """A module failed to import because of a ``TypeError`` (e.g. an ``@llm_tool`` whose
    signature does not fit): both an import failure and a type error."""


# --------------------------------------------------------------------------- helpers


def _qualname(value: Any) -> str:
    target = inspect.unwrap(value.function if isinstance(value, Tool) else value)
    return (
        getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
    )


def _is_marked(value: Any) -> bool:
    # A dict, not merely a truthy attribute: objects answering every getattr (mocks,
    # proxies) must not pass for tools.
    return callable(value) and isinstance(getattr(value, TOOL_MARK, None), dict)


def _with_origin(tool: Tool, origin: str) -> Tool:
    """A copy of ``tool`` with another origin (the tool itself is left untouched)."""
    if tool.origin == origin:
        return tool
    return Tool(
        tool.name,
        tool.function,
        tool.input_model,
        tool.output_model,
        tool.description,
        origin,
        tool.parameter,
    )


def _as_tool(value: Any, origin: str) -> Tool:
    """A ``Tool`` from a ``Tool`` or a function (``TypeError`` naming it if it does not fit)."""
    if isinstance(value, Tool):
        return _with_origin(value, origin)
    if not callable(value):
        raise TypeError(f"{origin}: {value!r} is neither a function nor a Tool.")
    return Tool.from_function(value, origin=origin)


def _module_file(module: types.ModuleType) -> str | None:
    return getattr(module, "__file__", None)


def _import_failure(
    what: str, exc: BaseException, name: str | None = None, path: str | None = None
) -> ImportError:
    message = f"Cannot import {what}: {type(exc).__name__}: {exc}"
    cls = _ImportTypeError if isinstance(exc, TypeError) else ImportError
    return cls(message, name=name, path=path)


def _module_tools(
    module: types.ModuleType, include_unmarked: bool, origin_prefix: str
) -> list[Tool]:
    """The tools a module defines (see the module docstring for the rule)."""
    module_name = module.__name__
    found: list[Tool] = []
    seen: set[int] = set()
    for attribute, value in list(vars(module).items()):
        if isinstance(value, Tool):
            target = inspect.unwrap(value.function)
            if getattr(target, "__module__", None) != module_name or id(target) in seen:
                continue
            seen.add(id(target))
            found.append(_with_origin(value, f"{origin_prefix}: {_qualname(value)}"))
            continue
        marked = _is_marked(value)
        if not marked and not (
            include_unmarked and inspect.isfunction(value) and not attribute.startswith("_")
        ):
            continue
        if getattr(value, "__module__", None) != module_name:
            continue  # imported from elsewhere: that module's tool, not this one's
        target = inspect.unwrap(value)
        if id(target) in seen:
            continue
        origin = f"{origin_prefix}: {_qualname(value)}"
        try:
            tool = Tool.from_function(value, origin=origin)
        except TypeError as exc:
            if marked:
                raise TypeError(
                    f"{origin_prefix}: the @llm_tool function {_qualname(value)} does not fit: {exc}"
                ) from exc
            continue
        seen.add(id(target))
        found.append(tool)
    return found


# ---------------------------------------------------------------------------- sources


class ToolSource:
    """Where tools come from. Subclasses implement ``tools()`` and ``describe()``."""

    def tools(self) -> list[Tool]:
        """The tools of this source, each with an origin naming the source."""
        raise NotImplementedError(f"{type(self).__name__} must implement tools().")

    def describe(self) -> str:
        """A readable account of the source (it prefixes its tools' origins)."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class InMemoryToolSource(ToolSource):
    """Tools given directly: functions (marked with ``@llm_tool`` or not; any function with a
    fitting signature is accepted) or ``Tool`` objects. Origin: ``in-memory: <qualname>``."""

    def __init__(self, tools: Iterable[Any] | Any) -> None:
        if isinstance(tools, Tool) or callable(tools):
            tools = [tools]
        self._items: list[Any] = list(tools)

    def describe(self) -> str:
        """``in-memory: <qualname>, …``."""
        return "in-memory: " + (", ".join(_qualname(item) for item in self._items) or "no tools")

    def tools(self) -> list[Tool]:
        """Each item as a ``Tool`` (``TypeError`` naming a function whose signature does not fit)."""
        return [_as_tool(item, f"in-memory: {_qualname(item)}") for item in self._items]


class PythonModuleToolSource(ToolSource):
    """The tools defined in an importable module (by name or the module object itself).

    Import failure raises ``ImportError`` naming the module.
    """

    def __init__(self, module: str | types.ModuleType, include_unmarked: bool = False) -> None:
        if not isinstance(module, (str, types.ModuleType)):
            raise TypeError(
                f"PythonModuleToolSource takes a module or a module name, got {module!r}."
            )
        self.module = module
        self.include_unmarked = include_unmarked

    @property
    def module_name(self) -> str:
        """The module's dotted name."""
        return self.module if isinstance(self.module, str) else self.module.__name__

    def _import(self) -> types.ModuleType:
        if isinstance(self.module, types.ModuleType):
            return self.module
        try:
            return importlib.import_module(self.module)
        except Exception as exc:  # a module may raise anything at import
            raise _import_failure(f"tool module {self.module!r}", exc, name=self.module) from exc

    def describe(self) -> str:
        """``module <name> (<file>)`` (the file once the module is imported)."""
        module = (
            self.module
            if isinstance(self.module, types.ModuleType)
            else sys.modules.get(self.module)
        )
        file = _module_file(module) if module is not None else None
        return f"module {self.module_name}" + (f" ({file})" if file else "")

    def tools(self) -> list[Tool]:
        """The module's tools, in definition order."""
        module = self._import()
        return _module_tools(module, self.include_unmarked, self.describe())


class PythonFileToolSource(ToolSource):
    """The tools defined in a Python file.

    The file is imported once per process under a module name derived from its real path
    (``lllm._discovery.import_file``), with its folder as a package, so relative imports of
    sibling files work. A missing file raises ``FileNotFoundError``; an import failure
    ``ImportError`` naming the file.
    """

    def __init__(self, path: str | os.PathLike[str], include_unmarked: bool = False) -> None:
        self.path = Path(path)
        self.include_unmarked = include_unmarked

    def describe(self) -> str:
        """``file <absolute path>``."""
        return f"file {self.path.absolute()}"

    def _import(self) -> types.ModuleType:
        from lllm._discovery import import_file

        file = self.path.absolute()
        if not file.is_file():
            raise FileNotFoundError(f"Tool file not found: {file}")
        try:
            return import_file(file, file.parent)
        except Exception as exc:  # a file may raise anything at import
            raise _import_failure(f"tool file {file}", exc, path=str(file)) from exc

    def tools(self) -> list[Tool]:
        """The file's tools, in definition order."""
        module = self._import()
        return _module_tools(module, self.include_unmarked, self.describe())


def _entry_point_distribution(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown distribution"
    try:
        name = dist.metadata["Name"] or dist.name
    except Exception:
        name = getattr(dist, "name", None) or "?"
    version = getattr(dist, "version", None)
    return f"distribution {name}" + (f" {version}" if version else "")


class EntryPointToolSource(ToolSource):
    """Tools declared by installed distributions in an entry-point group.

    An entry point loads a function or ``Tool`` (one tool), a list or tuple of them, or a
    module (its tools by the module rule, ``include_unmarked`` applying). ``names`` keeps only
    the entry points of those names (each must exist). Entry points are read once per process
    (``lllm._plugin_manager.entry_points``). An entry point that fails to load or gives
    something that is not a tool raises (``ImportError`` / ``TypeError``) naming the entry
    point and its distribution.
    """

    def __init__(
        self,
        group: str = DEFAULT_ENTRY_POINT_GROUP,
        names: Iterable[str] | None = None,
        include_unmarked: bool = False,
    ) -> None:
        self.group = group
        self.names = None if names is None else list(names)
        self.include_unmarked = include_unmarked

    def describe(self) -> str:
        """``entry-point group <group>`` (and the selected names)."""
        selected = "" if self.names is None else f" (names: {', '.join(self.names)})"
        return f"entry-point group {self.group}{selected}"

    def _entry_points(self) -> list[Any]:
        from lllm._plugin_manager import entry_points

        found = sorted(entry_points(self.group), key=lambda ep: (ep.name, ep.value))
        if self.names is None:
            return found
        by_name: dict[str, list[Any]] = {}
        for ep in found:
            by_name.setdefault(ep.name, []).append(ep)
        missing = [name for name in self.names if name not in by_name]
        if missing:
            known = ", ".join(sorted(by_name)) or "none"
            raise LookupError(
                f"No entry point named {', '.join(map(repr, missing))} in group {self.group!r}; found: {known}."
            )
        return [ep for name in dict.fromkeys(self.names) for ep in by_name[name]]

    def tools(self) -> list[Tool]:
        """The tools of every selected entry point, in name order (or ``names`` order)."""
        tools: list[Tool] = []
        for ep in self._entry_points():
            where = f"entry point {ep.name} ({_entry_point_distribution(ep)})"
            try:
                value = ep.load()
            except Exception as exc:  # a distribution's code may raise anything
                raise _import_failure(f"{where} = {ep.value} in group {self.group!r}", exc) from exc
            try:
                tools.extend(self._tools_of(value, where))
            except TypeError as exc:
                raise TypeError(f"{where} = {ep.value} in group {self.group!r}: {exc}") from exc
        return tools

    def _tools_of(self, value: Any, where: str) -> list[Tool]:
        if isinstance(value, types.ModuleType):
            return _module_tools(value, self.include_unmarked, f"{where}, module {value.__name__}")
        if isinstance(value, (list, tuple)):
            return [_as_tool(item, f"{where}: {_qualname(item)}") for item in value]
        if (
            isinstance(value, Tool)
            or inspect.isfunction(value)
            or inspect.ismethod(value)
            or _is_marked(value)
        ):
            return [_as_tool(value, f"{where}: {_qualname(value)}")]
        raise TypeError(
            f"it loaded {value!r}, which is not a function, a Tool, a list of them or a module."
        )


class RuntimeToolSource(ToolSource):
    """The ``Tool`` values of an ``lllm`` runtime's ``tools`` section (resources of type
    ``tool``), optionally only those of one package.

    ``runtime=None`` means lllm's default runtime at the time ``tools()`` is called. Origin:
    ``lllm runtime: <qualified key> (file <path>)``.
    """

    def __init__(self, runtime: Any = None, package: str | None = None) -> None:
        self.runtime = runtime
        self.package = package

    def _runtime(self) -> Any:
        if self.runtime is not None:
            return self.runtime
        from lllm.core.runtime import get_default_runtime

        return get_default_runtime()

    def describe(self) -> str:
        """``lllm runtime <name>`` (and the package)."""
        runtime = self.runtime
        label = (
            "default" if runtime is None else (getattr(runtime, "name", None) or hex(id(runtime)))
        )
        return f"lllm runtime {label}" + (f", package {self.package}" if self.package else "")

    def tools(self) -> list[Tool]:
        """The runtime's tools, in key order (``LookupError`` if ``package`` is not loaded)."""
        runtime = self._runtime()
        prefix = None if self.package is None else f"{self.package}."
        if self.package is not None and self.package not in runtime.packages:
            known = ", ".join(sorted(runtime.packages)) or "none"
            raise LookupError(
                f"Package {self.package!r} is not loaded in {runtime!r}; loaded packages: {known}."
            )
        tools: list[Tool] = []
        for node in runtime.iter_nodes("tool"):
            if prefix is not None and not node.namespace.startswith(prefix):
                continue
            file = node.metadata.get("file_path")
            origin = f"lllm runtime: {node.qualified_key}" + (f" (file {file})" if file else "")
            value = node.value
            if not (isinstance(value, Tool) or callable(value)):
                raise TypeError(f"{origin}: a resource of type 'tool' holds {value!r}, not a Tool.")
            tools.append(_as_tool(value, origin))
        return tools


# ------------------------------------------------------------------------- resolving


def resolve_tools(
    sources: Iterable[Any] | ToolSource | None, registry: ToolRegistry | None = None
) -> ToolRegistry:
    """One ``ToolRegistry`` from ``registry``'s tools (if given) then each source in order.

    A source may also be given as a ``Tool`` or a function (taken as in-memory). Two
    different tools under one name raise ``ToolConflictError`` naming both origins; the same
    function reached twice is kept once.
    """
    resolved = ToolRegistry()
    if registry is not None:
        for tool in registry:
            resolved.add(tool)
    if sources is None:
        return resolved
    if isinstance(sources, ToolSource):
        sources = [sources]
    for source in sources:
        if not isinstance(source, ToolSource):
            if isinstance(source, Tool) or callable(source):
                source = InMemoryToolSource([source])
            else:
                raise TypeError(
                    f"Not a tool source: {source!r} (expected a ToolSource, a Tool or a function)."
                )
        for tool in source.tools():
            resolved.add(tool)
    return resolved
