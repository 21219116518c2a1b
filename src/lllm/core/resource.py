"""``ResourceNode`` (one stored resource, eager or lazy) and ``PackageInfo``."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from lllm.core.errors import ResourceLoadError

if TYPE_CHECKING:
    from pathlib import Path

_UNLOADED: Any = type("_Unloaded", (), {"__repr__": lambda self: "<unloaded>"})()
# Loaders that nodes can name instead of holding a callable, as tuples of strings (the
# garbage collector stops tracking such tuples: thousands of cached nodes cost less to create,
# to scan and to free):
#: ``(REFERENCE_LOADER, "module:function")``: a loader a section declared
#: (``SectionSpec.loaders``), called with the node.
REFERENCE_LOADER = "lllm.ref"
#: ``(PYTHON_LOADER, file, package root, attribute)``: a module-level object of a Python file.
PYTHON_LOADER = "lllm.python"
_resolved_references: dict[str, Callable[[Any], Any]] = {}


def resolve_reference(reference: str) -> Callable[[Any], Any]:
    """The function a ``"module:attribute"`` reference names, imported on first use."""
    function = _resolved_references.get(reference)
    if function is None:
        import importlib

        module_name, _, attribute = reference.partition(":")
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
        function = _resolved_references[reference] = target
    return function


def _call_named_loader(node: ResourceNode, loader: tuple[str, ...]) -> Any:
    if loader[0] == REFERENCE_LOADER:
        return resolve_reference(loader[1])(node)
    if loader[0] == PYTHON_LOADER:
        from lllm.sections.loaders import load_python_object

        return load_python_object(*loader[1:])
    raise ValueError(f"unknown loader {loader[0]!r}")


# Guards the creation of a node's load lock, so unloaded nodes carry no lock object.
_LOCK_CREATION = threading.Lock()


def validate_key(key: str) -> None:
    """Raise ``ValueError`` unless ``key`` is a valid resource path (``a/b/c``)."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"A resource key must be a non-empty string, got {key!r}.")
    if ":" in key or key[0] == "/" or key[-1] == "/" or "//" in key:
        raise ValueError(
            f"Invalid resource key {key!r}: use '/'-separated names with no ':' "
            "and no empty, leading or trailing segment."
        )


def validate_namespace(namespace: str) -> None:
    """Raise ``ValueError`` unless ``namespace`` is empty or ``<package>.<section>``-like."""
    if not isinstance(namespace, str):
        raise ValueError(f"A namespace must be a string, got {namespace!r}.")
    if ":" in namespace or "/" in namespace or namespace.startswith(".") or namespace.endswith("."):
        raise ValueError(f"Invalid namespace {namespace!r}: expected '<package>.<section>'.")


