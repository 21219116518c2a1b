"""Facts about one environment kept across processes (the ``lllm.packages`` entry points).

Valid only for the exact environment signature they were written under. Writing a new
environment's file prunes old ones (see ``location.prune``).
"""

from __future__ import annotations

from typing import Any

from lllm._index.fileformat import read_record, write_record
from lllm._index.fingerprint import environment
from lllm._index.location import cache_dir, environment_file, prune

FORMAT = "lllm-env/1"


def environment_facts() -> dict[str, Any] | None:
    """The facts recorded for this environment (``{}``-like when none), or ``None`` when the
    cache is off."""
    directory = cache_dir()
    if directory is None:
        return None
    data = read_record(environment_file(directory, environment()))
    if data is not None and data.get("format") == FORMAT and data.get("env") == environment():
        return data
    return {"format": FORMAT, "env": environment(), "new": True}


def save_environment_facts(facts: dict[str, Any]) -> None:
    """Write ``facts`` atomically (errors are ignored: it is only a cache); a new
    environment's first write prunes old files."""
    directory = cache_dir()
    if directory is None:
        return
    new = facts.pop("new", False)
    if (
        write_record(
            environment_file(directory, environment()), facts, temporary_prefix=".lllm-env-"
        )
        and new
    ):
        prune(directory)
