"""Loading packages into a runtime.

``lllm.toml`` → manifest → for each section (from the plugins' declarations, or a generic
file section for a table no plugin claims) the owning plugin discovers nodes → the runtime
stores them. Dependencies load after their parent, once each; aliases share nodes.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable, Iterator

import attrs

from lllm.core.resource import PackageInfo, ResourceNode
from lllm.core.runtime import Runtime, get_default_runtime
from lllm.discovery import SectionFolder, SectionSpec
from lllm.manifest import (
    MANIFEST_NAME,
    Manifest,
    PathEntry,
    SectionTable,
    read_manifest,
    validate_package_name,
)
from lllm.plugin_manager import PluginRecord, host_for
from lllm.scopes import INSTALL_RECORD, PROJECT_PACKAGES_FOLDER, installed_name


@attrs.frozen
class LoadProblem:
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


def _same_folder(a: Path | None, b: Path | None) -> bool:
    return a is not None and b is not None and os.path.realpath(a) == os.path.realpath(b)


class PackageLoader:
    """Loads packages into one runtime, reporting problems as warnings or to a callback."""

    def __init__(self, runtime: Runtime, *, on_problem: Callable[[LoadProblem], None] | None = None) -> None:
        self.runtime = runtime
        self.host = host_for(runtime)
        self._on_problem = on_problem

    def report(self, kind: str, message: str, file: Path | None = None) -> None:
        """Record a problem: a ``RuntimeWarning``, or a call to the ``on_problem`` callback."""
        if self._on_problem is None:
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        else:
            self._on_problem(LoadProblem(kind, message, file))

    # ------------------------------------------------------------------------- packages

    def load(self, path: str | os.PathLike[str], *, as_dependency: bool = False, shadow_ok: bool = False) -> PackageInfo | None:
        """Load the package whose manifest (or folder) is ``path``, with its dependencies.

        Returns its ``PackageInfo``, or ``None`` when another package of that name was loaded
        first (a warning names both unless ``shadow_ok``, used for shadowed scopes).
        """
        manifest = read_manifest(path)
        name = installed_name(manifest.base_dir, manifest.name)
        if name != manifest.name:
            manifest = attrs.evolve(manifest, name=validate_package_name(name, file=manifest.file, key=INSTALL_RECORD))
        return self.load_manifest(manifest, as_dependency=as_dependency, shadow_ok=shadow_ok)

    def load_manifest(self, manifest: Manifest, *, as_dependency: bool = False, shadow_ok: bool = False) -> PackageInfo | None:
        """Load an already-read manifest (see ``load``)."""
        rt = self.runtime
        existing = rt.packages.get(manifest.name)
        if existing is not None:
            if _same_folder(existing.base_dir, manifest.base_dir):
                return existing
            if as_dependency and existing.version == manifest.version and existing.alias is None:
                # Another copy of the same release (two packages bundling one dependency).
                return existing
            if not shadow_ok:
                self.report(
                    "name-conflict",
                    f"Package {manifest.name!r} at {manifest.base_dir} was not loaded: a package of "
                    f"that name is already loaded from {existing.base_dir}.",
                    manifest.file,
                )
            return None
        if not rt._record_loaded_path(os.path.realpath(manifest.file or manifest.base_dir)):
            return self._package_at(manifest.base_dir)
        info = PackageInfo(manifest.name, manifest.version, manifest.description, manifest.base_dir)
        rt.register_package(info, make_default=not as_dependency)
        rt.register_many(self._discover_sections(manifest, info))
        for dependency in manifest.dependencies:
            self._load_dependency(manifest, dependency)
        return info

    def _package_at(self, base_dir: Path) -> PackageInfo | None:
        for info in self.runtime.packages.values():
            if info.alias is None and _same_folder(info.base_dir, base_dir):
                return info
        return None

    def _load_dependency(self, parent: Manifest, dependency: PathEntry) -> None:
        where = parent.file or parent.base_dir
        path = dependency.path
        bundled = parent.base_dir / PROJECT_PACKAGES_FOLDER / path.name
        if not path.exists() and (bundled / MANIFEST_NAME).is_file():
            # A dependency shipped inside the package by `export_package(..., bundle_deps=True)`.
            path = bundled
        if not path.exists():
            self.report("missing-dependency", f"{where}: dependency {dependency.raw!r} not found at {path}; skipped.", parent.file)
            return
        if path.is_dir() and not (path / MANIFEST_NAME).is_file():
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
            if existing.name != info.name or not _same_folder(existing.base_dir, info.base_dir):
                self.report(
                    "name-conflict",
                    f"{where}: alias {alias!r} for {info.name!r} was not applied: the name is already "
                    f"used by the package at {existing.base_dir}.",
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

    def _discover_sections(self, manifest: Manifest, info: PackageInfo) -> list[ResourceNode]:
        table = self.host.section_table()
        for spec, _ in table.values():
            self.runtime.sections.declare(spec.name, spec.resource_type)
        nodes: dict[str, ResourceNode] = {}
        for name, (spec, record) in table.items():
            self._collect(manifest, info, spec, manifest.sections.get(name), record, nodes)
        for name, section_table in manifest.sections.items():
            if name not in table:
                spec = SectionSpec(name=name, resource_type=name)
                self.runtime.sections.declare(name, name)
                self._collect(manifest, info, spec, section_table, None, nodes)
        return list(nodes.values())

    def _folders(self, manifest: Manifest, spec: SectionSpec, table: SectionTable | None) -> Iterator[tuple[Path, str, PathEntry | None]]:
        if table is None or table.paths is None:
            yield manifest.base_dir / spec.folder_name, "", None
            return
        for entry in table.paths:
            yield entry.path, entry.prefix, entry

    def _collect(
        self,
        manifest: Manifest,
        info: PackageInfo,
        spec: SectionSpec,
        table: SectionTable | None,
        record: PluginRecord | None,
        nodes: dict[str, ResourceNode],
    ) -> None:
        where = manifest.file or manifest.base_dir
        for path, prefix, entry in self._folders(manifest, spec, table):
            if not path.is_dir():
                if entry is not None:
                    self.report("missing-folder", f"{where}: [{spec.name}] path {entry.raw!r} not found at {path}; skipped.", manifest.file)
                continue
            folder = SectionFolder(
                spec,
                path,
                info,
                prefix,
                plugin_name=record.name if record is not None else "",
                package_root=manifest.base_dir,
                report=lambda message, file: self.report("import", message, file),
            )
            if record is None:
                from lllm.sections.files import file_nodes

                found = file_nodes(folder)
            else:
                found = self.host.discover(record, folder)
            for node in found:
                first = nodes.get(node.qualified_key)
                if first is not None:
                    self.report(
                        "collision",
                        f"Key {node.qualified_key!r} comes from both {first.metadata.get('file_path')} and "
                        f"{node.metadata.get('file_path')}; the first is kept.",
                        Path(node.metadata["file_path"]) if node.metadata.get("file_path") else None,
                    )
                    continue
                nodes[node.qualified_key] = node


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
    problems: list[LoadProblem] = []
    info = PackageLoader(rt, on_problem=problems.append).load(path)
    if problems:
        raise PackageProblemsError(problems)
    return info
