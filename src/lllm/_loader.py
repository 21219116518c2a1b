"""Loading packages into a runtime.

``lllm.toml`` → manifest → for each section (from the plugins' declarations, or a generic
file section for a table no plugin claims) the owning plugin discovers nodes → the runtime
stores them. Dependencies load after their parent, once each; aliases share nodes.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from lllm._index.folders import Discovery, FolderContext, load_folder
from lllm._index.package_index import PackageIndex, open_cache
from lllm._index.records import SectionRow
from lllm._manifest import (
    MANIFEST_NAME,
    Manifest,
    PathEntry,
    SectionTable,
    read_manifest_notes,
    validate_package_name,
)
from lllm._names import manifest_in
from lllm._scopes import (
    INSTALL_RECORD,
    PROJECT_PACKAGES_FOLDER,
    declared_folder_name,
    installed_name,
)
from lllm._section_spec import SectionSpec
from lllm._walk import import_anchor, inside
from lllm.core.errors import LllmError, LoadWarning
from lllm.core.resource import PackageInfo, ResourceNode, package_folder
from lllm.core.runtime import Runtime, get_default_runtime
from lllm.sections.loaders import FILE_LOADERS

if TYPE_CHECKING:
    from pathlib import Path

    from lllm._discovery import SectionFolder
    from lllm._plugin_manager import PluginHost


def has_local_plugins(runtime: Runtime) -> bool:
    """Whether plugins were registered in code for ``runtime`` (without importing pluggy).

    A plugin manager module still being imported by another thread has none registered yet.
    """
    import sys

    hosts = getattr(sys.modules.get("lllm._plugin_manager"), "_runtime_hosts", None)
    return hosts is not None and runtime in hosts


class LoadProblem(NamedTuple):
    """Something wrong found while loading, as data: ``kind`` is one of ``import``,
    ``collision``, ``missing-dependency``, ``missing-folder``, ``name-conflict``, ``plugin``,
    ``manifest`` (a key the manifest reader did not understand), ``package`` (a package that
    could not be loaded at all and was skipped), ``confinement`` (an installed package naming
    something outside its folder) or ``loop`` (a folder reached twice through links);
    ``file`` is the file concerned (a string), when there is one."""

    kind: str
    message: str
    file: str | None = None


def _warning_category(kind: str) -> type[Warning]:
    if kind == "manifest":
        from lllm._manifest import ManifestWarning

        return ManifestWarning
    if kind == "plugin":
        from lllm._plugin_manager import PluginWarning

        return PluginWarning
    return LoadWarning


def _internal(module: str) -> bool:
    """Whether a frame of ``module`` is lllm's or the import machinery's (not a user's
    ``lllm_helpers`` module)."""
    return module.partition(".")[0] in (
        "lllm",
        "importlib",
        "_frozen_importlib",
        "_frozen_importlib_external",
    )


def warn_problems(problems: list[LoadProblem]) -> None:
    """Give each problem as a warning (``ManifestWarning`` for manifest notes,
    ``PluginWarning`` for plugins, else ``RuntimeWarning``), pointing at the first caller
    outside lllm and the import machinery: what the public entry points do after a load."""
    import sys

    frame: Any = sys._getframe(1)
    level = 2
    while frame is not None and _internal(frame.f_globals.get("__name__", "")):
        frame = frame.f_back
        # warnings.warn itself does not count the import machinery's frames.
        if frame is not None and not (
            "importlib" in frame.f_code.co_filename and "_bootstrap" in frame.f_code.co_filename
        ):
            level += 1
    for problem in problems:
        warnings.warn(problem.message, _warning_category(problem.kind), stacklevel=level)


class PackageProblemsError(LllmError, RuntimeError):
    """A strict load found problems; ``problems`` lists every one."""

    def __init__(self, problems: list[LoadProblem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p.message}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) while loading:\n{lines}")


def _same_folder(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and os.path.realpath(a) == os.path.realpath(b)


# Per runtime: manifest path -> (thread id, event) while a thread loads that package into it.
_loads: weakref.WeakKeyDictionary[Runtime, dict[str, tuple[int, threading.Event]]] = (
    weakref.WeakKeyDictionary()
)
_loads_lock = threading.RLock()


def _loads_in(runtime: Runtime) -> dict[str, tuple[int, threading.Event]]:
    with _loads_lock:
        found = _loads.get(runtime)
        if found is None:
            found = _loads[runtime] = {}
        return found


class PackageLoader:
    """Loads packages into one runtime and collects what went wrong as ``LoadProblem`` data
    (``problems``); the public entry points give them as warnings, or raise them together.

    ``on_problem`` is called with each problem too, and makes the load strict: every
    problem is wanted, so the index cache is not used and every broken plugin is reported.
    ``discover=False`` reads manifests and registers packages, dependencies and aliases but
    discovers no section: no package code runs (``lllm pkg export`` finds packages so).
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        on_problem: Callable[[LoadProblem], None] | None = None,
        use_cache: bool | None = None,
        discover: bool = True,
    ) -> None:
        self.runtime = runtime
        self._on_problem = on_problem
        self.strict = on_problem is not None
        self.discover = discover
        self.problems: list[LoadProblem] = []
        self._host: PluginHost | None = None
        # The index cache is skipped for strict loads (every problem must be seen) and for
        # runtimes with plugins registered in code (the cached section table would not fit).
        if use_cache is None:
            use_cache = on_problem is None and not has_local_plugins(runtime)
        self.index_cache = open_cache() if use_cache else None
        # Set when this loader built the section table from the plugins (not the cache).
        self._fresh_table: list[SectionRow] | None = None

    @property
    def host(self) -> PluginHost:
        """The plugin host, loaded only when some section must really be discovered."""
        if self._host is None:
            from lllm._plugin_manager import host_for

            self._host = host_for(self.runtime)
        return self._host

    def report(self, kind: str, message: str, file: str | os.PathLike[str] | None = None) -> None:
        """Record a problem (and pass it to the ``on_problem`` callback, if any)."""
        problem = LoadProblem(kind, message, None if file is None else os.fspath(file))
        if problem in self.problems:
            return  # one package tried twice (a dependency, then a shared package): said once
        self.problems.append(problem)
        if self._on_problem is not None:
            self._on_problem(problem)

    def take_problems(self) -> list[LoadProblem]:
        """The problems recorded so far, forgetting them."""
        taken, self.problems = self.problems, []
        return taken

    def _report_plugin_problems(self) -> None:
        """Report broken plugins: those that broke since the last report (each once per
        process), or, for a strict load, every broken plugin."""
        if self._host is None:
            return
        if self.strict:
            for record in self._host.records():
                if record.status == "broken":
                    self.report(
                        "plugin", f"{record.origin} is broken and was skipped: {record.error}"
                    )
            self._host.take_problems()
        else:
            for message in self._host.take_problems():
                self.report("plugin", message)

    # ------------------------------------------------------------------------- packages

    def load(
        self,
        path: str | os.PathLike[str],
        *,
        as_dependency: bool = False,
        shadow_ok: bool = False,
        confined: bool = False,
    ) -> PackageInfo | None:
        """Load the package whose manifest (or folder) is ``path``, with its dependencies.

        Returns its ``PackageInfo``, or ``None`` when another package of that name was loaded
        first (a problem names both unless ``shadow_ok``, used for shadowed scopes).
        ``confined=True`` loads an installed package (see ``lllm._confinement``): a manifest
        naming a folder outside the package raises ``ManifestError``, and links leading
        outside are skipped. A broken manifest raises ``ManifestError``; a missing one
        ``FileNotFoundError``.
        """
        index = None
        if self.index_cache is not None:
            target = os.path.abspath(path)
            manifest_file = manifest_in(target) if os.path.isdir(target) else target
            if manifest_file is not None and os.path.isfile(manifest_file):
                index = self.index_cache.open(manifest_file)
        cached = index.manifest() if index is not None else None
        if cached is None:
            stat_before = index.manifest_stat() if index is not None else None
            manifest, found_notes = read_manifest_notes(path)
            notes: tuple[str, ...] | list[str] = found_notes
            if index is not None:
                index.record_manifest(manifest, list(notes), stat_before)
        else:
            manifest, notes = cached  # what parsing said, said again on warm starts
        for note in notes:
            self.report("manifest", note, manifest.file)
        name = installed_name(manifest.base_dir, manifest.name)
        if name != manifest.name:
            manifest = manifest._replace(
                name=validate_package_name(name, file=manifest.file, key=INSTALL_RECORD)
            )
        if confined:
            from lllm._confinement import check_confined

            check_confined(manifest)
        try:
            return self.load_manifest(
                manifest,
                as_dependency=as_dependency,
                shadow_ok=shadow_ok,
                index=index,
                confined=confined,
            )
        finally:
            if index is not None and self.index_cache is not None:
                self._record_section_table(index)
                self.index_cache.save(index)

    def load_manifest(
        self,
        manifest: Manifest,
        *,
        as_dependency: bool = False,
        shadow_ok: bool = False,
        index: PackageIndex | None = None,
        confined: bool = False,
    ) -> PackageInfo | None:
        """Load an already-read manifest (see ``load``), using ``index`` for unchanged files."""
        rt = self.runtime
        existing = rt.packages.get(manifest.name)
        if existing is not None:
            if _same_folder(package_folder(existing), manifest.base_dir):
                self._wait_for_other_thread(os.path.realpath(manifest.file or manifest.base_dir))
                return existing
            if as_dependency and existing.version == manifest.version and existing.alias is None:
                # Another copy of the same release (two packages bundling one dependency).
                return existing
            if not shadow_ok:
                self.report(
                    "name-conflict",
                    f"Package {manifest.name!r} at {manifest.base_dir} was not loaded: a package of "
                    f"that name is already loaded from {package_folder(existing)}.",
                    manifest.file,
                )
            return None
        info = PackageInfo(manifest.name, manifest.version, manifest.description, manifest.base_dir)
        path = os.path.realpath(manifest.file or manifest.base_dir)
        # Recording the path and the package together: another thread loading the same
        # package into this runtime then finds its PackageInfo, never a gap, and waits until
        # its resources are registered (the thread loading it, back through a dependency
        # cycle, does not wait for itself).
        loads = _loads_in(rt)
        with _loads_lock:
            if not rt.register_package(info, make_default=not as_dependency, path=path):
                loading = loads.get(path)
                if loading is not None and loading[0] != threading.get_ident():
                    waiting = loading[1]
                else:
                    return self._package_at(manifest.base_dir)
            else:
                waiting = None
                done = threading.Event()
                loads[path] = (threading.get_ident(), done)
        if waiting is not None:
            waiting.wait()
            return self._package_at(manifest.base_dir)
        try:
            confine = os.path.realpath(manifest.base_dir) if confined else None
            if self.discover:
                rt.register_many(self._discover_sections(manifest, info, index, confine))
                if index is not None:
                    index.drop_unvisited_folders()
            for dependency in manifest.dependencies:
                self._load_dependency(manifest, dependency, confined)
        finally:
            with _loads_lock:
                loads.pop(path, None)
            done.set()
        return info

    def _wait_for_other_thread(self, path: str) -> None:
        """Wait until another thread loading the package at ``path`` into this runtime is done."""
        with _loads_lock:
            loading = _loads_in(self.runtime).get(path)
        if loading is not None and loading[0] != threading.get_ident():
            loading[1].wait()

    def _package_at(self, base_dir: str) -> PackageInfo | None:
        for info in self.runtime.packages.values():
            if info.alias is None and _same_folder(package_folder(info), base_dir):
                return info
        return None

    def _load_dependency(self, parent: Manifest, dependency: PathEntry, confined: bool) -> None:
        where = parent.file or parent.base_dir
        path = dependency.path
        bundled = os.path.join(parent.base_dir, PROJECT_PACKAGES_FOLDER, declared_folder_name(path))
        if confined:
            from lllm._confinement import dependency_target

            target = dependency_target(parent, dependency)
            if target is None and os.path.lexists(path):
                self.report(
                    "confinement",
                    f"{where}: dependency {dependency.raw!r} leads outside the package; skipped.",
                    parent.file,
                )
                return
            path = target or path
        elif not os.path.exists(path) and os.path.isfile(os.path.join(bundled, MANIFEST_NAME)):
            # A dependency shipped inside the package by `export_package(..., bundle_deps=True)`.
            path = bundled
        if not os.path.exists(path):
            self.report(
                "missing-dependency",
                f"{where}: dependency {dependency.raw!r} not found at {path}; skipped.",
                parent.file,
            )
            return
        if os.path.isdir(path) and manifest_in(path) is None:
            self.report(
                "missing-dependency",
                f"{where}: dependency {dependency.raw!r} at {path} has no {MANIFEST_NAME}; skipped.",
                parent.file,
            )
            return
        if not confined:
            from lllm._confinement import is_installed_location

            # A project may name an installed package as a dependency: it stays confined.
            confined = is_installed_location(path if os.path.isdir(path) else os.path.dirname(path))
        try:
            info = self.load(path, as_dependency=True, confined=confined)
        except (OSError, ValueError, RecursionError) as exc:  # ManifestError is a ValueError
            self.report(
                "package",
                f"{where}: dependency {dependency.raw!r} was skipped: {type(exc).__name__}: {exc}",
                parent.file,
            )
            return
        if info is not None and dependency.alias:
            self.add_alias(info, dependency.alias, where)

    def add_alias(self, info: PackageInfo, alias: str, where: object = None) -> None:
        """Make the loaded package ``info`` visible under ``alias`` too, sharing its nodes."""
        rt = self.runtime
        if alias == info.name:
            return
        existing = rt.packages.get(alias)
        if existing is not None:
            if existing.name != info.name or not _same_folder(
                package_folder(existing), package_folder(info)
            ):
                self.report(
                    "name-conflict",
                    f"{where}: alias {alias!r} for {info.name!r} was not applied: the name is already "
                    f"used by the package at {package_folder(existing)}.",
                )
            return
        rt.register_package(attrs.evolve(info, alias=alias), make_default=False)
        prefix = f"{info.name}."
        rt.register_many(
            [
                node.aliased(f"{alias}.{node.namespace[len(prefix) :]}")
                for node in list(rt.iter_nodes())
                if node.namespace.startswith(prefix)
            ]
        )

    # ------------------------------------------------------------------------- sections

    def _section_table(self, index: PackageIndex | None) -> list[tuple[SectionSpec, str]]:
        """``(spec, plugin name)`` for every plugin section: from the index when it has one."""
        rows = index.sections() if index is not None else None  # checks files: read once
        if rows is not None:
            try:
                return [
                    (
                        SectionSpec(
                            name=row.name,
                            resource_type=row.resource_type,
                            default_folder=row.default_folder,
                            description=row.description,
                            cacheable=row.cacheable,
                            loaders=row.loaders,
                        ),
                        row.plugin,
                    )
                    for row in rows
                ]
            except (TypeError, ValueError):
                index.forget_sections()  # type: ignore[union-attr]
        try:
            owners = self.host.section_table().values()
        finally:
            self._report_plugin_problems()
        self._fresh_table = [
            SectionRow(
                s.name,
                s.resource_type,
                r.name,
                s.cacheable,
                s.default_folder,
                s.description,
                dict(s.loaders),
                r.package,
            )
            for s, r in owners
        ]
        return [(spec, record.name) for spec, record in owners]

    def _record_section_table(self, index: PackageIndex) -> None:
        """Record the section table with the code files of the plugins — taken now, after
        discovery imported what it needed, and added to those recorded before when the table
        came from the cache — unless a plugin is broken (a failure is never cached: the next
        process tries the plugins again). Nothing to do when no plugin was loaded."""
        if self._host is None:
            return
        records = self.host.records()
        if any(record.status == "broken" for record in records):
            index.forget_sections()
            return
        code = [
            path for record in records if record.status == "loaded" for path in record.code_files
        ]
        if self._fresh_table is not None:
            index.record_sections(self._fresh_table, code)
        else:
            index.add_plugin_code(code)

    def _discover_sections(
        self, manifest: Manifest, info: PackageInfo, index: PackageIndex | None, confine: str | None
    ) -> list[ResourceNode]:
        table = self._section_table(index)
        claimed = {spec.name for spec, _ in table}
        # A table no plugin claims is a generic file section of its own type.
        generic = [
            (SectionSpec(name=name, resource_type=name, cacheable=True, loaders=FILE_LOADERS), "")
            for name in manifest.sections
            if name not in claimed
        ]
        nodes: dict[str, ResourceNode] = {}
        for spec, plugin in table + generic:
            self.runtime.sections.declare(spec.name, spec.resource_type)
            self._collect(
                manifest,
                info,
                spec,
                plugin,
                manifest.sections.get(spec.name),
                nodes,
                index,
                confine,
            )
        return list(nodes.values())

    def _folders(
        self, manifest: Manifest, spec: SectionSpec, table: SectionTable | None
    ) -> Iterator[tuple[str, str, PathEntry | None]]:
        if table is None or table.paths is None:
            yield os.path.join(manifest.base_dir, spec.folder_name), "", None
            return
        for entry in table.paths:
            yield entry.path, entry.prefix, entry

    def _collect(
        self,
        manifest: Manifest,
        info: PackageInfo,
        spec: SectionSpec,
        plugin: str,
        table: SectionTable | None,
        nodes: dict[str, ResourceNode],
        index: PackageIndex | None,
        confine: str | None,
    ) -> None:
        where = manifest.file or manifest.base_dir
        for path, prefix, entry in self._folders(manifest, spec, table):
            if plugin and self._host is not None and self._plugin_broken(plugin):
                return  # as without the cache: a plugin broken in this process gives nothing more
            if confine is not None and not inside(os.path.realpath(path), confine):
                # A default folder that is a link leading outside (paths in the manifest were checked).
                self.report(
                    "confinement",
                    f"{path}: skipped: it leads to {os.path.realpath(path)}, outside the package folder {confine}",
                    path,
                )
                continue
            if not os.path.isdir(path):
                if entry is not None:
                    self.report(
                        "missing-folder",
                        f"{where}: [{spec.name}] path {entry.raw!r} not found at {path}; skipped.",
                        manifest.file,
                    )
                if index is not None:
                    index.set_folder(
                        spec.name, path if confine is None else f"{path}|confined", prefix, None
                    )
                continue
            options = table.options if table is not None else {}
            job = _FolderJob(manifest, info, spec, plugin, path, prefix, options, confine)
            if index is not None and spec.cacheable:
                found = load_folder(
                    index,
                    self._folder_context(job),
                    functools.partial(self._discover_files, job),
                    self.report,
                )
            else:
                found = self._discover(job)[0]
            batch = {node.qualified_key: node for node in found}
            if len(batch) == len(found) and nodes.keys().isdisjoint(batch):
                nodes.update(batch)  # the common case: no key seen twice
                continue
            for node in found:
                first = nodes.get(node.qualified_key)
                if first is not None:
                    self.report(
                        "collision",
                        f"Key {node.qualified_key!r} comes from both {first.metadata.get('file_path')} and "
                        f"{node.metadata.get('file_path')}; the first is kept.",
                        node.metadata.get("file_path") or None,
                    )
                    continue
                nodes[node.qualified_key] = node

    def _plugin_broken(self, name: str) -> bool:
        return any(
            record.name == name and record.status == "broken" for record in self.host.records()
        )

    def _folder(
        self,
        job: _FolderJob,
        *,
        only: list[str] | None = None,
        problems: dict[str | None, list[str]] | None = None,
    ) -> SectionFolder:
        from lllm._discovery import SectionFolder

        def report(message: str, file: Path | None, kind: str = "import") -> None:
            if problems is not None:
                problems.setdefault(None if file is None else str(file), []).append(message)
            self.report(kind, message, file)

        return SectionFolder(
            job.spec,
            job.path,
            job.info,
            job.prefix,
            plugin_name=job.plugin,
            package_root=job.manifest.base_dir,
            report=report,
            only=only,
            options=job.options,
            confine=job.confine,
        )

    def _discover(
        self, job: _FolderJob, folder: SectionFolder | None = None
    ) -> tuple[list[ResourceNode], bool]:
        """The nodes found in ``job``'s folder by its section (through the plugins'
        ``lllm_discover`` hook, or the generic file section's walk), and whether discovery
        worked (``False``: it failed, and the problem is reported)."""
        folder = folder or self._folder(job)
        if not job.plugin:
            from lllm.sections.generic import discover_generic

            return discover_generic(folder), True
        try:
            nodes, problem = self.host.discover(folder)
        finally:
            self._report_plugin_problems()
        if problem is not None:
            self.report("plugin", problem, str(folder.path))
            return [], False
        return nodes, True

    def _discover_files(self, job: _FolderJob, files: list[str]) -> Discovery:
        """Discover only ``files`` of ``job``'s folder, for the index cache.

        Each imported file depends on what its import loaded and, since a module already
        imported may be imported again dynamically without showing, on every helper module
        of its package loaded by then (modules outside this folder, and private ``_`` ones).
        """
        problems: dict[str | None, list[str]] = {}
        folder = self._folder(job, only=files, problems=problems)
        nodes, worked = self._discover(job, folder)
        dependencies = dict(folder.dependencies)
        if dependencies:
            from lllm._imports import import_closure

            helpers = import_closure(_helper_modules(job.manifest.base_dir, job.path))
            dependencies = {file: [*found, *helpers] for file, found in dependencies.items()}
        return Discovery(
            nodes,
            {file for file in problems if file is not None},
            folder.origins,
            dependencies,
            folder.module_stats,
            None not in problems,
            plugin_failed=not worked,
        )

    @staticmethod
    def _folder_context(job: _FolderJob) -> FolderContext:
        """What the index cache needs to rebuild ``job``'s nodes: what a ``SectionFolder`` of
        the job would say (see ``import_anchor``)."""
        package = job.info.effective_name
        return FolderContext(
            section=job.spec.name,
            root=job.path,
            prefix=job.prefix,
            namespace=f"{package}.{job.spec.name}",
            package_root=import_anchor(job.path, job.manifest.base_dir),
            resource_type=job.spec.resource_type,
            base_metadata={"package": package, "section": job.spec.name, "plugin": job.plugin},
            loaders=job.spec.loaders,
            confine=job.confine,
        )


