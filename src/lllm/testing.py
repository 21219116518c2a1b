"""Helpers for testing lllm packages and plugins (also behind the pytest fixtures).

- ``write_files(folder, files)``, ``write_package(folder, files, name=...)``: files, or a
  package folder, from a dict of relative paths to contents.
- ``load_with_plugin(plugin, package, ...)``: load a package into a fresh runtime with a
  plugin object registered for that runtime only, without installing anything.
- ``installed_distribution(site, name, entry_points=..., modules=...)``: a real
  ``*.dist-info`` on ``sys.path`` for the ``with`` block, so ``importlib.metadata`` (and so
  lllm's plugin loading) sees its entry points exactly as after ``pip install``.
- ``assert_keys(runtime, expected, resource_type=None)``: compare keys with a readable diff.
- ``isolated_default_runtime()``: swap in a fresh default runtime for the ``with`` block.
- ``settle(folder)``: make a tree written just now one the index cache trusts at once.
- ``reset_plugins()``: forget the entry points and plugins read so far.
"""

from __future__ import annotations

import contextlib
import os
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from lllm.core.runtime import Runtime, get_default_runtime, set_default_runtime


def write_files(folder: str | os.PathLike[str], files: Mapping[str, str | bytes]) -> Path:
    """Write ``files`` (relative path → text, dedented, or bytes) under ``folder``; return it."""
    root = Path(folder)
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


def write_package(
    folder: str | os.PathLike[str],
    files: Mapping[str, str | bytes] | None = None,
    *,
    name: str | None = None,
    version: str = "0.1.0",
    manifest: str | None = None,
) -> Path:
    """Write a package into ``folder`` and return it.

    ``files`` maps relative paths to text (dedented) or bytes. Unless ``files`` has its own
    ``lllm.toml``, one is written: ``manifest`` (extra TOML appended after ``[package]``)
    with ``name`` (default: the folder's name) and ``version``.
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    files = dict(files or {})
    if "lllm.toml" not in files:
        header = f'[package]\nname = "{name or root.name}"\nversion = "{version}"\n'
        files["lllm.toml"] = header + (textwrap.dedent(manifest) if manifest else "")
    return write_files(root, files)


def load_with_plugin(
    plugin: Any, package: str | os.PathLike[str], *, name: str | None = None, strict: bool = True
) -> Runtime:
    """A fresh runtime with ``plugin`` registered for it alone, and ``package`` loaded into it.

    ``strict=True`` (the default) raises ``PackageProblemsError`` listing every problem, so
    a plugin's mistakes fail the test instead of becoming warnings.
    """
    from lllm._loader import load_package
    from lllm._plugin_manager import register_plugin

    runtime = Runtime(name="lllm-testing")
    register_plugin(plugin, name=name, runtime=runtime)
    load_package(package, runtime=runtime, strict=strict)
    return runtime


def assert_keys(
    runtime: Runtime, expected: Iterable[str], resource_type: str | None = None
) -> None:
    """Assert that ``runtime`` holds exactly the keys ``expected`` (of ``resource_type``)."""
    actual = set(runtime.keys(resource_type))
    wanted = set(expected)
    if actual != wanted:
        missing = sorted(wanted - actual)
        extra = sorted(actual - wanted)
        kind = f" of type {resource_type!r}" if resource_type else ""
        raise AssertionError(f"keys{kind} differ:\n  missing: {missing}\n  unexpected: {extra}")


def reset_plugins() -> None:
    """Make lllm forget the entry points and plugins it has read, in this process: the next
    load reads them again (after a test installed or removed a distribution)."""
    from lllm._plugin_manager import reset_plugins as reset

    reset()


@contextlib.contextmanager
def installed_distribution(
    site: str | os.PathLike[str],
    name: str,
    *,
    version: str = "1.0",
    entry_points: Mapping[str, Mapping[str, str]] | None = None,
    modules: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Make a distribution with ``entry_points`` visible to ``importlib.metadata`` in the block.

    Writes ``modules`` (relative path → source) and ``<name>-<version>.dist-info`` into
    ``site``, puts ``site`` first on ``sys.path`` and makes lllm forget the entry points
    and plugins it has read; on exit removes ``site`` from ``sys.path``, unloads the
    modules imported from it and makes lllm forget again.
    """
    root = Path(site)
    root.mkdir(parents=True, exist_ok=True)
    for relative, source in (modules or {}).items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(source), encoding="utf-8")
    dist_info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = []
    for group, points in (entry_points or {}).items():
        lines.append(f"[{group}]")
        lines.extend(f"{ep_name} = {value}" for ep_name, value in points.items())
        lines.append("")
    (dist_info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    sys.path.insert(0, str(root))
    reset_plugins()
    try:
        yield root
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(root))
        prefix = str(root)
        for module_name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", "") or "").startswith(prefix):
                del sys.modules[module_name]
        reset_plugins()


def settle(folder: str | os.PathLike[str], seconds: int = 60) -> Path:
    """Make the tree at ``folder``, written just now, one the index cache trusts; return it.

    The cache does not trust a time less than a clock tick old when read (a change right
    after could keep it), so a test whose second process must be a warm start settles its
    tree first: modification times move ``seconds`` into the past, and since change times
    cannot be moved (``utime`` itself sets them to now), it waits out one tick (60 ms).
    """
    import time

    root = Path(folder)
    for path in [root, *(root.rglob("*") if root.is_dir() else ())]:
        if not path.is_symlink():
            st = path.stat()
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 1_000_000_000))
    time.sleep(0.06)
    return root


@contextlib.contextmanager
def isolated_default_runtime() -> Iterator[Runtime]:
    """A fresh default runtime for the ``with`` block; the previous one is put back after."""
    previous = get_default_runtime()
    runtime = Runtime(name="lllm-testing-default")
    set_default_runtime(runtime)
    try:
        yield runtime
    finally:
        set_default_runtime(previous)
