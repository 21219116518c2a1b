"""Walking section folders with plain strings: the skip rules and the stats the index cache checks.

No ``pathlib`` here: a warm start (everything from the index cache) walks nothing else.
"""

from __future__ import annotations

import os


def is_skipped(name: str) -> bool:
    """Whether a file or folder name is skipped by every walk (hidden, ``_private``, ``__pycache__``)."""
    return name.startswith((".", "_"))


def walk_stats(root: str) -> tuple[list[tuple[str, str, int, int]], list[tuple[str, int]]]:
    """The files under ``root`` with their stats, and the folders walked with theirs.

    Files are ``(path, relative path, size, mtime_ns)``: the same files as ``walk_files``
    (same skip rules, same order). Folders are ``(relative path, mtime_ns)``, ``""`` for
    ``root``; a folder's modification time changes when an entry is added, removed or
    renamed in it. Plain strings throughout: the index cache runs this at warm starts.
    """
    found: list[tuple[str, str, int, int]] = []
    folders: list[tuple[str, int]] = []

    def visit(folder: str, prefix: str, mtime: int) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        folders.append((prefix[:-1], mtime))
        for entry in entries:
            name = entry.name
            if name[0] in "._":
                continue
            try:
                if entry.is_dir():
                    visit(entry.path, f"{prefix}{name}/", entry.stat().st_mtime_ns)
                elif entry.is_file():
                    st = entry.stat()
                    found.append((entry.path, prefix + name, st.st_size, st.st_mtime_ns))
            except OSError:  # removed while walking
                continue

    try:
        visit(root, "", os.stat(root).st_mtime_ns)
    except OSError:
        pass
    return found, folders


def import_anchor(path: str, package_root: str | None) -> str:
    """The folder the files of section folder ``path`` import relative to: ``package_root``
    when ``path`` lies inside it (files of a package import from its root), else ``path``
    itself (a folder re-exported from elsewhere is its own root)."""
    if package_root is not None:
        real_root = os.path.realpath(package_root)
        real_path = os.path.realpath(path)
        if real_path == real_root or real_path.startswith(real_root + os.sep):
            return package_root
    return path
