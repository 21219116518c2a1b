"""File-system operations that hostile trees cannot break: no recursion, no blocking reads.

Python's ``shutil.rmtree`` (before 3.13), ``os.makedirs`` and ``Path.mkdir(parents=True)``
recurse once per level, so a tree a thousand folders deep raises ``RecursionError``; and a
plain ``open()`` of a FIFO waits forever for a writer.
"""

from __future__ import annotations

import os
import stat


def read_regular_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of ``path``, opened without blocking; ``ValueError`` unless it is a regular
    file of at most ``limit`` bytes (``OSError`` when it cannot be opened)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(
                f"{os.fspath(path)} is not a regular file (a FIFO, a device or a folder)"
            )
        if st.st_size > limit:
            raise ValueError(f"{os.fspath(path)} is larger than {limit:,} bytes")
        chunks = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise ValueError(f"{os.fspath(path)} is larger than {limit:,} bytes")
    return data


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Delete the folder ``path`` and everything below it, at any depth, without following
    links (a link is removed, never what it points to). A missing ``path`` is fine; other
    errors raise ``OSError``."""
    top = os.fspath(path)
    try:
        if not stat.S_ISDIR(os.lstat(top).st_mode):
            os.unlink(top)
            return
    except FileNotFoundError:
        return
    stack = [(top, False)]
    while stack:
        folder, emptied = stack.pop()
        if emptied:
            os.rmdir(folder)
            continue
        stack.append((folder, True))
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, False))
                else:
                    os.unlink(entry.path)


def make_folders(path: str | os.PathLike[str], mode: int = 0o777) -> None:
    """``os.makedirs(path, exist_ok=True)`` without recursion: any depth."""
    missing = []
    current = os.path.abspath(os.fspath(path))
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, mode)
        except FileExistsError:
            if not os.path.isdir(folder):
                raise
