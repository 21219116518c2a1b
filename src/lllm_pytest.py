"""lllm's pytest plugin (entry point ``pytest11``): fixtures for testing lllm packages and plugins.

A top-level module, outside the ``lllm`` package: pytest loads its plugins at start-up, and
importing anything inside ``lllm`` would run ``import lllm``'s automatic loading then, in
every pytest session, before the private index cache below is in place. lllm is imported
only by the tests that use it (and by the fixtures, lazily).

- ``lllm_runtime``: a fresh, isolated ``Runtime``.
- ``lllm_package``: a factory ``lllm_package(files, name="pkg", manifest=None)`` that writes
  a package folder under the test's ``tmp_path`` and returns its path.
- ``lllm_home``: an isolated ``LLLM_HOME`` (its user scope empty) for the test.

After every test that ran with lllm imported, the process-wide default runtime is put back
as it was (the same object, with the same content), even if the test replaced or filled it.
Unless ``LLLM_CACHE_DIR`` is set, the session (and its subprocesses) uses a private index
cache folder, so tests never read or write the user's cache.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def lllm_runtime() -> Any:
    """A fresh, isolated ``lllm.Runtime`` (nothing is loaded into it)."""
    from lllm.core.runtime import Runtime

    return Runtime(name="test")


@pytest.fixture
def lllm_package(tmp_path: Path) -> Callable[..., Path]:
    """A factory writing a package folder from a dict of files; returns the folder.

    ``lllm_package({"prompts/hello.md": "Hi {name}"}, name="demo", manifest="[data]\\n")``.
    Each call makes a new folder under the test's ``tmp_path``.
    """
    from lllm.testing import write_package

    count = 0

    def make(
        files: Mapping[str, str | bytes] | None = None,
        *,
        name: str = "pkg",
        version: str = "0.1.0",
        manifest: str | None = None,
    ) -> Path:
        nonlocal count
        count += 1
        return write_package(
            tmp_path / f"lllm-package-{count}" / name,
            files,
            name=name,
            version=version,
            manifest=manifest,
        )

    return make


@pytest.fixture
def lllm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated ``LLLM_HOME`` whose user scope (``packages/``) exists and is empty."""
    home = tmp_path / "lllm-home"
    (home / "packages").mkdir(parents=True)
    monkeypatch.setenv("LLLM_HOME", str(home))
    return home


def pytest_configure(config: pytest.Config) -> None:
    """Point ``LLLM_CACHE_DIR`` at a folder of this session, unless the user chose one.

    Done before collection, so a test module's ``import lllm`` already uses it.
    """
    import os

    if not os.environ.get("LLLM_CACHE_DIR"):
        use_session_folder(config, "LLLM_CACHE_DIR", "lllm-index-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's private index cache and unset ``LLLM_CACHE_DIR`` again."""
    drop_session_folder(config, "LLLM_CACHE_DIR")


_SESSION_FOLDERS = pytest.StashKey[dict]()


def use_session_folder(config: pytest.Config, variable: str, prefix: str) -> str:
    """Create an empty temporary folder, point environment ``variable`` at it for the
    session and return it (``drop_session_folder`` undoes both)."""
    import os
    import tempfile

    folder = tempfile.mkdtemp(prefix=prefix)
    config.stash.setdefault(_SESSION_FOLDERS, {})[variable] = folder
    os.environ[variable] = folder
    return folder


def drop_session_folder(config: pytest.Config, variable: str) -> None:
    """Unset ``variable`` (if it still names the folder ``use_session_folder`` made) and remove the folder."""
    import os
    import shutil

    folder = config.stash.get(_SESSION_FOLDERS, {}).pop(variable, None)
    if folder is None:
        return
    if os.environ.get(variable) == folder:
        del os.environ[variable]
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _lllm_restore_default_runtime() -> Iterator[None]:
    """Put the default runtime back after each test (only when lllm is in use)."""
    runtime_module = sys.modules.get("lllm.core.runtime")
    if runtime_module is None:
        yield
        return
    runtime = runtime_module.get_default_runtime()
    snapshot = runtime.snapshot()
    yield
    runtime_module.set_default_runtime(runtime)
    runtime.restore(snapshot)
