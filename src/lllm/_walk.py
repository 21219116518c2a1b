"""Walking section folders with plain strings: the skip rules and the stats the index cache checks.

No ``pathlib`` here: a warm start (everything from the index cache) walks nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple


def is_skipped(name: str) -> bool:
    """Whether a file or folder name is skipped by every walk: hidden (``.``) names and
    ``__pycache__``. ``_`` names are walked: which of them a section uses is its own rule
    (see ``is_private_file``)."""
    return name.startswith(".") or name == "__pycache__"


def is_private_file(name: str) -> bool:
    """Whether a file name is private (``_helpers.py``, ``_draft.md``): sections skip such
    files — the configs section excepted, which uses them (``configs/_base.yaml``) — as the
    LLLM framework does. A ``_`` folder is walked like any other."""
    return name.startswith("_")


#: What ``walk_stats`` records for a folder whose listing cannot be relied on next time.
UNKNOWN_FOLDER = (-1, -1, -1)


class WalkProblem(NamedTuple):
    """Something a walk skipped: ``kind`` is ``loop`` (a folder reached a second time, through
    a link), ``confinement`` (a link leading outside the folder the walk is confined to) or
    ``walk`` (a folder that cannot be listed, a name that is not valid UTF-8); ``path`` is
    the entry skipped."""

    kind: str
    message: str
    path: str


def inside(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or lies below it (both real, absolute paths)."""
    return path == root or path.startswith(root if root.endswith(os.sep) else root + os.sep)


def walk_stats(
    root: str, confine: str | None = None
) -> tuple[
    list[tuple[str, str, os.stat_result]], list[tuple[str, int, int, int]], list[WalkProblem]
]:
    """The files under ``root`` with their stats, the folders walked with theirs, and what
    was skipped.

    Files are ``(path, relative path, stat)`` in sorted walk order, hidden names and
    ``__pycache__`` skipped at every depth. Folders are ``(relative path, mtime_ns, ctime_ns, inode)``,
    ``""`` for ``root``: what changes when an entry is added, removed or renamed in the
    folder, or when a link to it is pointed elsewhere. Each real folder (device and inode) is
    walked once: a link back to a folder already walked (``ln -s . loop``) or a second link
    to one is skipped with a ``loop`` problem. With ``confine`` (a real path), a link whose
    target lies outside it is skipped with a ``confinement`` problem. A folder that could
    not be listed, that holds an entry that is neither a file nor a folder (a dangling link:
    what it will point to is in no folder's times) or that had something skipped gets
    ``UNKNOWN_FOLDER``, so it is walked again next time. The walk is iterative: any depth.
    Plain strings throughout: the index cache runs this.
    """
    found: list[tuple[str, str, os.stat_result]] = []
    folders: list[tuple[str, int, int, int]] = []
    problems: list[WalkProblem] = []
    seen: set[tuple[int, int]] = set()

    def open_folder(
        folder: str, prefix: str, st: os.stat_result
    ) -> tuple[int, str, Iterator[os.DirEntry[str]]]:
        index = len(folders)
        relative = prefix[:-1]
        seen.add((st.st_dev, st.st_ino))
        folders.append((relative, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            folders[index] = (relative, *UNKNOWN_FOLDER)
            problems.append(
                WalkProblem(
                    "walk", f"{folder}: cannot be listed, skipped: {exc.strerror or exc}", folder
                )
            )
            return index, prefix, iter(())
        return index, prefix, iter(entries)

    try:
        top = os.stat(root)
    except OSError:
        return found, folders, problems
    stack = [open_folder(root, "", top)]
    while stack:
        index, prefix, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        name = entry.name
        if name[0] == "." or name == "__pycache__":  # is_skipped, inlined in the hot loop
            continue
        if not name.isascii():
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:  # bytes that are not UTF-8: no key can be made of them
                shown = os.fsencode(entry.path).decode("utf-8", "backslashreplace")
                problems.append(
                    WalkProblem(
                        "walk", f"{shown}: skipped: the name is not valid UTF-8", entry.path
                    )
                )
                folders[index] = (folders[index][0], *UNKNOWN_FOLDER)
                continue
        try:
            if confine is not None and entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not inside(target, confine):
                    problems.append(
                        WalkProblem(
                            "confinement",
                            f"{entry.path}: skipped: a link to {target}, outside the package folder {confine}",
                            entry.path,
                        )
                    )
                    folders[index] = (folders[index][0], *UNKNOWN_FOLDER)
                    continue
            if entry.is_dir():
                # os.stat, as the index cache's check does (on Windows a DirEntry's stat
                # comes from the parent's listing).
                st = os.stat(entry.path)
                if (st.st_dev, st.st_ino) in seen:
                    problems.append(
                        WalkProblem(
                            "loop",
                            f"{entry.path}: skipped: it leads to a folder already walked (a link loop or a second link)",
                            entry.path,
                        )
                    )
                    folders[index] = (folders[index][0], *UNKNOWN_FOLDER)
                    continue
                stack.append(open_folder(entry.path, f"{prefix}{name}/", st))
            elif entry.is_file():
                # On Windows a DirEntry's stat has no inode or change time: ask the file.
                found.append(
                    (
                        entry.path,
                        prefix + name,
                        entry.stat() if os.name != "nt" else os.stat(entry.path),
                    )
                )
            else:
                folders[index] = (folders[index][0], *UNKNOWN_FOLDER)
        except OSError:  # removed while walking
            folders[index] = (folders[index][0], *UNKNOWN_FOLDER)
    return found, folders, problems


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
