"""Where index files live, and looking after that folder: ``lllm cache info`` and ``lllm cache clear``.

Files: ``<digest>.<cache tag>.idx`` per package manifest (replaced in place when the
environment changes), ``env-<digest>.<cache tag>.idx`` per environment (facts such as the
pip-shipped package folders) and ``bytecode/<digest>.<cache tag>.pyc`` per package Python
file (see ``lllm._imports``). Environment files are pruned when a new one is written: the
newest ``KEEP_ENVIRONMENTS`` stay, and none older than ``MAX_AGE_DAYS``; package and bytecode
files not written for ``MAX_AGE_DAYS`` go too (they are made again when needed).
"""

from __future__ import annotations

import os
import sys
import time
import zlib
from typing import Any

SUFFIX = ".idx"
ENVIRONMENT_PREFIX = "env-"
BYTECODE_FOLDER = "bytecode"
KEEP_ENVIRONMENTS = 8
MAX_AGE_DAYS = 30


def cache_dir() -> str | None:
    """Where index files live, or ``None`` when ``LLLM_NO_CACHE`` is set."""
    from lllm._flags import flag

    if flag("LLLM_NO_CACHE", False):
        return None
    return default_cache_dir()


def default_cache_dir() -> str:
    """The cache folder, whether or not the cache is switched off: ``LLLM_CACHE_DIR``, else
    the platform's user cache folder."""
    configured = os.environ.get("LLLM_CACHE_DIR")
    if configured:
        return os.path.expanduser(configured)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
        return os.path.join(base, "lllm", "Cache")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Caches", "lllm")
    return os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "lllm"
    )


def digest(text: str) -> str:
    """A short name for ``text``. Not a security boundary: each file also stores what it is
    for and is checked against it on reading, so a collision only costs a re-discovery."""
    data = text.encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(data):08x}{zlib.crc32(data[::-1]):08x}"


def package_file(directory: str, real_manifest: str) -> str:
    """The index file of the manifest at ``real_manifest`` (one per Python version: marshal
    data is read by the Python that wrote it)."""
    return os.path.join(
        directory, f"{digest(real_manifest)}.{sys.implementation.cache_tag}{SUFFIX}"
    )


def environment_file(directory: str, environment: Any) -> str:
    """The environment file for ``environment`` (its ``repr`` is deterministic plain data)."""
    return os.path.join(
        directory,
        f"{ENVIRONMENT_PREFIX}{digest(repr(environment))}.{sys.implementation.cache_tag}{SUFFIX}",
    )


def _index_files(directory: str, suffix: str = SUFFIX) -> list[tuple[str, os.stat_result]]:
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name.endswith(suffix) and not entry.name.startswith("."):
            try:
                found.append((entry.path, entry.stat()))
            except OSError:
                pass
    return found


def prune(directory: str, *, now: float | None = None) -> int:
    """Remove old files from ``directory`` (see the module doc); the number removed."""
    now = time.time() if now is None else now
    limit = now - MAX_AGE_DAYS * 86400
    environments = []
    doomed = []
    for path, st in _index_files(directory):
        if os.path.basename(path).startswith(ENVIRONMENT_PREFIX):
            environments.append((st.st_mtime, path))
        if st.st_mtime < limit:
            doomed.append(path)
    doomed.extend(
        path
        for path, st in _index_files(os.path.join(directory, BYTECODE_FOLDER), ".pyc")
        if st.st_mtime < limit
    )
    environments.sort(reverse=True)
    doomed.extend(path for _, path in environments[KEEP_ENVIRONMENTS:])
    removed = 0
    for path in set(doomed):
        try:
            os.unlink(path)
            removed += 1
        except OSError:
            pass
    return removed


def describe(directory: str) -> dict[str, Any]:
    """What ``lllm cache info`` prints: the folder, its files and bytes, the environments
    and the packages recorded there."""
    from lllm._index.fileformat import read_record

    files = _index_files(directory)
    environments = []
    packages = []
    for path, st in sorted(files):
        data: dict[str, Any] = read_record(path) or {}
        env: dict[str, Any] = data["env"] if isinstance(data.get("env"), dict) else {}
        entry = {
            "file": path,
            "bytes": st.st_size,
            "written": st.st_mtime,
            "python": str(env.get("python", "?")).split()[0],
            "lllm": env.get("lllm"),
        }
        if os.path.basename(path).startswith(ENVIRONMENT_PREFIX):
            entry["paths"] = [p[0] for p in env.get("paths", []) if isinstance(p, list) and p]
            environments.append(entry)
        else:
            manifest = data.get("manifest_file")
            entry["manifest"] = manifest
            entry["exists"] = isinstance(manifest, str) and os.path.isfile(manifest)
            packages.append(entry)
    bytecode = _index_files(os.path.join(directory, BYTECODE_FOLDER), ".pyc")
    return {
        "directory": directory,
        "files": len(files) + len(bytecode),
        "bytes": sum(st.st_size for _, st in files) + sum(st.st_size for _, st in bytecode),
        "environments": environments,
        "packages": packages,
        "bytecode": {"files": len(bytecode), "bytes": sum(st.st_size for _, st in bytecode)},
    }


def clear(directory: str) -> int:
    """Remove every index and bytecode file (and leftover temporary file) from ``directory``;
    the number removed."""
    removed = 0
    bytecode = os.path.join(directory, BYTECODE_FOLDER)
    try:
        entries = list(os.scandir(directory)) + (
            list(os.scandir(bytecode)) if os.path.isdir(bytecode) else []
        )
    except OSError:
        return 0
    for entry in entries:
        name = entry.name
        if name.endswith((SUFFIX, ".pyc")) or (
            name.startswith((".lllm-index-", ".lllm-env-", ".lllm-pyc-")) and name.endswith(".tmp")
        ):
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed
