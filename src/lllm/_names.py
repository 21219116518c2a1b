"""Where a package's manifest may be, by the LLLM framework's rules (plain ``os``: ``import
lllm`` looks for a project with this before anything else is imported)."""

from __future__ import annotations

import os

#: The names of a package's manifest, in the order they are looked for.
MANIFEST_NAMES = ("lllm.toml", ".lllm.toml", "LLLM.toml")
#: Where a project's manifest is looked for in each folder from the start upward: the folder
#: itself, then its ``template/`` subfolder.
PROJECT_SUBFOLDERS = ("", "template")


def manifest_in(folder: str, *, any_entry: bool = False) -> str | None:
    """The manifest file of the package folder ``folder`` (``lllm.toml``, else
    ``.lllm.toml``, else ``LLLM.toml``), or ``None``. With ``any_entry``, an entry of that
    name that is not a regular file counts too (reading it then says what is wrong)."""
    exists = os.path.lexists if any_entry else os.path.isfile
    for name in MANIFEST_NAMES:
        path = os.path.join(folder, name)
        if exists(path):
            return path
    return None


def project_manifest_at(folder: str) -> str | None:
    """The project manifest found at ``folder`` (in it, else in its ``template/``), or ``None``."""
    for sub in PROJECT_SUBFOLDERS:
        found = manifest_in(os.path.join(folder, sub) if sub else folder)
        if found is not None:
            return found
    return None
