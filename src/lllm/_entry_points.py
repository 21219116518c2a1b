"""Reading entry points: at most once per process and group, and only when asked."""

from __future__ import annotations

import threading
from typing import Any

_cache: dict[str, tuple[Any, ...]] = {}
_lock = threading.Lock()


def entry_points(group: str) -> tuple[Any, ...]:
    """The entry points of ``group``, read once per process and cached (one per name and value)."""
    cached = _cache.get(group)
    if cached is not None:
        return cached
    with _lock:
        cached = _cache.get(group)
        if cached is None:
            from importlib.metadata import entry_points as read_entry_points

            unique: dict[tuple[str, str], Any] = {}
            for ep in read_entry_points(group=group):
                # One distribution can be visible twice on sys.path; keep its first copy.
                unique.setdefault((ep.name, ep.value), ep)
            cached = _cache[group] = tuple(unique.values())
    return cached


def forget() -> None:
    """Drop the cached entry points (tests that change what is installed)."""
    with _lock:
        _cache.clear()
