"""Per-process state reset in a child process after ``os.fork``.

A forked child inherits the parent's objects but only the thread that forked: an event
loop whose thread did not survive, or a lock some other thread held, would hang the child
on first use. Objects holding such state register here; one ``os.register_at_fork``
handler (installed once, for this package's objects only) calls their ``_after_fork()`` in
the child.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Protocol


class ForkSafe(Protocol):
    """An object that drops its per-process state in a forked child."""

    def _after_fork(self) -> None: ...


_objects: weakref.WeakSet[ForkSafe] = weakref.WeakSet()
_lock = threading.Lock()


def register(obj: ForkSafe) -> None:
    """Call ``obj._after_fork()`` in every child forked after this (while ``obj`` lives)."""
    with _lock:
        _objects.add(obj)


def _reset_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # it may have been held by a thread that did not survive
    for obj in list(_objects):
        obj._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
