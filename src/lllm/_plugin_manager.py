"""Finding, loading and calling plugins.

Plugins are found through the entry-point group ``lllm.plugins`` (read at most once per
process, the first time a package is loaded or plugins are listed) and loaded with pluggy.
The lllm distribution registers its built-in sections there too. Environment switches:

- ``LLLM_DISABLE_PLUGINS=a,b`` blocks plugins by name before they are imported;
- ``LLLM_PLUGINS_AUTOLOAD=0`` loads the built-in plugins only;
- ``LLLM_STRICT_PLUGINS=1`` raises ``PluginError`` where a broken plugin would be skipped;
- ``LLLM_TRACE_PLUGINS=1`` prints every hook call and its result to standard error (pluggy's
  tracing).

Hooks are called through pluggy (``manager.hook.<name>(...)``). A broken plugin (import
error, unknown hook, a raising or invalid ``lllm_sections``) is skipped; it is reported once
per process, naming the plugin, its distribution and the error: as a ``LoadProblem`` of the
load that found it (a ``PluginWarning`` when that load is over), or as a ``PluginWarning``
from ``list_plugins``. A section's ``discover`` that raises on one folder is a problem of that
folder only.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from lllm import hookspecs
from lllm._discovery import SectionFolder, SectionSpec
from lllm._section_spec import foreign_loaders
from lllm.core.errors import LllmError, LllmWarning

if TYPE_CHECKING:
    from lllm.core.resource import ResourceNode
    from lllm.core.runtime import Runtime

ENTRY_POINT_GROUP = "lllm.plugins"
BUILTIN_DISTRIBUTION = "lllm"
#: The built-in plugins, as the lllm distribution declares them in its entry points. Used
#: as they are only when lllm runs from a source tree without installed metadata.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("prompts", "lllm.sections.prompts"),
    ("proxies", "lllm.sections.proxies"),
    ("tactics", "lllm.sections.tactics"),
    ("configs", "lllm.sections.configs"),
    ("assets", "lllm.sections.assets"),
)


class PluginWarning(LllmWarning, RuntimeWarning):
    """A plugin is broken and was skipped (``LLLM_STRICT_PLUGINS=1`` raises ``PluginError`` instead)."""


class PluginError(LllmError, RuntimeError):
    """A plugin could not be used (raised instead of a warning when ``LLLM_STRICT_PLUGINS=1``)."""


class PluginConflictError(PluginError):
    """Two plugins claim the same section."""


@attrs.define(eq=False)
class PluginRecord:
    """What lllm knows of one plugin: where it comes from, its state and its sections.

    ``status`` is ``"available"`` (found, not imported yet), ``"loaded"``, ``"broken"`` (see
    ``error``) or ``"disabled"`` (blocked by ``LLLM_DISABLE_PLUGINS`` or autoload off).
    """

    name: str
    source: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False
    status: str = "available"
    error: str | None = None
    plugin: Any = None
    sections: tuple[SectionSpec, ...] = ()
    _entry_point: Any = None

    @property
    def origin(self) -> str:
        """``name (distribution version)`` for messages."""
        if self.distribution is None:
            return f"plugin {self.name!r} (registered in code)"
        version = f" {self.version}" if self.version else ""
        return f"plugin {self.name!r} (distribution {self.distribution}{version})"

    @property
    def package(self) -> str:
        """The top-level package of the plugin's code (``""`` if unknown)."""
        import inspect

        target = self.plugin
        if target is None:
            return (
                self.source.partition(":")[0].partition(".")[0]
                if self._entry_point is not None
                else ""
            )
        name = (
            target.__name__
            if inspect.ismodule(target)
            else getattr(target if inspect.isclass(target) else type(target), "__module__", "")
        )
        return str(name).partition(".")[0]

    @property
    def code_files(self) -> list[str]:
        """The files of the plugin's code that the index cache watches: its module (or the
        module of its class), every module of its top-level package imported so far, and what
        they import, transitively — leaving out the standard library, installed distributions
        and lllm, whose changes show in the environment signature (see
        ``lllm._imports.import_closure``). An editable plugin being worked on is all here."""
        import inspect
        import sys

        from lllm._imports import import_closure

        target = self.plugin
        if target is None:
            return []
        if not inspect.ismodule(target):
            target = sys.modules.get(
                getattr(target if inspect.isclass(target) else type(target), "__module__", "")
            )
            if target is None:
                return []
        top = target.__name__.partition(".")[0]
        names = [name for name in list(sys.modules) if name == top or name.startswith(top + ".")]
        return [
            found.path
            for found in import_closure([target.__name__, *names])
            if found.path and not found.absent
        ]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly description (used by ``lllm plugins --json``)."""
        return {
            "name": self.name,
            "source": self.source,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "status": self.status,
            "error": self.error,
            "sections": [
                {
                    "name": s.name,
                    "resource_type": s.resource_type,
                    "default_folder": s.folder_name,
                    "description": s.description,
                }
                for s in self.sections
            ],
        }


def _strict() -> bool:
    from lllm._flags import flag

    return flag("LLLM_STRICT_PLUGINS", False)


from lllm._entry_points import entry_points  # noqa: E402  (re-exported: the one reader)


def _distribution_of(ep: Any) -> tuple[str | None, str | None]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None, None
    return dist.metadata["Name"], dist.version


def _canonical(name: str | None) -> str:
    return (name or "").replace("_", "-").lower()


def _discovered_records() -> list[PluginRecord]:
    """Records for every ``lllm.plugins`` entry point, built-ins first, not imported yet."""
    builtin: list[PluginRecord] = []
    others: list[PluginRecord] = []
    for ep in entry_points(ENTRY_POINT_GROUP):
        distribution, version = _distribution_of(ep)
        is_builtin = _canonical(distribution) == BUILTIN_DISTRIBUTION
        record = PluginRecord(
            ep.name, ep.value, distribution, version, builtin=is_builtin, entry_point=ep
        )
        (builtin if is_builtin else others).append(record)
    if not builtin:
        from lllm import __version__

        builtin = [
            PluginRecord(name, module, BUILTIN_DISTRIBUTION, __version__, builtin=True)
            for name, module in BUILTIN_PLUGINS
        ]
    order = {name: i for i, (name, _) in enumerate(BUILTIN_PLUGINS)}
    builtin.sort(key=lambda r: (order.get(r.name, len(order)), r.name))
    others.sort(key=lambda r: (r.name, r.distribution or ""))
    return builtin + others


# ------------------------------------------------------------------------------- the host


class PluginHost:
    """A set of plugins, their sections and the pluggy manager that calls them.

    The process-wide host holds the entry-point plugins; a runtime with plugins registered in
    code gets its own host that shares the process-wide records and adds its own.
    """

    def __init__(self, parent: PluginHost | None = None) -> None:
        self._parent = parent
        self._lock = threading.RLock()
        self._local: list[PluginRecord] = []
        self._records: list[PluginRecord] | None = None
        self._manager: pluggy.PluginManager | None = None
        self._sections: dict[str, tuple[SectionSpec, PluginRecord]] | None = None
        self._problems: list[str] = []

    # ------------------------------------------------------------------------- records

    def records(self) -> list[PluginRecord]:
        """Every plugin of this host, loaded (imported) if not done yet, in a stable order."""
        with self._lock:
            if self._records is None:
                if self._parent is not None:
                    inherited = self._parent.records()
                else:
                    inherited = _discovered_records()
                    self._apply_switches(inherited)
                manager = _new_manager()
                manager.register(_SectionDiscovery, name=DISPATCH_PLUGIN)
                registered: dict[str, PluginRecord] = {}
                for record in inherited + self._local:
                    self._load(record, manager, registered)
                self._manager = manager
                self._records = inherited + self._local
            return list(self._records)

    def _apply_switches(self, records: list[PluginRecord]) -> None:
        disabled = {
            n.strip() for n in os.environ.get("LLLM_DISABLE_PLUGINS", "").split(",") if n.strip()
        }
        from lllm._flags import flag

        unknown = sorted(disabled - {record.name for record in records})
        if unknown:
            known = ", ".join(sorted(record.name for record in records))
            self._problems.append(
                f"lllm: LLLM_DISABLE_PLUGINS names {', '.join(repr(n) for n in unknown)}, which no plugin is called "
                f"(plugins: {known})"
            )
        autoload = flag("LLLM_PLUGINS_AUTOLOAD", True)
        for record in records:
            if record.name in disabled:
                record.status, record.error = "disabled", "disabled by LLLM_DISABLE_PLUGINS"
            elif not autoload and not record.builtin:
                record.status, record.error = "disabled", "not autoloaded (LLLM_PLUGINS_AUTOLOAD=0)"

    def _load(
        self,
        record: PluginRecord,
        manager: pluggy.PluginManager,
        registered: dict[str, PluginRecord],
    ) -> None:
        if record.status == "disabled":
            manager.set_blocked(record.name)
            return
        if record.status == "broken":
            return
        try:
            if record.plugin is None:
                record.plugin = self._import(record)
            if record.name in registered:
                raise PluginError(f"its name is already used by {registered[record.name].origin}")
            manager.register(record.plugin, name=record.name)
            registered[record.name] = record
            self._check_hook_names(record, manager)
            record.sections = tuple(self._declared_sections(record, manager))
            record.status = "loaded"
            if not manager.get_hookcallers(record.plugin):
                self._problems.append(
                    f"lllm: {record.origin} declares nothing: {record.source} has no @hookimpl functions "
                    "(does the entry point name the module that holds the hooks?)"
                )
        except Exception as exc:
            if manager.is_registered(record.plugin):
                manager.unregister(record.plugin)
            self._broken(record, exc)

    @staticmethod
    def _check_hook_names(record: PluginRecord, manager: pluggy.PluginManager) -> None:
        # pluggy accepts implementations of hooks nobody specified; for lllm they are typos.
        for hook_caller in manager.get_hookcallers(record.plugin) or ():
            if not hook_caller.has_spec():
                known = ", ".join(sorted(n for n in dir(hookspecs) if n.startswith("lllm_")))
                raise PluginError(
                    f"it implements unknown hook {hook_caller.name!r} (known hooks: {known})"
                )

    @staticmethod
    def _import(record: PluginRecord) -> Any:
        if record._entry_point is not None:
            return record._entry_point.load()
        import importlib

        module_name, _, attribute = record.source.partition(":")
        target: Any = importlib.import_module(module_name)
        for part in filter(None, attribute.split(".")):
            target = getattr(target, part)
        return target

    @staticmethod
    def _declared_sections(
        record: PluginRecord, manager: pluggy.PluginManager
    ) -> list[SectionSpec]:
        # Each plugin declares in a call of its own, so that every section is known to come
        # from it (pluggy's subset callers need hashable plugins; a plugin may be any object).
        alone = _new_manager()
        alone.register(record.plugin, name=record.name)
        sections: list[SectionSpec] = []
        for declared in alone.hook.lllm_sections():
            for spec in declared or ():
                if not isinstance(spec, SectionSpec):
                    raise TypeError(f"lllm_sections() returned {spec!r}, not a SectionSpec")
                if spec.discover is None:
                    raise PluginError(
                        f"section {spec.name!r} has no discover function: declare it as "
                        f"SectionSpec(name={spec.name!r}, ..., discover=<function of a SectionFolder>) "
                        "(see docs/plugins.md)"
                    )
                foreign = foreign_loaders(spec.loaders, record.package)
                if foreign:
                    raise PluginError(
                        f"section {spec.name!r} declares loaders outside the plugin's package "
                        f"{record.package!r} and lllm: {', '.join(foreign)}"
                    )
                sections.append(spec)
        return sections

    def _broken(self, record: PluginRecord, exc: BaseException) -> None:
        record.status = "broken"
        record.error = f"{type(exc).__name__}: {exc}"
        if _strict():
            raise PluginError(
                f"lllm: {record.origin} is broken (LLLM_STRICT_PLUGINS=1): {record.error}"
            ) from exc
        message = f"lllm: {record.origin} is broken and was skipped: {record.error}"
        with self._lock:
            self._problems.append(message)

    def take_problems(self) -> list[str]:
        """The messages of plugins that broke since the last call (this host's and its
        parent's), forgetting them: each is reported once."""
        with self._lock:
            taken, self._problems = self._problems, []
        if self._parent is not None:
            taken = self._parent.take_problems() + taken
        return taken

    # ------------------------------------------------------------------------ sections

    def section_table(self) -> dict[str, tuple[SectionSpec, PluginRecord]]:
        """Section name → (spec, owning plugin), for every loaded plugin.

        Raises ``PluginConflictError`` naming both plugins when two claim one section.
        """
        with self._lock:
            if self._sections is None:
                table: dict[str, tuple[SectionSpec, PluginRecord]] = {}
                for record in self.records():
                    if record.status != "loaded":
                        continue
                    for spec in record.sections:
                        claimed = table.get(spec.name)
                        if claimed is not None and claimed[1] is not record:
                            raise PluginConflictError(
                                f"Section {spec.name!r} is claimed by two plugins: "
                                f"{claimed[1].origin} and {record.origin}. "
                                "Uninstall one of them or block one with LLLM_DISABLE_PLUGINS."
                            )
                        table[spec.name] = (spec, record)
                self._sections = table
            return dict(self._sections)

    def discover(self, folder: SectionFolder) -> tuple[list[ResourceNode], str | None]:
        """Call the ``lllm_discover`` hook for ``folder`` (a folder of a plugin's section):
        its nodes, and ``None`` or the message of the problem that left the folder without
        any (the section has no plugin, or discovery raised or returned something else than
        nodes). ``LLLM_STRICT_PLUGINS=1`` raises ``PluginError`` instead of a message."""
        from lllm.core.resource import ResourceNode

        owner = self.section_table().get(folder.section.name)
        if owner is None:
            return [], f"{folder.path}: no plugin provides [{folder.section.name}]; skipped."
        spec, record = owner
        if folder.section.discover is None:  # a spec rebuilt from the index cache
            folder.section = spec
        assert self._manager is not None
        try:
            nodes = list(self._manager.hook.lllm_discover(folder=folder) or ())
            for node in nodes:
                if not isinstance(node, ResourceNode):
                    raise TypeError(f"discovery returned {node!r}, not a ResourceNode")
        except Exception as exc:
            message = (
                f"{folder.path}: discovering [{spec.name}] of {record.origin} failed: "
                f"{type(exc).__name__}: {exc}"
            )
            if _strict():
                raise PluginError(f"lllm: {message}") from exc
            return [], message
        return nodes, None

    # ---------------------------------------------------------------- in-code plugins

    def add(self, plugin: Any, name: str | None = None) -> PluginRecord:
        """Register ``plugin`` (a module, class or object with hook implementations) on this
        host. A plugin the parent host has already (an installed plugin registered again in
        code) is not registered twice: its record is returned."""
        if self._parent is not None:
            for inherited in self._parent.records():
                if inherited.plugin is plugin:
                    return inherited
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        record = PluginRecord(name, f"<code: {plugin!r}>", None, None, plugin=plugin)
        with self._lock:
            self._local.append(record)
            self._records = None
            self._sections = None
        return record

    def remove(self, name: str) -> None:
        """Unregister the in-code plugin ``name`` from this host."""
        with self._lock:
            self._local = [r for r in self._local if r.name != name]
            self._records = None
            self._sections = None


DISPATCH_PLUGIN = "lllm.discover"


class _SectionDiscovery:
    """lllm's own ``lllm_discover``: the folder's section discovers it. It runs last, so a
    plugin's implementation or wrapper sees every folder first."""

    @staticmethod
    @hookspecs.hookimpl(trylast=True)
    def lllm_discover(folder: SectionFolder) -> list[ResourceNode]:
        discover = folder.section.discover
        if discover is None:
            raise PluginError(f"section {folder.section.name!r} has no discover function")
        return list(discover(folder) or ())


def _new_manager() -> pluggy.PluginManager:
    """A pluggy manager of lllm's hooks; with ``LLLM_TRACE_PLUGINS=1`` it prints its hook
    calls and their results to standard error."""
    from lllm._flags import flag

    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    if flag("LLLM_TRACE_PLUGINS", False):
        import sys

        manager.trace.root.setwriter(lambda text: sys.stderr.write(text))
        manager.enable_tracing()
    return manager


_process_host: PluginHost | None = None
_runtime_hosts: weakref.WeakKeyDictionary[Runtime, PluginHost] = weakref.WeakKeyDictionary()
_hosts_lock = threading.Lock()


def process_host() -> PluginHost:
    """The process-wide host of entry-point plugins."""
    with _hosts_lock:
        return _process_host_locked()


def _process_host_locked() -> PluginHost:
    global _process_host
    if _process_host is None:
        _process_host = PluginHost()
    return _process_host


def host_for(runtime: Runtime | None) -> PluginHost:
    """The plugin host ``runtime`` (``None``: the default runtime) loads packages with.

    That is the process-wide host, unless plugins were registered in code for the runtime.
    """
    if runtime is None:
        from lllm.core.runtime import get_default_runtime

        runtime = get_default_runtime()
    host = _runtime_hosts.get(runtime)
    return host if host is not None else process_host()


def register_plugin(
    plugin: Any, *, name: str | None = None, runtime: Runtime | None = None
) -> PluginRecord:
    """Register a plugin in code for one runtime (the default runtime if none is given).

    The plugin takes part in every later ``load_package`` into that runtime, next to the
    entry-point plugins. Returns its ``PluginRecord``.
    """
    from lllm.core.runtime import get_default_runtime

    runtime = get_default_runtime() if runtime is None else runtime
    with _hosts_lock:
        host = _runtime_hosts.get(runtime)
        if host is None:
            host = _runtime_hosts[runtime] = PluginHost(parent=_process_host_locked())
    return host.add(plugin, name)


def unregister_plugin(name: str, *, runtime: Runtime | None = None) -> None:
    """Remove an in-code plugin registered with ``register_plugin``."""
    from lllm.core.runtime import get_default_runtime

    runtime = get_default_runtime() if runtime is None else runtime
    host = _runtime_hosts.get(runtime)
    if host is not None:
        host.remove(name)


def list_plugins(runtime: Runtime | None = None) -> list[PluginRecord]:
    """Every plugin known to ``runtime``'s host (importing them), in load order; a plugin
    that broke and was not reported yet gives a ``PluginWarning``."""
    host = host_for(runtime)
    records = host.records()
    from lllm._loader import LoadProblem, warn_problems

    warn_problems([LoadProblem("plugin", message) for message in host.take_problems()])
    return records


def reset_plugins() -> None:
    """Forget loaded plugins and cached entry points (for tests that change the environment)."""
    global _process_host
    with _hosts_lock:
        _process_host = None
        _runtime_hosts.clear()
    from lllm import _entry_points as entry_points_module
    from lllm._index import fingerprint

    entry_points_module.forget()
    fingerprint.forget()  # the plugin set may have changed too


def describe_resource(node: ResourceNode, runtime: Runtime | None = None) -> dict[str, Any] | None:
    """What the plugins of ``runtime`` say about ``node`` through the ``lllm_describe`` hook:
    a dict of labels to what to show, or ``None`` when no plugin describes it. A plugin that
    raises gives a ``PluginWarning`` and ``None``."""
    import warnings

    host = host_for(runtime)
    host.records()
    assert host._manager is not None
    try:
        described = host._manager.hook.lllm_describe(node=node)
    except Exception as exc:
        warnings.warn(
            f"lllm: describing {node.qualified_key} failed: {type(exc).__name__}: {exc}",
            PluginWarning,
            stacklevel=2,
        )
        return None
    return None if described is None else dict(described)


def unavailable_plugins() -> list[tuple[str, str]]:
    """``(name, reason)`` for the entry-point plugins this process does not use: disabled
    (``LLLM_DISABLE_PLUGINS``, autoload off) or broken. Imports no plugin: for messages."""
    with _hosts_lock:
        host = _process_host
    if host is not None and host._records is not None:
        records = host.records()
    else:
        records = _discovered_records()
        PluginHost()._apply_switches(records)
    return [
        (record.name, record.error or record.status)
        for record in records
        if record.status in ("disabled", "broken")
    ]


def iter_section_specs(runtime: Runtime | None = None) -> Iterable[SectionSpec]:
    """The section specs available to ``runtime``, in plugin order."""
    return [spec for spec, _ in host_for(runtime).section_table().values()]
