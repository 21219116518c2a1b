"""The ``Runtime``: one store of ``ResourceNode`` objects and the resolution of keys.

A runtime knows nothing of files, manifests or plugins. It stores each resource once under
its qualified key (``<package>.<section>:<path>``), keeps an index by resource type, and
resolves short keys at read time (see ``Runtime.get``). Reads take no lock; writes are
serialised by one lock, so registration is safe from many threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from lllm.core.errors import ResourceNotFoundError, ResourceTypeError, RuntimeNotFoundError
from lllm.core.resource import PackageInfo, ResourceNode
from lllm.core.sections import UNTYPED_FALLBACK_SECTIONS, SectionRegistry

_MISSING: Any = object()
# Resolved short keys (and misses) are remembered up to this many entries per runtime.
_RESOLUTION_CACHE_LIMIT = 65_536


class Runtime:
    """An isolated registry of resources.

    Creating one has no side effects: no scanning, no imports. It stays empty until something
    registers into it (``register``, the typed ``register_*`` methods, or ``lllm.load_package``).
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.sections = SectionRegistry()
        self._resources: dict[str, ResourceNode] = {}
        self._type_index: dict[str, set[str]] = {}
        self._sorted_keys: dict[str | None, tuple[str, ...]] = {}
        # (resource_type, key) -> node or None, for keys that are not exact; replaced on every write.
        self._resolved: dict[tuple[str | None, str], ResourceNode | None] = {}
        self._packages: dict[str, PackageInfo] = {}
        self._loaded_package_paths: set[str] = set()
        # Package name -> the manifest path it was registered with.
        self._package_paths: dict[str, str] = {}
        self._default_namespace: str | None = None
        self._discovery_done = False
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Runtime{label} resources={len(self._resources)} packages={len(self._packages)}>"

    # ----------------------------------------------------------------------------- state

    @property
    def default_namespace(self) -> str | None:
        """The package bare keys resolve in: the first package registered into this runtime."""
        return self._default_namespace

    @property
    def discovery_done(self) -> bool:
        """Whether a full discovery (``load_runtime`` or auto-init) has populated this runtime."""
        return self._discovery_done

    @discovery_done.setter
    def discovery_done(self, done: bool) -> None:
        self._discovery_done = bool(done)

    @property
    def loaded_package_paths(self) -> frozenset[str]:
        """The manifest paths already loaded into this runtime (used to end dependency cycles)."""
        return frozenset(self._loaded_package_paths)

    @property
    def packages(self) -> Mapping[str, PackageInfo]:
        """A read-only view of the registered packages, by effective name."""
        return MappingProxyType(self._packages)

    def iter_items(self, resource_type: str | None = None) -> Iterator[tuple[str, ResourceNode]]:
        """Yield ``(qualified key, node)`` pairs (of one type, if given) in sorted key order."""
        for node in self.iter_nodes(resource_type):
            yield node.qualified_key, node

    def iter_nodes(self, resource_type: str | None = None) -> Iterator[ResourceNode]:
        """Yield the registered nodes (of one type, if given) in sorted key order."""
        resources = self._resources
        for key in self._sorted(resource_type):
            node = resources.get(key)
            if node is not None:
                yield node

    def __len__(self) -> int:
        return len(self._resources)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.has(key)

    # ------------------------------------------------------------------------ registration

    def register(self, node: ResourceNode, overwrite: bool = True) -> ResourceNode:
        """Store ``node`` under its qualified key and return it.

        With ``overwrite=False`` an existing key raises ``ValueError``. Re-registering a key
        under another type moves it in the type index.
        """
        if not isinstance(node, ResourceNode):
            raise TypeError(f"register() takes a ResourceNode, got {type(node).__name__}.")
        key = node.qualified_key
        with self._lock:
            old = self._resources.get(key)
            if old is not None:
                if not overwrite:
                    raise ValueError(
                        f"Resource {key!r} is already registered; pass overwrite=True to replace it."
                    )
                if old.resource_type != node.resource_type:
                    self._type_index[old.resource_type].discard(key)
            self._resources[key] = node
            index = self._type_index.get(node.resource_type)
            if index is None:
                index = self._type_index[node.resource_type] = set()
                self.sections.learn_from_namespace(node.namespace, node.resource_type)
            index.add(key)
            self._invalidate()
        return node

    def register_many(self, nodes: Iterable[ResourceNode], overwrite: bool = True) -> None:
        """Register several nodes under one acquisition of the write lock (same rules as ``register``)."""
        nodes = list(nodes)
        for node in nodes:
            if not isinstance(node, ResourceNode):
                raise TypeError(f"register_many() takes ResourceNodes, got {type(node).__name__}.")
        with self._lock:
            resources, type_index = self._resources, self._type_index
            if not overwrite:
                for node in nodes:
                    if node.qualified_key in resources:
                        raise ValueError(
                            f"Resource {node.qualified_key!r} is already registered; pass overwrite=True to replace it."
                        )
            by_type: dict[str, list[str]] = {}
            batch = {node.qualified_key: node for node in nodes}
            if resources.keys().isdisjoint(batch):
                resources.update(batch)  # nothing displaced: the common case of a load
            else:
                for key, node in batch.items():
                    old = resources.get(key)
                    if old is not None and old.resource_type != node.resource_type:
                        type_index[old.resource_type].discard(key)
                    resources[key] = node
            for key, node in batch.items():
                keys = by_type.get(node.resource_type)
                if keys is None:
                    keys = by_type[node.resource_type] = []
                    if node.resource_type not in type_index:
                        type_index[node.resource_type] = set()
                        self.sections.learn_from_namespace(node.namespace, node.resource_type)
                keys.append(key)
            for resource_type, keys in by_type.items():
                type_index[resource_type].update(keys)
            self._invalidate()

    def unregister(self, key: str) -> ResourceNode:
        """Remove the node stored under the qualified ``key`` and return it (``KeyError`` if absent)."""
        with self._lock:
            node = self._resources.pop(key, None)
            if node is None:
                raise ResourceNotFoundError(key, None, self._suggest(key))
            self._type_index[node.resource_type].discard(key)
            self._invalidate()
        return node

    def register_package(
        self, pkg: PackageInfo, *, make_default: bool = True, path: str | None = None
    ) -> bool:
        """Record a loaded package; ``False`` (and nothing recorded) when ``path`` is given
        and a package was registered from that manifest path already.

        The first package registered with ``make_default=True`` (the default) becomes the
        default namespace; the loader passes ``False`` for dependencies and shared packages.
        ``path`` (the real path of the package's manifest) is how the loader ends dependency
        cycles: see ``loaded_package_paths``.
        """
        if not isinstance(pkg, PackageInfo):
            raise TypeError(f"register_package() takes a PackageInfo, got {type(pkg).__name__}.")
        with self._lock:
            if path is not None:
                if path in self._loaded_package_paths:
                    return False
                self._loaded_package_paths.add(path)
                self._package_paths[pkg.effective_name] = path
            self._packages[pkg.effective_name] = pkg
            if make_default and self._default_namespace is None:
                self._default_namespace = pkg.effective_name
                self._invalidate()
            return True

    def unload_package(self, name: str) -> None:
        """Forget package ``name``: its resources, its record and its manifest path (so it can
        be loaded again); the default namespace too, if it was that package. Nothing happens
        for a name that is not loaded."""
        prefix = f"{name}."
        with self._lock:
            for key in [k for k in self._resources if k.startswith(prefix)]:
                self.unregister(key)
            info = self._packages.pop(name, None)
            path = self._package_paths.pop(name, None)
            if path is not None:
                self._loaded_package_paths.discard(path)
            if info is not None and self._default_namespace == name:
                self._default_namespace = None
                self._invalidate()

    def _invalidate(self) -> None:
        # Called under the write lock after the store changed. Readers fill the cache object
        # they fetched before resolving, so a reader racing a write only fills a dropped cache.
        self._sorted_keys = {}
        self._resolved = {}

    def reset(self) -> None:
        """Clear every resource, package, loaded-path record and the default namespace."""
        with self._lock:
            self._resources = {}
            self._type_index = {}
            self._invalidate()
            self._packages = {}
            self._loaded_package_paths = set()
            self._package_paths = {}
            self._default_namespace = None
            self._discovery_done = False
            self.sections = SectionRegistry()

    # -------------------------------------------------------------------------- resolution

    def get(self, key: str, resource_type: str | None = None) -> Any:
        """Return the value of the resource ``key`` resolves to, loading it if lazy.

        Resolution: the exact qualified key; then, for a bare key (no ``:``), the default
        package's section of ``resource_type`` (untyped: prompts, tools, proxies, tactics, configs,
        first hit); then, for ``prefix:path`` without a ``.`` in ``prefix``: typed,
        ``prefix.<section of the type>:path`` (``prefix`` is a package); untyped,
        ``<default package>.prefix:path`` (``prefix`` is a section). ``lllm show`` and
        ``load_resource`` resolve keys by this same rule.
        Raises ``ResourceNotFoundError`` (a ``KeyError``) with close matches, or
        ``ResourceTypeError`` (a ``TypeError``) when the key names a resource of another type.
        """
        node = self._resources.get(key)
        if node is None or (resource_type is not None and node.resource_type != resource_type):
            node = self._resolve(key, resource_type)
        return node.value

    def get_node(self, key: str, resource_type: str | None = None) -> ResourceNode:
        """Resolve ``key`` like ``get`` and return the node itself, without loading it."""
        node = self._resources.get(key)
        if node is None or (resource_type is not None and node.resource_type != resource_type):
            node = self._resolve(key, resource_type)
        return node

    def has(self, key: str, resource_type: str | None = None) -> bool:
        """Whether ``get(key, resource_type)`` would find a resource; never raises."""
        node = self._resources.get(key)
        if node is not None and (resource_type is None or node.resource_type == resource_type):
            return True
        return self._find(key, resource_type) is not None

    def keys(self, resource_type: str | None = None) -> list[str]:
        """Sorted qualified keys, of one type if given (an unknown type gives ``[]``). A
        section's name stands for its type (``keys("assets")`` is ``keys("asset")``)."""
        return list(self._sorted(resource_type))

    def _sorted(self, resource_type: str | None) -> tuple[str, ...]:
        cached = self._sorted_keys.get(resource_type)
        if cached is not None:
            return cached
        if resource_type is not None and resource_type not in self._type_index:
            held = self.sections.type_for(resource_type)  # a section's name, not a type
            if held is not None and held != resource_type:
                return self._sorted(held)
        with self._lock:
            if resource_type is None:
                result = tuple(sorted(self._resources))
            else:
                result = tuple(sorted(self._type_index.get(resource_type, ())))
            self._sorted_keys[resource_type] = result
        return result

    def _candidates(self, key: str, resource_type: str | None) -> tuple[str, ...]:
        """Qualified keys to try after the exact key, in resolution order."""
        colon = key.find(":")
        if colon < 0:
            namespace = self._default_namespace
            if namespace is None:
                return ()
            if resource_type is None:
                return tuple(f"{namespace}.{s}:{key}" for s in UNTYPED_FALLBACK_SECTIONS)
            return (f"{namespace}.{self.sections.section_for(resource_type)}:{key}",)
        prefix = key[:colon]
        if not prefix or "." in prefix:
            return ()
        if resource_type is not None:  # pkg:path, in the package's section of the type
            return (f"{prefix}.{self.sections.section_for(resource_type)}:{key[colon + 1 :]}",)
        namespace = self._default_namespace  # section:path, in the default package
        return () if namespace is None else (f"{namespace}.{key}",)

    def _find(self, key: str, resource_type: str | None) -> ResourceNode | None:
        """The node a non-exact ``key`` resolves to, or ``None``; remembered until the next write."""
        cache = self._resolved
        cache_key = (resource_type, key)
        node = cache.get(cache_key, _MISSING)
        if node is not _MISSING:
            return node
        if not isinstance(key, str):
            raise TypeError(f"A resource key must be a string, got {type(key).__name__}.")
        node = None
        resources = self._resources
        for candidate in self._candidates(key, resource_type):
            found = resources.get(candidate)
            if found is not None and (
                resource_type is None or found.resource_type == resource_type
            ):
                node = found
                break
        if len(cache) >= _RESOLUTION_CACHE_LIMIT:
            cache.clear()
        cache[cache_key] = node
        return node

    def _resolve(self, key: str, resource_type: str | None) -> ResourceNode:
        node = self._find(key, resource_type)
        if node is None:
            raise self._lookup_error(key, resource_type)
        return node

    def _lookup_error(self, key: str, resource_type: str | None) -> Exception:
        """The error for a failed lookup; the slow path, so suggestions are computed here only."""
        assert resource_type is not None or key not in self._resources
        for candidate in (key, *self._candidates(key, resource_type)):
            node = self._resources.get(candidate)
            if node is not None:
                assert resource_type is not None
                return ResourceTypeError(key, candidate, resource_type, node.resource_type)
        if resource_type is not None and not self._type_index.get(resource_type):
            known = {declared for _, declared in self.sections.items()}
            if resource_type not in known:
                return ResourceNotFoundError(
                    key, resource_type, (), _missing_type_reason(resource_type)
                )
        return ResourceNotFoundError(key, resource_type, self._suggest(key, resource_type))

    def _suggest(
        self, key: str, resource_type: str | None = None, limit: int = 3
    ) -> tuple[str, ...]:
        """Close matches for a missed ``key``: by whole key, then by path alone (default package first)."""
        import difflib

        pool = self._sorted(resource_type) or self._sorted(None)
        found = difflib.get_close_matches(key, pool, n=limit, cutoff=0.6)
        by_path: dict[str, list[str]] = {}
        for qualified in pool:
            by_path.setdefault(qualified.partition(":")[2] or qualified, []).append(qualified)
        default_prefix = f"{self._default_namespace}."
        for path in difflib.get_close_matches(
            key.partition(":")[2] or key, list(by_path), n=limit, cutoff=0.6
        ):
            ranked = sorted(by_path[path], key=lambda q: not q.startswith(default_prefix))
            found.extend(q for q in ranked if q not in found)
        found.sort(key=lambda q: not q.startswith(default_prefix))
        return tuple(found[:limit])

    # --------------------------------------------------------------- typed registration

    def _namespaced(self, namespace: str | None) -> str:
        return "" if namespace is None else namespace

    def register_prompt(
        self, prompt: Any, overwrite: bool = True, namespace: str | None = None
    ) -> ResourceNode:
        """Register a ``Prompt`` under ``<namespace>:<prompt.path>`` (bare ``prompt.path`` by default)."""
        path = getattr(prompt, "path", None)
        if not isinstance(path, str):
            raise TypeError(
                f"register_prompt() needs an object with a string 'path', got {prompt!r}."
            )
        node = ResourceNode.eager(
            path, prompt, namespace=self._namespaced(namespace), resource_type="prompt"
        )
        return self.register(node, overwrite=overwrite)

    def register_proxy(
        self, name: str, cls: Any, overwrite: bool = True, namespace: str | None = None
    ) -> ResourceNode:
        """Register a proxy class under ``<namespace>:<name>``."""
        node = ResourceNode.eager(
            name, cls, namespace=self._namespaced(namespace), resource_type="proxy"
        )
        return self.register(node, overwrite=overwrite)

    def register_tool(
        self, name: str, tool: Any, overwrite: bool = True, namespace: str | None = None
    ) -> ResourceNode:
        """Register a tool (a ``Function`` of ``lllm.core.prompt``, or any object with a
        ``name``) under ``<namespace>:<name>``, type ``tool``. The key's last segment must be
        the tool's name (``ValueError`` otherwise), as in the LLLM framework."""
        declared = getattr(tool, "name", None)
        leaf = str(name).rstrip("/").rpartition("/")[2]
        if isinstance(declared, str) and declared and leaf != declared:
            raise ValueError(
                f"register_tool({name!r}): the key's last segment {leaf!r} is not the tool's "
                f"name {declared!r}; register a tool under its own name."
            )
        node = ResourceNode.eager(
            name, tool, namespace=self._namespaced(namespace), resource_type="tool"
        )
        return self.register(node, overwrite=overwrite)

    def register_tactic(
        self, name: str, cls: Any, overwrite: bool = True, namespace: str | None = None
    ) -> ResourceNode:
        """Register a tactic class under ``<namespace>:<name>``."""
        node = ResourceNode.eager(
            name, cls, namespace=self._namespaced(namespace), resource_type="tactic"
        )
        return self.register(node, overwrite=overwrite)

    def register_config(
        self,
        name: str,
        data: Any = _MISSING,
        overwrite: bool = True,
        namespace: str | None = None,
        loader: Callable[[], Any] | None = None,
        *,
        config_data: Any = _MISSING,
    ) -> ResourceNode:
        """Register a config: eagerly from ``data``, or lazily from ``loader`` (exactly one of
        them). ``config_data`` is ``data`` under the LLLM framework's name for it."""
        if config_data is not _MISSING:
            if data is not _MISSING:
                raise ValueError(
                    f"register_config({name!r}) takes 'data' or 'config_data', not both."
                )
            data = config_data
        if (data is _MISSING) == (loader is None):
            raise ValueError(f"register_config({name!r}) needs exactly one of 'data' and 'loader'.")
        ns = self._namespaced(namespace)
        if loader is not None:
            node = ResourceNode.lazy(name, loader, namespace=ns, resource_type="config")
        else:
            node = ResourceNode.eager(name, data, namespace=ns, resource_type="config")
        return self.register(node, overwrite=overwrite)

    # ------------------------------------------------------------------ typed retrieval

    def get_prompt(self, path: str) -> Any:
        """The prompt ``path`` resolves to (looks only in prompt sections)."""
        return self.get(path, "prompt")

    def get_proxy(self, path: str) -> Any:
        """The proxy class ``path`` resolves to (``"pkg:search"`` → ``pkg.proxies:search``)."""
        return self.get(path, "proxy")

    def get_tactic(self, name: str) -> Any:
        """The tactic class ``name`` resolves to."""
        return self.get(name, "tactic")

    def get_tool(self, path: str) -> Any:
        """The tool ``path`` resolves to (looks only in tool sections)."""
        return self.get(path, "tool")

    def get_config(self, path: str) -> Any:
        """The config ``path`` resolves to, loading it if lazy (``base:`` is not applied here)."""
        return self.get(path, "config")

    # ------------------------------------------------------------ snapshots (for tests)

    def snapshot(self) -> tuple[Any, ...]:
        """The runtime's state, to put back with ``restore`` (nodes are shared, not copied):
        what lllm's pytest plugin does around every test."""
        with self._lock:
            return (
                dict(self._resources),
                {t: set(keys) for t, keys in self._type_index.items()},
                dict(self._packages),
                set(self._loaded_package_paths),
                dict(self._package_paths),
                self._default_namespace,
                self._discovery_done,
                self.sections.copy(),
            )

    def restore(self, snapshot: tuple[Any, ...]) -> None:
        """Put back a state taken by ``snapshot``."""
        resources, type_index, packages, loaded, paths, namespace, done, sections = snapshot
        with self._lock:
            self._resources = dict(resources)
            self._type_index = {t: set(keys) for t, keys in type_index.items()}
            self._packages = dict(packages)
            self._loaded_package_paths = set(loaded)
            self._package_paths = dict(paths)
            self._default_namespace = namespace
            self._discovery_done = done
            self.sections = sections.copy()
            self._invalidate()


