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
import time
from pathlib import Path

from venvtools import (
    COMMAND_TIMEOUT,
    PIP_TIMEOUT,
    REPO,
    clean_environment,
    copy_source,
    create_venv,
    run,
)

PLUGIN = REPO / "plugins" / "lllm-datasets"


def test_example_plugin_installs_into_a_clean_venv_and_the_lllm_command_sees_it(
    tmp_path: Path,
) -> None:
    assert (PLUGIN / "pyproject.toml").is_file(), f"the example plugin is missing: {PLUGIN}"
    started = time.monotonic()
    env = clean_environment(tmp_path)
    venv = create_venv(tmp_path / "venv", env)
    python, lllm = venv.python, venv.script("lllm")

    sources = tmp_path / "src"
    core = copy_source(REPO, sources / "lllm")
    plugin = copy_source(PLUGIN, sources / "lllm-datasets")
    run(
        [str(python), "-m", "pip", "install", "--quiet", str(core), str(plugin)],
        env=env,
        cwd=tmp_path,
        timeout=PIP_TIMEOUT,
    )
    installed = time.monotonic()

    # The plugin's section, from the plugin's own distribution, next to the built-in ones.
    listing = json.loads(
        run([str(lllm), "plugins", "--json"], env=env, cwd=tmp_path, timeout=COMMAND_TIMEOUT).stdout
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
    rows = json.loads(run([*ls, "--json"], env=env, cwd=tmp_path, timeout=COMMAND_TIMEOUT).stdout)
    assert [(r["key"], r["type"]) for r in rows] == [
        ("demo.datasets:cities", "dataset"),
        ("demo.datasets:nested/events", "dataset"),
    ]
    table = run(ls, env=env, cwd=tmp_path, timeout=COMMAND_TIMEOUT).stdout
    assert "demo.datasets:cities" in table and "demo.datasets:nested/events" in table

    shown = run(
        [str(lllm), "show", "datasets:cities"], env=env, cwd=project, timeout=COMMAND_TIMEOUT
    ).stdout
    assert "key:     demo.datasets:cities" in shown
    assert '"rows": 2' in shown and '"name": "Osaka"' in shown

    # The helper the distribution exports, on the default runtime lllm fills at import.
    code = "from lllm_datasets import load_dataset; print(load_dataset('nested/events')[1]['kind'])"
    assert (
        run([str(python), "-c", code], env=env, cwd=project, timeout=COMMAND_TIMEOUT).stdout.strip()
        == "buy"
    )

    finished = time.monotonic()
    print(
        f"venv + pip install: {installed - started:.1f}s; lllm commands: {finished - installed:.1f}s"
    )
