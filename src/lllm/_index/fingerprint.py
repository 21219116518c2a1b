"""The environment signature an index file is valid for.

It holds lllm's version and a signature of its code, the Python version, ``sys.path`` (but
its first entry, the script's folder), the modification times of the ``sys.path`` folders
that hold distributions (installing, upgrading or removing a distribution, and so a plugin,
changes them) with a checksum of their ``.pth`` files and of every distribution's
``entry_points.txt`` (edited in place by some development installs), and the plugin
switches. A file written under any other signature is ignored.
"""

from __future__ import annotations

import os
import sys
import threading
import zlib
from typing import Any

_environment: dict[str, Any] | None = None
_lock = threading.Lock()
SWITCHES = ("LLLM_DISABLE_PLUGINS", "LLLM_PLUGINS_AUTOLOAD", "LLLM_STRICT_PLUGINS")


def environment() -> dict[str, Any]:
    """This process's environment signature (computed once; see ``forget``)."""
    global _environment
    current = _environment
    if current is None:
        with _lock:
            current = _environment
            if current is None:
                current = _environment = _compute()
    return current


def forget() -> None:
    """Compute the signature again on next use (tests that change what is installed)."""
    global _environment
    with _lock:
        _environment = None


def _compute() -> dict[str, Any]:
    from lllm import __version__

    paths = []
    for entry in sys.path:
        state = _distributions_state(entry)
        if state is not None:
            paths.append([entry, *state])
    return {
        "lllm": __version__,
        "python": sys.version,
        "sys_path": sys.path[1:],
        "paths": paths,
        "code": _code_signature(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        "switches": {name: os.environ.get(name, "") for name in SWITCHES},
    }


def _code_signature(package_dir: str) -> int:
    """A checksum of the name, size, modification and change time of every ``.py`` file of
    lllm: editing lllm (an editable install) invalidates every index file."""
    entries: list[str] = []
    pending = [package_dir]
    while pending:
        folder = pending.pop()
        try:
            listing = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in listing:
            if entry.name.endswith(".py") and entry.is_file():
                st = entry.stat()
                entries.append(f"{entry.path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}")
            elif entry.is_dir() and entry.name != "__pycache__" and not entry.name.startswith("."):
                pending.append(entry.path)
    return zlib.crc32("\n".join(entries).encode("utf-8", "surrogateescape"))


def _distributions_state(entry: str) -> tuple[int, int] | None:
    """``(modification time, checksum of its .pth and entry_points.txt files)`` of a
    ``sys.path`` entry that can hold distributions (and so plugins), else ``None``.

    A folder counts while it holds a ``*.dist-info`` or ``*.egg-info``: installing, upgrading
    or removing one changes the folder's time; editing a ``.pth`` file or an
    ``entry_points.txt`` in place does not, hence their size and times. Other folders (a
    script's own folder, say) are left out, so scripts run from different folders share one
    cache. A file entry (a zip or an egg) always counts.
    """
    if not entry:
        return None
    try:
        st = os.stat(entry)
        if not os.path.isdir(entry):
            return st.st_mtime_ns, 0
        names = os.listdir(entry)
    except OSError:
        return None
    if not any(name.endswith((".dist-info", ".egg-info")) for name in names):
        return None
    watched = [
        os.path.join(entry, name, "entry_points.txt")
        if name.endswith((".dist-info", ".egg-info"))
        else os.path.join(entry, name)
        for name in names
        if name.endswith((".dist-info", ".egg-info", ".pth"))
    ]
    details = []
    for path in sorted(watched):
        try:
            file = os.stat(path)
            details.append(f"{path}\0{file.st_size}\0{file.st_mtime_ns}\0{file.st_ctime_ns}")
        except OSError:
            continue
    return st.st_mtime_ns, zlib.crc32("\n".join(details).encode("utf-8", "surrogateescape"))