def _missing_type_reason(resource_type: str) -> str:
    """Why no resource of ``resource_type`` can be found: no loaded section has that type,
    and the plugins that are disabled or broken (one of them may provide it)."""
    from lllm._plugin_manager import unavailable_plugins

    reason = f"no loaded section provides resources of type {resource_type!r}"
    unavailable = unavailable_plugins()
    if unavailable:
        listed = ", ".join(f"{name!r} ({why})" for name, why in unavailable)
        reason += f"; plugins not in use: {listed}"
    return reason


# ------------------------------------------------------------------- process-wide runtimes

_default_runtime = Runtime(name="default")
_named_runtimes: dict[str, Runtime] = {}
_runtimes_lock = threading.Lock()


def get_default_runtime() -> Runtime:
    """The process-wide default ``Runtime`` (populated by auto-init at ``import lllm``)."""
    return _default_runtime


def set_default_runtime(runtime: Runtime) -> None:
    """Make ``runtime`` the process-wide default."""
    global _default_runtime
    if not isinstance(runtime, Runtime):
        raise TypeError(f"set_default_runtime() takes a Runtime, got {type(runtime).__name__}.")
    _default_runtime = runtime


def get_runtime(name: str | None = None) -> Runtime:
    """The runtime stored under ``name`` (``None`` → the default); ``KeyError`` lists known names."""
    if name is None:
        return _default_runtime
    runtime = _named_runtimes.get(name)
    if runtime is None:
        known = ", ".join(sorted(_named_runtimes)) or "none"
        raise RuntimeNotFoundError(f"No runtime named {name!r}; known runtimes: {known}.")
    return runtime


def set_runtime(name: str, runtime: Runtime) -> None:
    """Store ``runtime`` under ``name`` for ``get_runtime(name)``."""
    if not isinstance(runtime, Runtime):
        raise TypeError(f"set_runtime() takes a Runtime, got {type(runtime).__name__}.")
    with _runtimes_lock:
        _named_runtimes[name] = runtime


def __getattr__(name: str) -> Any:
    """The LLLM framework's names in this module: ``load_runtime`` and the package
    management functions live elsewhere in lllm (imported on first use; no cycle)."""
    import importlib

    home = {
        "load_runtime": "lllm._project",
        "install_package": "lllm._package_manager",
        "export_package": "lllm._package_manager",
        "list_packages": "lllm._package_manager",
        "remove_package": "lllm._package_manager",
    }.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