def _helper_modules(package_root: str, folder: str) -> list[str]:
    """The modules of the package rooted at ``package_root`` (under its synthetic package)
    loaded now that are not files discovered in ``folder``: modules of other folders, and
    private ones (a file name starting with ``_``, a hidden folder)."""
    import sys

    from lllm._imports import module_root_name

    prefix = module_root_name(os.path.realpath(package_root)) + "."
    inside_folder = os.path.realpath(folder) + os.sep
    helpers = []
    for name, module in list(sys.modules.items()):
        if not name.startswith(prefix):
            continue
        file = getattr(module, "__file__", None)
        if not file:
            continue
        real = os.path.realpath(file)
        parts = real[len(inside_folder) :].split(os.sep)
        private = parts[-1].startswith("_") or any(part.startswith(".") for part in parts)
        if not real.startswith(inside_folder) or private:
            helpers.append(name)
    return helpers


class _FolderJob(NamedTuple):
    """One section folder of one package to load."""

    manifest: Manifest
    info: PackageInfo
    spec: SectionSpec
    plugin: str
    path: str
    prefix: str
    options: Mapping[str, Any]
    #: The real folder an installed package's walks may not leave, else ``None``.
    confine: str | None


def load_package(
    path: str | os.PathLike[str], *, runtime: Runtime | None = None, strict: bool = False
) -> PackageInfo | None:
    """Load a package (its ``lllm.toml`` or the folder holding it) and its dependencies.

    Resources go into ``runtime`` (the default runtime if omitted); the first package loaded
    into an empty runtime becomes its default namespace. A path that does not exist raises
    ``FileNotFoundError``; a malformed manifest ``ManifestError``. Other problems (files that
    fail to import, duplicate keys, missing dependencies or folders) are warnings, given once
    the load is over, or, with ``strict=True``, collected and raised together as
    ``PackageProblemsError``. Returns the package's ``PackageInfo`` (``None`` if a package of
    that name from another folder was already loaded).
    """
    rt = get_default_runtime() if runtime is None else runtime
    if not strict:
        loader = PackageLoader(rt)
        try:
            return loader.load(path)
        finally:
            warn_problems(loader.take_problems())
    problems: list[LoadProblem] = []
    info = PackageLoader(rt, on_problem=problems.append).load(path)
    if problems:
        raise PackageProblemsError(problems)
    return info
