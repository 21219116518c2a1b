"""Signatures of files and folders, and re-checking a cached listing against the disk.

A file's signature is ``(size, mtime_ns, ctime_ns, inode)``. The change time cannot be set
by programs, so a file replaced by ``cp -a``, ``unzip -o``, ``git checkout`` or ``touch -d``
with its old size and modification time still differs. A time recorded so close to the
moment it was read that a later change could share it (one timestamp tick) is stored as
``-1``, which matches nothing, so that entry is looked at again next time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from stat import S_ISDIR, S_ISREG
from typing import Any

# How long after a change a timestamp may still be shared by a next change: one tick of the
# file system's clock (jiffies, or Windows' 15.6 ms) with a margin; 2 s on file systems that
# store whole seconds (FAT, HFS+, ext3).
_TICK_NS = 50_000_000
_COARSE_TICK_NS = 2_000_000_000

#: The signature of a file that does not exist (or cannot be read).
MISSING: tuple[int, int, int, int] = (-1, -1, -1, -1)


def trusted_time(time_ns: int, seen_at_ns: int) -> int:
    """``time_ns`` as the cache records it: ``-1`` (matches nothing) when the file or folder
    changed less than a clock tick before ``seen_at_ns``, when it was looked at, since a
    change right after could keep the same timestamp."""
    tick = _COARSE_TICK_NS if time_ns % 1_000_000_000 == 0 else _TICK_NS
    return -1 if time_ns > seen_at_ns - tick else time_ns


def signature(st: os.stat_result, seen_at_ns: int) -> tuple[int, int, int, int]:
    """The recorded signature of a file whose ``stat`` was taken at ``seen_at_ns``."""
    return (
        st.st_size,
        trusted_time(st.st_mtime_ns, seen_at_ns),
        trusted_time(st.st_ctime_ns, seen_at_ns),
        st.st_ino,
    )


def current_signature(st: os.stat_result) -> tuple[int, int, int, int]:
    """The signature to compare with a recorded one."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def signature_now(path: str) -> tuple[int, int, int, int]:
    """The recorded signature of ``path`` now (``MISSING`` if it cannot be read)."""
    seen_at = time.time_ns()
    try:
        return signature(os.stat(path), seen_at)
    except (OSError, ValueError):
        return MISSING


def unchanged(path: str, recorded: Any) -> bool:
    """Whether ``path`` still has the ``recorded`` signature (``MISSING``: still does not
    exist; a malformed signature never matches)."""
    if not isinstance(recorded, (tuple, list)):
        return False
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return tuple(recorded) == MISSING
    except (OSError, ValueError, TypeError):
        return False
    return tuple(recorded) == current_signature(st)


def dependency_unchanged(path: str, recorded: Any, module: str) -> bool:
    """Whether a recorded dependency still holds: the file keeps its signature, and a module
    found through ``sys.path`` is still found there (or, with ``path`` empty, still not found)."""
    if module:
        from lllm._imports import locate

        if locate(module) != (path or None):
            return False
    return not path or unchanged(path, recorded)


def restat(
    root: str, dirs: list[Any], files: Iterable[str]
) -> list[tuple[str, str, os.stat_result]] | None:
    """The files of a cached folder listing with their stats now, in the listing's order, or
    ``None`` when the listing cannot be trusted: a folder's times or inode differ from the
    recorded ones (an entry was added, removed or renamed in it, or a link to it points
    elsewhere now), or a file is gone or no longer a file.

    ``dirs`` is ``[[relative path, mtime_ns, ctime_ns, inode], ...]``, ``files`` relative
    paths. One ``stat`` per folder and per file, and no folder listing.
    """
    stat = os.stat
    sep = os.sep
    found = []
    try:
        files = list(files)
        if not walkable([folder[0] for folder in dirs if folder[0]]) or not walkable(files):
            return None
        for relative, mtime, ctime, inode in dirs:
            st = stat(f"{root}{sep}{relative}" if relative else root)
            if (
                st.st_mtime_ns != mtime
                or st.st_ctime_ns != ctime
                or st.st_ino != inode
                or not S_ISDIR(st.st_mode)
            ):
                return None
        for relative in files:
            path = f"{root}{sep}{relative if sep == '/' else relative.replace('/', sep)}"
            st = stat(path)
            if not S_ISREG(st.st_mode):
                return None
            found.append((path, relative, st))
    except (OSError, TypeError, ValueError):
        return None
    return found


def walkable(relatives: Iterable[str]) -> bool:
    """Whether every path in ``relatives`` is one a walk could have found: ``/``-separated
    segments, none empty, hidden or ``_``-private (so no ``.`` or ``..``), no other separator.

    Checked in one pass over the paths joined by NUL (``TypeError`` for a non-string).
    """
    text = "\0" + "\0".join(relatives) + "\0"
    if text == "\0\0":
        return True
    if any(bad in text for bad in _NOT_WALKABLE):
        return False
    return not any(separator in text for separator in _OTHER_SEPARATORS)


_NOT_WALKABLE = ("/.", "/_", "//", "\0.", "\0_", "\0/", "/\0", "\0\0")
_OTHER_SEPARATORS = tuple(s for s in (os.sep, os.altsep) if s and s != "/")
