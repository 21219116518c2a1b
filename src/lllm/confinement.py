"""What an installed package may reach: only its own folder.

A package installed from a zip (either scope), a dependency bundled inside one
(``lllm_packages/``) and a package shipped through ``lllm.packages`` are untrusted data until a
project loads them: every section folder they name must lie inside their own folder once
links are resolved, and walks of their folders skip links that lead outside
(``lllm.walk.walk_stats(..., confine=...)``). A dependency must lie inside the package (its
bundled ``lllm_packages/<name>``) or be a package *beside* it (``../name``: another package
installed in the same scope folder, another bundled dependency), itself confined in turn. A project's own manifest (found
from the cwd, ``LLLM_CONFIG``, or a path given to ``load_package``) is trusted: its user wrote
it, so its absolute and ``..`` paths are kept.
"""

from __future__ import annotations

import os

from lllm.manifest import Manifest, ManifestError
from lllm.walk import inside


def real_folder(manifest: Manifest) -> str:
    """The real path of the manifest's folder: what its package is confined to."""
    return os.path.realpath(manifest.base_dir)


def check_confined(manifest: Manifest) -> None:
    """Raise ``ManifestError`` naming the manifest, the key and the resolved path of the first
    section or dependency path that leads outside the package's folder."""
    root = real_folder(manifest)
    file = manifest.file or os.path.join(manifest.base_dir, "lllm.toml")
    for index, dependency in enumerate(manifest.dependencies):
        resolved = os.path.realpath(dependency.path)
        if os.path.basename(resolved) == "lllm.toml":
            resolved = os.path.dirname(resolved)  # a dependency named by its manifest file
        if os.path.dirname(resolved) != os.path.dirname(root) or resolved == root:  # not a package beside it
            _check(file, root, f"dependencies.packages[{index}]", dependency.raw, dependency.path)
    for table in manifest.sections.values():
        for index, entry in enumerate(table.paths or ()):
            _check(file, root, f"{table.name}.paths[{index}]", entry.raw, entry.path)


def _check(file: str, root: str, key: str, raw: str, path: str) -> None:
    resolved = os.path.realpath(path)
    if not inside(resolved, root):
        raise ManifestError(
            file,
            f"{raw!r} resolves to {resolved}, outside the package folder {root}: an installed package "
            "may only use folders inside its own folder (and depend on packages beside it)",
            key,
        )
