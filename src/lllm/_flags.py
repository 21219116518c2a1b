"""The ``LLLM_*`` on/off switches, read one way.

On: ``1``, ``true``, ``yes``, ``on``; off: ``0``, ``false``, ``no``, ``off`` (any case, spaces
ignored). Unset or empty keeps the switch's default. Anything else is not guessed at: it
gives a ``RuntimeWarning`` naming the variable and its value (once per process) and keeps
the default.
"""

from __future__ import annotations

import os

ON = frozenset({"1", "true", "yes", "on"})
OFF = frozenset({"0", "false", "no", "off"})
_warned: set[tuple[str, str]] = set()


def flag(name: str, default: bool) -> bool:
    """The value of switch ``name`` (see the module doc)."""
    value = os.environ.get(name)
    if value is None:
        return default
    text = value.strip().lower()
    if not text:
        return default
    if text in ON:
        return True
    if text in OFF:
        return False
    if (name, value) not in _warned:
        _warned.add((name, value))
        import warnings

        state = "on" if default else "off"
        warnings.warn(
            f"lllm: {name}={value!r} is not understood (use 1 or 0, true or false, yes or no, on or off); "
            f"it stays {state}",
            RuntimeWarning,
            stacklevel=3,
        )
    return default