@attrs.define(slots=True, eq=False, repr=False)
class ResourceNode:
    """One resource in a runtime: a key, a namespace, a type, metadata and a value.

    The qualified key is ``"<namespace>:<key>"`` (just ``key`` when the namespace is empty).
    A lazy node calls its loader on the first read of ``value``, once even when many threads
    read at the same time; a loader that raises leaves the node unloaded, so the next read
    tries again, and the error (``ResourceLoadError``) names the qualified key and source file.
    """

    key: str
    namespace: str = ""
    resource_type: str = "resource"
    metadata: dict[str, Any] = attrs.field(factory=dict)
    qualified_key: str = attrs.field(init=False)
    _value: Any = attrs.field(default=_UNLOADED, alias="_value")
    # A callable of no arguments, or a loader tuple (``lllm.ref``/``:python``, see below).
    _loader: Callable[[], Any] | tuple[str, ...] | None = attrs.field(default=None, alias="_loader")
    _lock: threading.Lock | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        # The common valid case is checked inline (thousands of nodes per package); the
        # validators run only to raise their precise errors.
        key, namespace = self.key, self.namespace
        if (
            type(key) is not str
            or not key
            or ":" in key
            or key[0] == "/"
            or key[-1] == "/"
            or "//" in key
        ):
            validate_key(key)
        if type(namespace) is not str or (
            namespace
            and (
                ":" in namespace or "/" in namespace or namespace[0] == "." or namespace[-1] == "."
            )
        ):
            validate_namespace(namespace)
        if self._value is _UNLOADED and self._loader is None:
            raise ValueError(f"Resource {key!r} needs a value or a loader.")
        self.qualified_key = f"{namespace}:{key}" if namespace else key

    @classmethod
    def eager(
        cls,
        key: str,
        value: Any,
        namespace: str = "",
        resource_type: str = "resource",
        **metadata: Any,
    ) -> ResourceNode:
        """A node holding ``value`` already; extra keyword arguments become metadata."""
        return cls(key, namespace, resource_type, metadata, _value=value)

    @classmethod
    def lazy(
        cls,
        key: str,
        loader: Callable[[], Any],
        namespace: str = "",
        resource_type: str = "resource",
        **metadata: Any,
    ) -> ResourceNode:
        """A node whose value is ``loader()``, called on first access of ``value``."""
        if not callable(loader):
            raise TypeError(f"The loader of resource {key!r} must be callable, got {loader!r}.")
        return cls(key, namespace, resource_type, metadata, _loader=loader)

    @classmethod
    def _lazy_unchecked(
        cls, key: str, namespace: str, resource_type: str, metadata: dict[str, Any], loader: Any
    ) -> ResourceNode:
        # For builders that create thousands of nodes whose key and namespace they have
        # already validated (the index cache): skips the generated __init__, sets the slots.
        node = object.__new__(cls)
        node.key = key
        node.namespace = namespace
        node.resource_type = resource_type
        node.metadata = metadata
        node.qualified_key = f"{namespace}:{key}" if namespace else key
        node._value = _UNLOADED
        node._loader = loader
        node._lock = None
        return node

    @property
    def value(self) -> Any:
        """The resource's value, loading it first if the node is lazy and not loaded yet."""
        value = self._value
        if value is _UNLOADED:
            return self._load()
        return value

    @property
    def is_loaded(self) -> bool:
        """Whether ``value`` is available without calling a loader."""
        return self._value is not _UNLOADED

    @property
    def loader_reference(self) -> str | None:
        """For a lazy node made with a section's declared loader, not loaded yet: the
        loader's ``"module:function"`` reference; ``None`` otherwise."""
        loader = self._loader
        if self._value is _UNLOADED and isinstance(loader, tuple) and len(loader) == 2:
            if loader[0] == REFERENCE_LOADER:
                return loader[1]
        return None

    def _load(self) -> Any:
        lock = self._lock
        if lock is None:
            with _LOCK_CREATION:
                lock = self._lock
                if lock is None:
                    lock = self._lock = threading.Lock()
        with lock:
            value = self._value
            if value is not _UNLOADED:
                return value
            loader = self._loader
            assert loader is not None
            try:
                if isinstance(loader, tuple):
                    value = _call_named_loader(self, loader)
                else:
                    value = loader()
            except (ResourceLoadError, KeyboardInterrupt):
                raise
            except (
                BaseException
            ) as exc:  # SystemExit from a package file's import ends no host program
                raise ResourceLoadError(
                    self.qualified_key, self.metadata.get("file_path"), exc
                ) from exc
            self._value = value
            self._loader = None
        return value

    def aliased(self, namespace: str) -> ResourceNode:
        """The same resource under another namespace (a package alias).

        The alias shares this node's metadata and value: reading either loads the value once.
        """
        if self.is_loaded:
            return ResourceNode(
                self.key, namespace, self.resource_type, self.metadata, _value=self._value
            )
        return ResourceNode(
            self.key, namespace, self.resource_type, self.metadata, _loader=lambda: self.value
        )

    def __repr__(self) -> str:
        state = "loaded" if self.is_loaded else "lazy"
        return f"<ResourceNode {self.qualified_key} type={self.resource_type} {state}>"


def _optional_text_path(value: str | os.PathLike[str] | None) -> str | None:
    if value is None:
        return None
    text = os.fspath(value)
    if not isinstance(text, str):
        raise TypeError(f"base_dir must be a str or os.PathLike[str], got {value!r}.")
    return os.path.normpath(text)


@attrs.frozen(repr=False)
class PackageInfo:
    """What a runtime knows of one loaded package.

    ``effective_name`` is the name its resources are registered under: the alias when the
    package was loaded under one, else its own name. ``base_dir`` is given as a string or a
    ``Path``, stored normalised (``os.path.normpath``) as a string and read as a ``Path``
    (``None`` for a package registered in code).
    """

    name: str
    version: str = "0.0.0"
    description: str = ""
    # Kept as a string: loading never creates a Path, so a warm start does not import pathlib.
    _base_dir: str | None = attrs.field(
        default=None, converter=_optional_text_path, alias="base_dir"
    )
    alias: str | None = None

    @property
    def base_dir(self) -> Path | None:
        """The package's folder, or ``None``."""
        if self._base_dir is None:
            return None
        from pathlib import Path

        return Path(self._base_dir)

    @property
    def effective_name(self) -> str:
        """The alias if set, else the declared name."""
        return self.alias or self.name

    def __repr__(self) -> str:
        return (
            f"PackageInfo(name={self.name!r}, version={self.version!r}, description={self.description!r}, "
            f"base_dir={self.base_dir!r}, alias={self.alias!r})"
        )


def package_folder(info: PackageInfo) -> str | None:
    """``info.base_dir`` as the string it is stored as (no ``Path`` made: the loader's form)."""
    return info._base_dir


def __getattr__(name: str) -> Any:
    """The LLLM framework's lookups in this module (imported on first use: they need the
    runtime, which needs this module)."""
    if name in (
        "load_resource",
        "load_prompt",
        "load_tool",
        "load_tactic",
        "load_proxy",
        "load_config",
    ):
        from lllm.core import lookups

        return getattr(lookups, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
