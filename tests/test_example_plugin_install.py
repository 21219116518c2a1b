"""The example plugin ``plugins/lllm-datasets``, installed the way a user installs it.

A clean virtual environment gets lllm and the plugin from this repository with ``pip install``
(not editable, dependencies from the package index); the installed ``lllm`` command must then
list the plugin's section and the datasets of a project. This checks what the in-process
plugin tests cannot: that both distributions build, that their metadata declares the entry
points, and that lllm finds a third-party plugin it has never heard of.

Slow (15-20 s, nearly all of it ``pip``) and needs the package index (PyPI) for the build
backend and lllm's dependencies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "plugins" / "lllm-datasets"

#: Generous limits: creating the venv, then building both distributions and downloading
#: setuptools, pluggy, attrs and PyYAML.
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
    ".hypothesis",
    ".venv",
    "venv",
}


def _copy_source(source: Path, target: Path) -> Path:
    """Copy a distribution's source tree to ``target`` (so pip builds there, not in the repository)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in _SKIPPED or n.endswith(".egg-info")}
        if Path(folder) == source:
            skipped |= _TOP_LEVEL_SKIPPED & set(names)
        return skipped

    shutil.copytree(source, target, ignore=ignore)
    return target


def _describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"{result.args}\nexit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def _run(
    args: list[str], *, env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, _describe(result)
    return result


def test_example_plugin_installs_into_a_clean_venv_and_the_lllm_command_sees_it(
    tmp_path: Path,
) -> None:
    assert (PLUGIN / "pyproject.toml").is_file(), f"the example plugin is missing: {PLUGIN}"
    started = time.monotonic()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("LLLM_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["LLLM_HOME"] = str(tmp_path / "lllm-home")
    env["LLLM_CACHE_DIR"] = str(tmp_path / "lllm-cache")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], env=env, cwd=tmp_path, timeout=VENV_TIMEOUT)
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    suffix = ".exe" if os.name == "nt" else ""
    python, lllm = scripts / f"python{suffix}", scripts / f"lllm{suffix}"

    sources = tmp_path / "src"
    core = _copy_source(REPO, sources / "lllm")
    plugin = _copy_source(PLUGIN, sources / "lllm-datasets")
    _run(
        [str(python), "-m", "pip", "install", "--quiet", str(core), str(plugin)],
        env=env,
        cwd=tmp_path,
        timeout=PIP_TIMEOUT,
    )
    installed = time.monotonic()

    # The plugin's section, from the plugin's own distribution, next to the built-in ones.
    listing = json.loads(
        _run(
            [str(lllm), "plugins", "--json"], env=env, cwd=tmp_path, timeout=COMMAND_TIMEOUT
        ).stdout
    )
    assert listing["conflict"] is None
    plugins = {p["name"]: p for p in listing["plugins"]}
    assert {"prompts", "configs", "datasets"} <= set(plugins), sorted(plugins)
    datasets = plugins["datasets"]
    assert datasets["distribution"] == "lllm-datasets"
    assert datasets["status"] == "loaded", datasets["error"]
    assert datasets["builtin"] is False
    assert datasets["sections"] == [
        {
            "name": "datasets",
            "resource_type": "dataset",
            "default_folder": "datasets",
            "description": "records of .csv and .jsonl files",
        }
    ]

    # A project's datasets, listed and read through the installed command.
    project = tmp_path / "project"
    (project / "datasets" / "nested").mkdir(parents=True)
    (project / "lllm.toml").write_text(
        '[package]\nname = "demo"\nversion = "0.1.0"\n', encoding="utf-8"
    )
    (project / "datasets" / "cities.csv").write_text(
        "name,country\nParis,FR\nOsaka,JP\n", encoding="utf-8"
    )
    (project / "datasets" / "nested" / "events.jsonl").write_text(
        '{"id": 1}\n{"id": 2, "kind": "buy"}\n', encoding="utf-8"
    )
    (project / "prompts").mkdir()
    (project / "prompts" / "hello.md").write_text("Hello {name}.\n", encoding="utf-8")

    ls = [str(lllm), "ls", "--type", "dataset", "--project", str(project)]
    rows = json.loads(_run([*ls, "--json"], env=env, cwd=tmp_path, timeout=COMMAND_TIMEOUT).stdout)
    assert [(r["key"], r["type"]) for r in rows] == [
        ("demo.datasets:cities", "dataset"),
        ("demo.datasets:nested/events", "dataset"),
    ]
    table = _run(ls, env=env, cwd=tmp_path, timeout=COMMAND_TIMEOUT).stdout
    assert "demo.datasets:cities" in table and "demo.datasets:nested/events" in table

    shown = _run(
        [str(lllm), "show", "cities"], env=env, cwd=project, timeout=COMMAND_TIMEOUT
    ).stdout
    assert "key:     demo.datasets:cities" in shown
    assert '"rows": 2' in shown and '"name": "Osaka"' in shown

    # The helper the distribution exports, on the default runtime lllm fills at import.
    code = "from lllm_datasets import load_dataset; print(load_dataset('nested/events')[1]['kind'])"
    assert (
        _run(
            [str(python), "-c", code], env=env, cwd=project, timeout=COMMAND_TIMEOUT
        ).stdout.strip()
        == "buy"
    )

    finished = time.monotonic()
    print(
        f"venv + pip install: {installed - started:.1f}s; lllm commands: {finished - installed:.1f}s"
    )
