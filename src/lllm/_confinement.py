"""What an installed package may reach: only its own folder.

A package installed from a zip (either scope), a dependency bundled inside one
(``lllm_packages/``), any package in the project or user scope folder, and a package shipped
through ``lllm.packages`` are untrusted data until a project loads them: every section
folder they name must lie inside their own folder once links are resolved, and walks of
their folders skip links that lead outside (``lllm._walk.walk_stats(..., confine=...)``).

A dependency of such a package is loaded from the path it declares when that lies inside the
package, or names a package *beside* it (``../name``: a folder with an ``lllm.toml`` in the
same folder, such as another package of the scope or another bundled dependency); otherwise
from its bundled copy ``lllm_packages/<name>`` when there is one (an exported project whose
dependency was bundled); otherwise it is refused. The dependency is confined in turn.

A project's own manifest (found from the cwd, ``LLLM_CONFIG``, or a path given to
``load_package``) is trusted: its user wrote it, so its absolute and ``..`` paths are kept,
and the packages it names by path are trusted too, unless they are installed packages
(``is_installed_location``).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from lllm._manifest import MANIFEST_NAME, Manifest, ManifestError, PathEntry
from lllm._walk import inside

#: The folder bundled dependencies and project-scope packages live in.
PACKAGES_FOLDER = "lllm_packages"


def real_folder(manifest: Manifest) -> str:
    """The real path of the manifest's folder: what its package is confined to."""
    return os.path.realpath(manifest.base_dir)


def dependency_target(
    manifest: Manifest, dependency: PathEntry, has_manifest: Callable[[str], bool] = os.path.isfile
) -> str | None:
    """Where a confined package's ``dependency`` is loaded from (see the module doc), or
    ``None`` when it may not be loaded. ``has_manifest(path)`` says whether a manifest file
    exists (an archive's listing, before it is extracted)."""
    root = real_folder(manifest)
    folder = _declared_folder(dependency)
    if inside(os.path.realpath(folder), root):
        return dependency.path
    beside = _beside(manifest, folder)
    if beside is not None and has_manifest(os.path.join(beside, MANIFEST_NAME)):
        return beside
    bundled = os.path.join(manifest.base_dir, PACKAGES_FOLDER, os.path.basename(folder))
    if has_manifest(os.path.join(bundled, MANIFEST_NAME)) and inside(
        os.path.realpath(bundled), root
    ):
        return bundled
    return None


def check_confined(
    manifest: Manifest, has_manifest: Callable[[str], bool] = os.path.isfile
) -> None:
    """Raise ``ManifestError`` naming the manifest, the key and the resolved path of the first
    section path leading outside the package's folder, or dependency it may not load (one
    naming a folder beside it that does not exist yet is a missing dependency, not an escape)."""
    root = real_folder(manifest)
    file = manifest.file or os.path.join(manifest.base_dir, MANIFEST_NAME)
    for index, dependency in enumerate(manifest.dependencies):
        if dependency_target(manifest, dependency, has_manifest) is None:
            beside = _beside(manifest, _declared_folder(dependency))
            if beside is None or os.path.lexists(beside):
                _refuse(
                    file, root, f"dependencies.packages[{index}]", dependency.raw, dependency.path
                )
    for table in manifest.sections.values():
        for index, entry in enumerate(table.paths or ()):
            if not inside(os.path.realpath(entry.path), root):
                _refuse(file, root, f"{table.name}.paths[{index}]", entry.raw, entry.path)


def _declared_folder(dependency: PathEntry) -> str:
    """The folder a dependency names (the folder of a manifest file it names)."""
    declared = os.path.normpath(dependency.path)
    return os.path.dirname(declared) if os.path.basename(declared) == MANIFEST_NAME else declared


def _beside(manifest: Manifest, folder: str) -> str | None:
    """``folder`` if it lies beside the package (``../name``, reached as the package was:
    a package linked into a scope has the scope's packages beside it), else ``None``."""
    base = os.path.normpath(manifest.base_dir)
    name = os.path.basename(folder)
    if (
        os.path.dirname(folder) == os.path.dirname(base)
        and folder != base
        and not name.startswith((".", "_"))
    ):
        return folder
    return None


def _refuse(file: str, root: str, key: str, raw: str, path: str) -> None:
    resolved = os.path.realpath(path)
    raise ManifestError(
        file,
        f"{raw!r} resolves to {resolved}, outside the package folder {root}: an installed package "
        "may only use folders inside its own folder (and depend on packages beside it or bundled in it)",
        key,
    )


def is_installed_location(folder: str) -> bool:
    """Whether the package folder ``folder`` is an installed one, confined even when a
    project names it as a dependency: inside an ``lllm_packages`` folder, inside the user
    scope, or carrying an install record."""
    from lllm._scopes import INSTALL_RECORD, lllm_home_text

    real = os.path.realpath(folder)
    if PACKAGES_FOLDER in real.split(os.sep)[:-1] or os.path.isfile(
        os.path.join(real, INSTALL_RECORD)
    ):
        return True
    return inside(real, os.path.realpath(os.path.join(lllm_home_text(), "packages")))
