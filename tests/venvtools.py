"""Fresh virtual environments for tests that install distributions the way a user does.

Used by ``test_example_plugin_install.py`` and ``test_plugin_walkthrough.py``. A test gets an
environment without the caller's ``LLLM_*``, ``PYTHON*`` and ``VIRTUAL_ENV`` variables
(``clean_environment``), a new virtual environment made by this interpreter's ``venv``
module, without system site-packages (``create_venv``: skipped only when the platform cannot
make one), and copies of source trees to build from (``copy_source``), so that ``pip`` never
writes ``build/`` or ``*.egg-info`` into the repository. ``pip`` uses its usual configuration
(the package index) for build backends and dependencies.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Generous limits: creating a venv, then building distributions and downloading
#: setuptools, pluggy, attrs, PyYAML and the like.
VENV_TIMEOUT = 300
PIP_TIMEOUT = 900
COMMAND_TIMEOUT = 120

# Never copied into the build folders: version control, other plugins, and build or cache
# output that a previous in-tree build could have left behind.
_TOP_LEVEL_SKIPPED = {".git", "plugins"}
_SKIPPED = {
    "build",
    "dist",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
    ".venv",
    "venv",
}


def clean_environment(tmp_path: Path) -> dict[str, str]:
    """This process's environment without ``LLLM_*``, ``PYTHON*`` and ``VIRTUAL_ENV``, with
    ``LLLM_HOME`` and ``LLLM_CACHE_DIR`` under ``tmp_path`` and pip kept quiet and non-interactive."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("LLLM_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["LLLM_HOME"] = str(tmp_path / "lllm-home")
    env["LLLM_CACHE_DIR"] = str(tmp_path / "lllm-cache")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


def copy_source(source: Path, target: Path) -> Path:
    """Copy a distribution's source tree to ``target`` (so pip builds there, not in the repository)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in _SKIPPED or n.endswith(".egg-info")}
        if Path(folder) == source:
            skipped |= _TOP_LEVEL_SKIPPED & set(names)
        return skipped

    shutil.copytree(source, target, ignore=ignore)
    return target


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """A command's arguments, exit status and output, for an assertion message."""
    return f"{result.args}\nexit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def run(
    args: list[str], *, env: dict[str, str], cwd: Path, timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run ``args``; fail the test, showing the output, unless it exits 0."""
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, describe(result)
    return result


@dataclass(frozen=True)
class Venv:
    """A virtual environment: its folder, its interpreter and its scripts."""

    root: Path

    @property
    def scripts(self) -> Path:
        return self.root / ("Scripts" if os.name == "nt" else "bin")

    def script(self, name: str) -> Path:
        """The path of the console script (or interpreter) ``name`` of this environment."""
        return self.scripts / (f"{name}.exe" if os.name == "nt" else name)

    @property
    def python(self) -> Path:
        return self.script("python")


def create_venv(path: Path, env: dict[str, str]) -> Venv:
    """A new virtual environment at ``path`` (with pip, without system site-packages).

    Skips the test when the platform cannot make one (no ``ensurepip``, as on a Debian Python
    without ``python3-venv``); any other failure fails it.
    """
    if importlib.util.find_spec("ensurepip") is None:
        pytest.skip("this Python has no ensurepip: it cannot create virtual environments")
    result = subprocess.run(
        [sys.executable, "-m", "venv", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=VENV_TIMEOUT,
        check=False,
    )
    if result.returncode != 0 and "ensurepip" in result.stdout + result.stderr:
        pytest.skip(f"this platform cannot create virtual environments:\n{result.stdout}")
    assert result.returncode == 0, describe(result)
    venv = Venv(path)
    assert venv.python.is_file(), f"no interpreter at {venv.python}"
    return venv
