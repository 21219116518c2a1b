"""Installing, exporting, listing and removing packages (``lllm pkg …``).

Installs go to a scope folder (``user``: ``$LLLM_HOME/packages``; ``project``: the project's
``lllm_packages``). An archive is checked whole before anything is written — the archive,
its manifests, that they name no folder outside the package (``lllm._confinement``), and the
file names discovery would register — without running any of its code; it is then extracted
into a temporary folder beside the destination and renamed into place under a file lock, so
a killed or concurrent install never leaves a half package visible.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from lllm._archive import ArchiveLimits, ArchivePlan, extract_package, inspect_archive
from lllm._manifest import Manifest, ManifestError, read_manifest, validate_package_name
from lllm._scopes import (
    INSTALL_RECORD,
    PIP_SCOPE,
    PROJECT_PACKAGES_FOLDER,
    SCOPES,
    ShippedPackage,
    check_scope,
    declared_folder_name,
    entry_point_packages,
    installed_name,
    packages_in,
    scope_dir,
)
from lllm._walk import is_skipped
from lllm.core.errors import PackageError, PackageNotLoadedError
from lllm.core.runtime import Runtime, get_default_runtime

_TEMP_PREFIX = ".lllm-tmp-"
_LOCK_SUFFIX = ".lllm-lock"
# A fixed timestamp makes exports byte-identical (zip timestamps cannot predate 1980).
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _runtime(runtime: Runtime | None) -> Runtime:
    return get_default_runtime() if runtime is None else runtime


def _staging_folder(root: Path) -> tuple[Path, FileLock]:
    """A new temporary folder in ``root``, and the lock (held) that says it is in use: the
    lock is taken before the folder exists, so a folder whose lock is free is abandoned."""
    name = f"{_TEMP_PREFIX}{uuid.uuid4().hex}"
    lock = FileLock(root / f"{name}{_LOCK_SUFFIX}")
    lock.acquire()
    folder = root / name
    folder.mkdir()
    return folder, lock


def _drop_staging(folder: Path, lock: FileLock) -> None:
    """Remove a temporary folder made by ``_staging_folder``, then its lock."""
    try:
        _remove_quietly(folder)
    finally:
        lock.release()
        with contextlib.suppress(OSError):
            os.unlink(lock.lock_file)


def _clean_stale_temporaries(root: Path) -> None:
    """Remove the temporary folders of installs and removals that are over (crashed or
    killed): those whose lock no process holds, on this machine or another sharing the
    folder."""
    for entry in root.glob(f"{_TEMP_PREFIX}*"):
        if entry.name.endswith(_LOCK_SUFFIX):
            folder = entry.with_name(entry.name[: -len(_LOCK_SUFFIX)])
            if os.path.lexists(folder):
                continue  # seen with its folder
            lock = FileLock(entry, timeout=0)  # killed before its folder was made, or after
        else:
            folder, lock = entry, FileLock(f"{entry}{_LOCK_SUFFIX}", timeout=0)
        try:
            lock.acquire()
        except Timeout:
            continue  # in use
        _drop_staging(folder, lock)


def _remove_quietly(folder: Path) -> None:
    """Delete ``folder`` (any depth); what cannot be deleted is left for the next clean-up."""
    from lllm._fs import remove_tree

    try:
        remove_tree(folder)
    except OSError:
        pass


def _check_complete(plan: Any, folder: Path) -> None:
    """Raise ``ArchiveError`` unless every file of ``plan`` is in ``folder`` with its size."""
    from lllm._archive import ArchiveError

    for info, relative in plan.files:
        target = folder / relative
        if not target.is_file() or target.stat().st_size != info.file_size:
            raise ArchiveError(
                f"{plan.archive}: {relative} is missing after extraction; nothing was installed."
            )


def install_package(
    zip_path: str | os.PathLike[str],
    *,
    alias: str | None = None,
    scope: str = "user",
    load: bool = True,
    runtime: Runtime | None = None,
    limits: ArchiveLimits | None = None,
) -> Path:
    """Install the package in ``zip_path`` into ``scope`` and return its folder.

    ``alias`` installs it under another package name (recorded beside the package; its
    manifest is left as shipped). Installing runs none of the package's code (see
    ``check_installable``); with ``load=True`` the package is then loaded into ``runtime``,
    confined to its folder, which imports its Python files as any load does.
    Raises ``FileNotFoundError`` (no zip), ``ValueError`` (bad scope or alias; ``ArchiveError``
    for a broken or unsafe archive; ``ManifestError`` for its manifest) and
    ``FileExistsError`` when a package of that name is already installed in the scope.
    """
    check_scope(scope)
    if alias is not None:
        validate_package_name(alias, key="alias")
    plan = inspect_archive(zip_path, limits or ArchiveLimits())
    name = alias or plan.manifest.name
    check_installable(plan, name)
    root = scope_dir(scope)
    root.mkdir(parents=True, exist_ok=True)
    destination = root / name
    with FileLock(root / f".{name}{_LOCK_SUFFIX}"):
        if os.path.lexists(destination):
            raise FileExistsError(17, f"Package {name!r} is already installed", str(destination))
        _clean_stale_temporaries(root)
        staging, held = _staging_folder(root)
        try:
            extract_package(plan, staging / "package")
            _check_complete(plan, staging / "package")
            record = {
                "name": name,
                "manifest_name": plan.manifest.name,
                "archive": plan.archive.name,
            }
            (staging / "package" / INSTALL_RECORD).write_text(json.dumps(record, indent=2) + "\n")
            os.rename(staging / "package", destination)
        finally:
            _drop_staging(staging, held)
    if load:
        from lllm._loader import PackageLoader, warn_problems

        loader = PackageLoader(_runtime(runtime))
        try:
            loader.load(destination, as_dependency=True, confined=True)
        finally:
            warn_problems(loader.take_problems())
    return destination


def check_installable(plan: ArchivePlan, name: str) -> None:
    """Refuse (``ArchiveError`` or ``ManifestError``, nothing written) an archive whose package
    could not be used once installed: a name lllm never loads (hidden or ``_`` names), any
    manifest in it — its own, bundled dependencies' at any depth, manifest files its
    dependencies name — using an absolute path or naming a folder outside its package, or a
    file in a section folder whose path cannot be a resource key. Nothing is imported."""
    from lllm._archive import ArchiveError
    from lllm._confinement import check_confined
    from lllm._manifest import parse_manifest_notes

    if name.startswith((".", "_")):
        raise ArchiveError(
            f"{plan.archive}: package name {name!r} starts with {name[0]!r}: lllm skips such folders, so it would never load."
        )
    base = plan.manifest.base_dir
    entries = {
        os.path.normpath(os.path.join(base, relative)): info for info, relative in plan.files
    }

    def has_manifest(path: str) -> bool:
        return os.path.normpath(path) in entries

    pending: list[tuple[str, Manifest | None]] = [
        (plan.manifest.file or os.path.join(base, "lllm.toml"), plan.manifest)
    ]
    pending += [
        (path, None)
        for path in entries
        if os.path.basename(path) == "lllm.toml" and path != plan.manifest.file
    ]
    seen: set[str] = set()
    with zipfile.ZipFile(plan.archive) as zf:
        while pending:
            file, manifest = pending.pop()
            if file in seen:
                continue
            seen.add(file)
            if manifest is None:
                manifest, _ = parse_manifest_notes(
                    zf.read(entries[file]).decode("utf-8-sig", "replace"), file
                )
            check_confined(manifest, has_manifest)
            _refuse_absolute(manifest)
            for dependency in manifest.dependencies:  # a dependency named by its manifest file
                target = os.path.normpath(dependency.path)
                if target in entries and target.endswith(".toml"):
                    pending.append((target, None))
    folders = [
        os.path.relpath(entry.path, base).replace(os.sep, "/")
        for table in plan.manifest.sections.values()
        for entry in (table.paths or ())
    ]
    from lllm._plugin_manager import BUILTIN_PLUGINS

    builtin_folders = [
        name for name, _ in BUILTIN_PLUGINS
    ]  # each built-in section's default folder is its name
    folders += [
        n
        for n in (*builtin_folders, *plan.manifest.sections)
        if plan.manifest.sections.get(n) is None or plan.manifest.sections[n].paths is None
    ]
    for _, relative in plan.files:
        for folder in folders:
            if relative.startswith(folder + "/"):
                inner = relative[len(folder) + 1 :]
                if ":" in inner and not any(is_skipped(part) for part in inner.split("/")):
                    raise ArchiveError(
                        f"{plan.archive}: {relative}: ':' cannot appear in a resource key (section folder {folder!r})."
                    )


def _refuse_absolute(manifest: Any) -> None:
    """An archive's manifests may not use absolute paths: they could only mean this machine
    (one naming the archive's own would-be folder passes ``check_confined`` but not a load)."""
    from lllm._manifest import ManifestError

    keyed = [
        (f"dependencies.packages[{i}]", d.raw.split(" as ")[0])
        for i, d in enumerate(manifest.dependencies)
    ]
    keyed += [
        (f"{table.name}.paths[{i}]", e.raw.split(" under ")[0])
        for table in manifest.sections.values()
        for i, e in enumerate(table.paths or ())
    ]
    for key, raw in keyed:
        if os.path.isabs(raw.strip()):
            raise ManifestError(
                manifest.file,
                f"{raw.strip()!r} is an absolute path, outside the package folder",
                key,
            )


def _export_files(
    base: Path, include_packages: bool, exclude: Path | None = None
) -> list[tuple[str, Path]]:
    """The files to export from ``base``: relative path and file, in sorted walk order, without
    hidden names, bytecode, links, the output zip itself and (unless ``include_packages``) the
    top-level ``lllm_packages/``. Iterative: any depth."""
    found: list[tuple[str, Path]] = []
    excluded = os.path.realpath(exclude) if exclude is not None else None
    pending = [(str(base), "")]
    while pending:
        folder, prefix = pending.pop()
        subfolders = []
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if (
                entry.name.startswith(".")
                or entry.name == "__pycache__"
                or entry.name.endswith((".pyc", ".pyo"))
            ):
                continue
            if not prefix and entry.name == PROJECT_PACKAGES_FOLDER and not include_packages:
                continue
            if entry.is_symlink():
                continue
            relative = f"{prefix}{entry.name}"
            if entry.is_dir():
                subfolders.append((entry.path, relative + "/"))
            elif entry.is_file() and os.path.realpath(entry.path) != excluded:
                found.append((relative, Path(entry.path)))
        pending.extend(reversed(subfolders))
    return sorted(found, key=lambda item: item[0])


def _dependency_folder(
    parent: str | os.PathLike[str], declared: str | os.PathLike[str]
) -> Path | None:
    """Where the loader finds a dependency declared by the package in ``parent``: the folder
    (or a manifest file's folder), else the package's own bundled copy; ``None`` if nowhere."""
    parent, path = Path(parent), Path(declared)
    folder = path.parent if path.is_file() else path
    if (folder / "lllm.toml").is_file():
        return folder
    bundled = parent / PROJECT_PACKAGES_FOLDER / declared_folder_name(path)
    if (bundled / "lllm.toml").is_file():
        return bundled
    return None


def _transitive_dependencies(base: Path) -> list[tuple[str, Path]]:
    """``(declared folder name, folder)`` of every package ``base`` depends on, directly or
    not, each once, in load order.

    Raises ``FileNotFoundError`` naming a dependency that cannot be found (a bundle must not
    silently lack one).
    """
    seen: set[str] = {os.path.realpath(base)}
    ordered: list[tuple[str, Path]] = []
    pending = [base]
    from lllm._confinement import check_confined, dependency_target, is_installed_location

    while pending:
        current = pending.pop(0)
        manifest = read_manifest(current)
        confined = current != base and is_installed_location(str(current))
        if confined:
            check_confined(manifest)  # an installed package bundles nothing from outside its folder
        for dependency in manifest.dependencies:
            if confined:
                target = dependency_target(manifest, dependency)
                folder = None if target is None else _dependency_folder(manifest.base_dir, target)
            else:
                folder = _dependency_folder(manifest.base_dir, dependency.path)
            if folder is None:
                raise FileNotFoundError(
                    2,
                    f"Dependency {dependency.raw!r} of {manifest.file} not found; cannot bundle it",
                    str(dependency.path),
                )
            real = os.path.realpath(folder)
            if real in seen:
                continue
            seen.add(real)
            ordered.append((declared_folder_name(dependency.path), Path(real)))
            pending.append(Path(real))
    return ordered


def _zip_name(output_path: str | os.PathLike[str]) -> Path:
    path = Path(output_path)
    return path if path.name.lower().endswith(".zip") else path.with_name(path.name + ".zip")


def export_package(
    package_name: str,
    output_path: str | os.PathLike[str],
    *,
    bundle_deps: bool = False,
    runtime: Runtime | None = None,
) -> Path:
    """Write the loaded package ``package_name`` to a zip and return the zip's path.

    The zip holds one top-level folder named after the package; entries are sorted with fixed
    timestamps and permissions, so the same content gives the same bytes. Hidden files,
    ``__pycache__``, compiled ``.pyc`` files, the output zip itself and the package's own
    ``lllm_packages/`` are left out, except that
    ``bundle_deps=True`` puts every transitive dependency under ``lllm_packages/<folder>/``,
    where the loader finds them after install. ``.zip`` is appended to a name without it.
    """
    rt = _runtime(runtime)
    info = rt.packages.get(package_name)
    if info is None or info.base_dir is None:
        known = ", ".join(sorted(rt.packages)) or "none"
        raise PackageNotLoadedError(
            f"Package {package_name!r} is not loaded; loaded packages: {known}."
        )
    base = Path(info.base_dir)
    target = _zip_name(output_path)
    # The zip never contains itself (an output path inside the package folder).
    entries = [(f"{package_name}/{rel}", file) for rel, file in _export_files(base, False, target)]
    if bundle_deps:
        used: dict[str, Path] = {}
        for folder, dependency in _transitive_dependencies(base):
            if folder in used and used[folder] != dependency:
                raise PackageError(
                    f"Cannot bundle both {used[folder]} and {dependency}: same folder name {folder!r}."
                )
            used[folder] = dependency
            prefix = f"{package_name}/{PROJECT_PACKAGES_FOLDER}/{folder}/"
            entries.extend(
                (prefix + rel, file) for rel, file in _export_files(dependency, False, target)
            )
    entries.sort(key=lambda item: item[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".lllm-export-", suffix=".zip", dir=target.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(
            temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6
        ) as zf:
            for name, file in entries:
                entry = zipfile.ZipInfo(name, date_time=_EPOCH)
                entry.external_attr = 0o100644 << 16
                entry.create_system = 3
                entry.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(entry, file.read_bytes())
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
    return target


def _describe(folder: Path, scope: str) -> dict[str, Any]:
    try:
        manifest = read_manifest(folder)
        name, version, description = manifest.name, manifest.version, manifest.description
    except (ManifestError, OSError) as exc:
        name, version, description = folder.name, "?", f"unreadable manifest: {exc}"
    return {
        "name": installed_name(folder, name),
        "version": version,
        "description": description,
        "scope": scope,
        "path": str(folder),
    }


def list_packages(
    scope: str | None = None, *, runtime: Runtime | None = None
) -> list[dict[str, Any]]:
    """Installed packages as dicts (name, version, description, scope, path): the project
    scope, the user scope, then the packages pip-installed distributions ship through the
    ``lllm.packages`` entry points (scope ``pip``, with a ``distribution`` key). Listing runs
    no package code: an entry point naming a callable is left out."""
    if scope != PIP_SCOPE:
        check_scope(scope, allow_none=True)
    scopes = SCOPES if scope is None else (scope,) if scope != PIP_SCOPE else ()
    found = [_describe(folder, s) for s in scopes for folder in packages_in(scope_dir(s))]
    if scope in (None, PIP_SCOPE):
        found += [
            {**_describe(Path(shipped.folder), PIP_SCOPE), "distribution": shipped.distribution}
            for shipped in _pip_packages()
        ]
    return found


def _pip_packages() -> list[ShippedPackage]:
    return entry_point_packages(run_code=False)


def _unregister(runtime: Runtime, folder: Path) -> None:
    """Forget every package (and alias) loaded from ``folder`` or below it (bundled dependencies)."""
    real = os.path.realpath(folder)

    def inside(path: Path | None) -> bool:
        if path is None:
            return False
        candidate = os.path.realpath(path)
        return candidate == real or candidate.startswith(real + os.sep)

    doomed = [(name, info) for name, info in runtime.packages.items() if inside(info.base_dir)]
    for name, _ in doomed:
        runtime.unload_package(name)


def remove_package(name: str, *, scope: str | None = None, runtime: Runtime | None = None) -> Path:
    """Delete the installed package ``name`` and unregister it from ``runtime``; return its old path.

    Without ``scope``, a name installed in both scopes raises ``ValueError`` naming both paths;
    a name installed nowhere raises ``FileNotFoundError``; a package a pip-installed
    distribution ships (scope ``pip``) raises ``PackageError`` naming the distribution to
    uninstall. Only folders directly inside the
    scope folder are deleted; a package that is a symbolic link is refused.
    """
    if scope != PIP_SCOPE:
        check_scope(scope, allow_none=True)
    validate_package_name(name, key="name")
    scopes = SCOPES if scope is None else (scope,) if scope != PIP_SCOPE else ()
    found = [(s, scope_dir(s) / name) for s in scopes if os.path.lexists(scope_dir(s) / name)]
    if not found and scope in (None, PIP_SCOPE):
        for shipped in _pip_packages():
            if installed_name(Path(shipped.folder), shipped.name) == name or shipped.name == name:
                raise PackageError(
                    f"Package {name!r} is shipped by the Python distribution "
                    f"{shipped.distribution!r} (pip scope, {shipped.folder}); lllm does not "
                    f"remove it: uninstall the distribution (pip uninstall {shipped.distribution})."
                )
    if not found:
        raise FileNotFoundError(
            2, f"Package {name!r} is not installed", ", ".join(str(scope_dir(s)) for s in scopes)
        )
    if len(found) > 1:
        paths = " and ".join(str(path) for _, path in found)
        raise PackageError(
            f"Package {name!r} is installed in both scopes ({paths}); pass scope='user' or 'project'."
        )
    _, folder = found[0]
    root = folder.parent
    if folder.is_symlink() or os.path.realpath(folder) != os.path.join(
        os.path.realpath(root), name
    ):
        raise PackageError(f"Refusing to remove {folder}: it is a link or lies outside {root}.")
    with FileLock(root / f".{name}{_LOCK_SUFFIX}"):
        doomed, held = _staging_folder(root)
        try:
            os.rename(folder, doomed / name)
        except FileNotFoundError:
            # Another remove of the same package won the lock first.
            raise FileNotFoundError(2, f"Package {name!r} is not installed", str(root)) from None
        finally:
            _drop_staging(doomed, held)
    _unregister(_runtime(runtime), folder)
    return folder
