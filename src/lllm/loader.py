"""Loading packages into a runtime.

``lllm.toml`` → manifest → for each section (from the plugins' declarations, or a generic
file section for a table no plugin claims) the owning plugin discovers nodes → the runtime
stores them. Dependencies load after their parent, once each; aliases share nodes.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, NamedTuple

import attrs

from lllm.core.resource import PackageInfo, ResourceNode, package_folder
from lllm.core.runtime import Runtime, get_default_runtime
from lllm.index_cache import (
    PackageIndex,
    add_cached_nodes,
    describe_node,
    open_cache,
    restat,
    trusted_time,
)
from lllm.manifest import (
    MANIFEST_NAME,
    Manifest,
    PathEntry,
    SectionTable,
    read_manifest,
    validate_package_name,
)
from lllm.scopes import (
    INSTALL_RECORD,
    PROJECT_PACKAGES_FOLDER,
    declared_folder_name,
    installed_name,
)
from lllm.section_spec import SectionSpec
from lllm.walk import import_anchor, walk_stats

if TYPE_CHECKING:
    from pathlib import Path

    from lllm.discovery import SectionFolder
    from lllm.plugin_manager import PluginHost


def has_local_plugins(runtime: Runtime) -> bool:
    """Whether plugins were registered in code for ``runtime`` (without importing pluggy)."""
    import sys

    manager = sys.modules.get("lllm.plugin_manager")
    return manager is not None and runtime in manager._runtime_hosts


class LoadProblem(NamedTuple):
    """Something wrong found while loading: ``kind`` is one of ``import``, ``collision``,
    ``missing-dependency``, ``missing-folder``, ``name-conflict``, ``plugin``, ``manifest``."""

    kind: str
    message: str
    file: Path | None = None


class PackageProblemsError(RuntimeError):
    """A strict load found problems; ``problems`` lists every one."""

    def __init__(self, problems: list[LoadProblem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p.message}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) while loading:\n{lines}")


def _same_folder(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and os.path.realpath(a) == os.path.realpath(b)


class PackageLoader:
    """Loads packages into one runtime, reporting problems as warnings or to a callback."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        on_problem: Callable[[LoadProblem], None] | None = None,
        use_cache: bool | None = None,
    ) -> None:
        self.runtime = runtime
        self._on_problem = on_problem
        self._host: PluginHost | None = None
        # The index cache is skipped for strict loads (every problem must be seen) and for
        # runtimes with plugins registered in code (the cached section table would not fit).
        if use_cache is None:
            use_cache = on_problem is None and not has_local_plugins(runtime)
        self.index_cache = open_cache() if use_cache else None

    @property
    def host(self) -> PluginHost:
        """The plugin host, loaded only when some section must really be discovered."""
        if self._host is None:
            from lllm.plugin_manager import host_for

            self._host = host_for(self.runtime)
        return self._host

    def report(self, kind: str, message: str, file: str | os.PathLike[str] | None = None) -> None:
        """Record a problem: a ``RuntimeWarning``, or a call to the ``on_problem`` callback."""
        if self._on_problem is None:
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        else:
            from pathlib import Path

            self._on_problem(LoadProblem(kind, message, None if file is None else Path(file)))

    # ------------------------------------------------------------------------- packages

    def load(self, path: str | os.PathLike[str], *, as_dependency: bool = False, shadow_ok: bool = False) -> PackageInfo | None:
        """Load the package whose manifest (or folder) is ``path``, with its dependencies.

        Returns its ``PackageInfo``, or ``None`` when another package of that name was loaded
        first (a warning names both unless ``shadow_ok``, used for shadowed scopes).
        """
        index = None
        if self.index_cache is not None:
            target = os.path.abspath(path)
            manifest_file = os.path.join(target, MANIFEST_NAME) if os.path.isdir(target) else target
            if os.path.isfile(manifest_file):
                index = self.index_cache.open(manifest_file)
        manifest = index.manifest if index is not None else None
        if manifest is None:
            from lllm.manifest import ManifestWarning

            stat_before = index.manifest_stat() if index is not None else None
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ManifestWarning)
                manifest = read_manifest(path)
            notes = [str(w.message) for w in caught if issubclass(w.category, ManifestWarning)]
            if index is not None:
                index.set_manifest(manifest, notes, stat_before)
            for warning in caught:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        elif index is not None:
            from lllm.manifest import ManifestWarning

            for note in index.manifest_notes:  # what parsing said, said again on warm starts
                warnings.warn(note, ManifestWarning, stacklevel=2)
        name = installed_name(manifest.base_dir, manifest.name)
        if name != manifest.name:
            manifest = manifest._replace(name=validate_package_name(name, file=manifest.file, key=INSTALL_RECORD))
        try:
            return self.load_manifest(manifest, as_dependency=as_dependency, shadow_ok=shadow_ok, index=index)
        finally:
            if index is not None and self.index_cache is not None:
                self.index_cache.save(index)

    def load_manifest(
        self,
        manifest: Manifest,
        *,
        as_dependency: bool = False,
        shadow_ok: bool = False,
        index: PackageIndex | None = None,
    ) -> PackageInfo | None:
        """Load an already-read manifest (see ``load``), using ``index`` for unchanged files."""
        rt = self.runtime
        existing = rt.packages.get(manifest.name)
        if existing is not None:
            if _same_folder(package_folder(existing), manifest.base_dir):
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
        # Recording the path and the package together: another thread loading the same
        # package into this runtime then finds its PackageInfo, never a gap.
        with rt._lock:
            if not rt._record_loaded_path(os.path.realpath(manifest.file or manifest.base_dir)):
                return self._package_at(manifest.base_dir)
            rt.register_package(info, make_default=not as_dependency)
        rt.register_many(self._discover_sections(manifest, info, index))
        for dependency in manifest.dependencies:
            self._load_dependency(manifest, dependency)
        return info

    def _package_at(self, base_dir: str) -> PackageInfo | None:
        for info in self.runtime.packages.values():
            if info.alias is None and _same_folder(package_folder(info), base_dir):
                return info
        return None

    def _load_dependency(self, parent: Manifest, dependency: PathEntry) -> None:
        where = parent.file or parent.base_dir
        path = dependency.path
        bundled = os.path.join(parent.base_dir, PROJECT_PACKAGES_FOLDER, declared_folder_name(path))
        if not os.path.exists(path) and os.path.isfile(os.path.join(bundled, MANIFEST_NAME)):
            # A dependency shipped inside the package by `export_package(..., bundle_deps=True)`.
            path = bundled
        if not os.path.exists(path):
            self.report("missing-dependency", f"{where}: dependency {dependency.raw!r} not found at {path}; skipped.", parent.file)
            return
        if os.path.isdir(path) and not os.path.isfile(os.path.join(path, MANIFEST_NAME)):
            self.report(
                "missing-dependency",
                f"{where}: dependency {dependency.raw!r} at {path} has no {MANIFEST_NAME}; skipped.",
                parent.file,
            )
            return
        info = self.load(path, as_dependency=True)
        if info is not None and dependency.alias:
            self.add_alias(info, dependency.alias, where)

    def add_alias(self, info: PackageInfo, alias: str, where: object = None) -> None:
        """Make the loaded package ``info`` visible under ``alias`` too, sharing its nodes."""
        rt = self.runtime
        if alias == info.name:
            return
        existing = rt.packages.get(alias)
        if existing is not None:
            if existing.name != info.name or not _same_folder(package_folder(existing), package_folder(info)):
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
                node.aliased(f"{alias}.{node.namespace[len(prefix):]}")
                for node in list(rt.iter_nodes())
                if node.namespace.startswith(prefix)
            ]
        )

    # ------------------------------------------------------------------------- sections

    def _section_table(self, index: PackageIndex | None) -> list[tuple[SectionSpec, str]]:
        """``(spec, plugin name)`` for every plugin section: from the index when it has one."""
        rows = index.sections if index is not None else None  # a property that checks files: read once
        if rows is not None:
            try:
                return [
                    (SectionSpec(name=n, resource_type=t, default_folder=f, description=d, cacheable=bool(c)), str(p))
                    for n, t, p, c, f, d in rows
                ]
            except (TypeError, ValueError):
                pass
        owners = self.host.section_table().values()
        table = [(spec, record.name) for spec, record in owners]
        if index is not None:
            code = [path for _, record in owners for path in record.code_files]
            index.set_sections([[s.name, s.resource_type, p, s.cacheable, s.default_folder, s.description] for s, p in table], code)
        return table

    def _discover_sections(self, manifest: Manifest, info: PackageInfo, index: PackageIndex | None) -> list[ResourceNode]:
        table = self._section_table(index)
        claimed = {spec.name for spec, _ in table}
        # A table no plugin claims is a generic file section of its own type.
        generic = [
            (SectionSpec(name=name, resource_type=name, cacheable=True), "")
            for name in manifest.sections
            if name not in claimed
        ]
        nodes: dict[str, ResourceNode] = {}
        for spec, plugin in table + generic:
            self.runtime.sections.declare(spec.name, spec.resource_type)
            self._collect(manifest, info, spec, plugin, manifest.sections.get(spec.name), nodes, index)
        return list(nodes.values())

    def _folders(self, manifest: Manifest, spec: SectionSpec, table: SectionTable | None) -> Iterator[tuple[str, str, PathEntry | None]]:
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
    ) -> None:
        where = manifest.file or manifest.base_dir
        for path, prefix, entry in self._folders(manifest, spec, table):
            if not os.path.isdir(path):
                if entry is not None:
                    self.report("missing-folder", f"{where}: [{spec.name}] path {entry.raw!r} not found at {path}; skipped.", manifest.file)
                if index is not None:
                    index.set_folder(spec.name, path, prefix, None, None)
                continue
            options = table.options if table is not None else {}
            job = _FolderJob(manifest, info, spec, plugin, path, prefix, options)
            if index is not None and spec.cacheable:
                found = self._cached_folder(job, index)
            else:
                found = self._discover(job)
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

    def _folder(self, job: _FolderJob, *, only: list[str] | None = None, problems: dict[str, list[str]] | None = None) -> SectionFolder:
        from lllm.discovery import SectionFolder

        def report(message: str, file: Path | None) -> None:
            if problems is not None and file is not None:
                problems.setdefault(str(file), []).append(message)
            self.report("import", message, file)

        return SectionFolder(
            job.spec, job.path, job.info, job.prefix,
            plugin_name=job.plugin, package_root=job.manifest.base_dir, report=report, only=only, options=job.options,
        )

    def _discover(self, job: _FolderJob, folder: SectionFolder | None = None) -> list[ResourceNode]:
        """The nodes the owning plugin (or the generic file section) finds in ``job``'s folder."""
        folder = folder or self._folder(job)
        if not job.plugin:
            from lllm.sections.files import file_nodes

            return file_nodes(folder)
        record = next((r for r in self.host.records() if r.name == job.plugin), None)
        if record is None:
            # Only a damaged cached section table names a plugin that is not there: ask the
            # plugin that owns the section now.
            owner = self.host.section_table().get(job.spec.name)
            if owner is None:
                self.report("plugin", f"{job.manifest.file or job.manifest.base_dir}: no plugin provides [{job.spec.name}]; skipped.")
                return []
            record = owner[1]
        return self.host.discover(record, folder)

    def _cached_folder(self, job: _FolderJob, index: PackageIndex) -> list[ResourceNode]:
        """The folder's nodes: cached ones for unchanged files, discovered ones for the rest."""
        spec, root, prefix = job.spec, job.path, job.prefix
        cached_dirs, cached = index.folder(spec.name, root, prefix)
        seen_at = time.time_ns()
        current = restat(root, cached_dirs, cached) if cached_dirs else None
        dirs = cached_dirs
        if current is None:
            current, walked = walk_stats(root)
            dirs = [
                [relative, trusted_time(mtime, seen_at), ctime, inode]
                for relative, mtime, ctime, inode in walked
            ]
        try:
            changed = [
                file
                for file, relative, size, mtime in current
                if (entry := cached.get(relative)) is None or entry[0] != size or entry[1] != mtime
            ]
            if not changed and dirs is cached_dirs:
                return self._unchanged_folder(job, current, cached)  # the record stays as it is
        except (TypeError, ValueError, KeyError, IndexError, AttributeError):
            # A malformed record: forget the cache for this folder and discover it whole.
            index.set_folder(spec.name, root, prefix, None, None)
            return self._discover(job)
        changed_names = set(changed)
        fresh: dict[str, list[ResourceNode]] = {}
        problems: dict[str, list[str]] = {}
        origins: dict[int, tuple[Path, str]] = {}
        if changed:
            folder = self._folder(job, only=changed, problems=problems)
            for node in self._discover(job, folder):
                fresh.setdefault(str(node.metadata.get("file_path")), []).append(node)
            origins = folder.origins
        namespace, package_root, base_metadata = self._cache_context(job)
        nodes: list[ResourceNode] = []
        records: dict[str, Any] | None = {}
        for file, relative, size, mtime in current:
            if file in changed_names:
                found = fresh.get(file, [])
                nodes.extend(found)
                specs = [describe_node(node, origins) for node in found]
                if records is not None and all(s is not None for s in specs):
                    flat = [item for spec in specs for item in spec]  # type: ignore[union-attr]
                    records[relative] = [size, trusted_time(mtime, seen_at), flat, problems.get(file) or None]
                else:
                    records = None  # something only a plugin can rebuild: do not cache this folder
                continue
            record = cached[relative]
            try:
                add_cached_nodes(nodes, [(file, record[2])], package_root, namespace, spec.resource_type, base_metadata)
                stored_problems = [str(m) for m in record[3] or ()]
            except (TypeError, ValueError, KeyError, IndexError, AttributeError):
                index.set_folder(spec.name, root, prefix, None, None)
                return self._discover(job)
            for message in stored_problems:
                self.report("import", message, file)
            if records is not None:
                records[relative] = record
        index.set_folder(spec.name, root, prefix, dirs, records)
        return nodes

    def _unchanged_folder(self, job: _FolderJob, current: list[tuple[str, str, int, int]], cached: dict[str, Any]) -> list[ResourceNode]:
        """The nodes of a folder whose cached record matches every file (errors of a
        malformed record propagate to ``_cached_folder``)."""
        namespace, package_root, base_metadata = self._cache_context(job)
        records = [cached[relative] for _, relative, _, _ in current]
        nodes: list[ResourceNode] = []
        add_cached_nodes(
            nodes, [(file, record[2]) for (file, _, _, _), record in zip(current, records)],
            package_root, namespace, job.spec.resource_type, base_metadata,
        )
        reported = [
            (file, [str(m) for m in record[3]]) for (file, _, _, _), record in zip(current, records) if record[3]
        ]
        for file, messages in reported:
            for message in messages:
                self.report("import", message, file)
        return nodes

    @staticmethod
    def _cache_context(job: _FolderJob) -> tuple[str, str, dict[str, Any]]:
        """``(namespace, package root, shared metadata)`` of the nodes built from a folder's
        cache: what a ``SectionFolder`` of the job would say (see ``import_anchor``)."""
        package = job.info.effective_name
        base_metadata = {"package": package, "section": job.spec.name, "plugin": job.plugin}
        return f"{package}.{job.spec.name}", import_anchor(job.path, job.manifest.base_dir), base_metadata


