"""Walking section folders with plain strings: the skip rules and the stats the index cache checks.

No ``pathlib`` here: a warm start (everything from the index cache) walks nothing else.
"""

from __future__ import annotations

import os


def is_skipped(name: str) -> bool:
    """Whether a file or folder name is skipped by every walk (hidden, ``_private``, ``__pycache__``)."""
    return name.startswith((".", "_"))


#: What ``walk_stats`` records for a folder whose listing cannot be relied on next time.
UNKNOWN_FOLDER = (-1, -1, -1)


def walk_stats(root: str) -> tuple[list[tuple[str, str, os.stat_result]], list[tuple[str, int, int, int]]]:
    """The files under ``root`` with their stats, and the folders walked with theirs.

    Files are ``(path, relative path, stat)``: the same files as ``walk_files``
    (same skip rules, same order). Folders are ``(relative path, mtime_ns, ctime_ns, inode)``,
    ``""`` for ``root``: what changes when an entry is added, removed or renamed in the
    folder, or when a link to it is pointed elsewhere. A folder that could not be listed, or
    that holds an entry that is neither a file nor a folder (a dangling link: what it will
    point to is in no folder's times), gets ``UNKNOWN_FOLDER``, so it is walked again next
    time. Plain strings throughout: the index cache runs this.
    """
    found: list[tuple[str, str, os.stat_result]] = []
    folders: list[tuple[str, int, int, int]] = []

    def visit(folder: str, prefix: str, st: os.stat_result) -> None:
        index = len(folders)
        relative = prefix[:-1]
        folders.append((relative, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            folders[index] = (relative, *UNKNOWN_FOLDER)
            return
        for entry in entries:
            name = entry.name
            if name[0] in "._":
                continue
            try:
                if entry.is_dir():
                    # os.stat, as the index cache's check does (on Windows a DirEntry's
                    # stat comes from the parent's listing).
                    visit(entry.path, f"{prefix}{name}/", os.stat(entry.path))
                elif entry.is_file():
                    # On Windows a DirEntry's stat has no inode or change time: ask the file.
                    found.append((entry.path, prefix + name, entry.stat() if os.name != "nt" else os.stat(entry.path)))
                else:
                    folders[index] = (relative, *UNKNOWN_FOLDER)
            except OSError:  # removed while walking
                folders[index] = (relative, *UNKNOWN_FOLDER)

    try:
        top = os.stat(root)
    except OSError:
        return found, folders
    visit(root, "", top)
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