class _FolderJob(NamedTuple):
    """One section folder of one package to load."""

    manifest: Manifest
    info: PackageInfo
    spec: SectionSpec
    plugin: str
    path: str
    prefix: str
    options: Mapping[str, Any]


def load_package(path: str | os.PathLike[str], *, runtime: Runtime | None = None, strict: bool = False) -> PackageInfo | None:
    """Load a package (its ``lllm.toml`` or the folder holding it) and its dependencies.

    Resources go into ``runtime`` (the default runtime if omitted); the first package loaded
    into an empty runtime becomes its default namespace. A path that does not exist raises
    ``FileNotFoundError``; a malformed manifest ``ManifestError``. Other problems (files that
    fail to import, duplicate keys, missing dependencies or folders) are ``RuntimeWarning``s,
    or, with ``strict=True``, collected and raised together as ``PackageProblemsError``.
    Returns the package's ``PackageInfo`` (``None`` if a package of that name from another
    folder was already loaded).
    """
    rt = get_default_runtime() if runtime is None else runtime
    if not strict:
        return PackageLoader(rt).load(path)
    from lllm.manifest import ManifestWarning
    from lllm.plugin_manager import PluginWarning

    problems: list[LoadProblem] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ManifestWarning)
        warnings.simplefilter("always", PluginWarning)
        info = PackageLoader(rt, on_problem=problems.append).load(path)
    for warning in caught:
        if issubclass(warning.category, (ManifestWarning, PluginWarning)):
            kind = "manifest" if issubclass(warning.category, ManifestWarning) else "plugin"
            problems.append(LoadProblem(kind, str(warning.message)))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if problems:
        raise PackageProblemsError(problems)
    return info
