"""Helpers for the plugin tests: fake installed distributions, small lllm packages and
subprocess runs with a clean lllm environment.

A "test distribution" is real installed metadata in a folder put on ``sys.path``:
``<site>/<name>-<version>.dist-info/{METADATA,entry_points.txt}`` next to the plugin modules,
so ``importlib.metadata.entry_points(group="lllm.plugins")`` finds it the way it finds a
distribution installed with pip.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pkgtree import write_tree

ENTRY_POINT_GROUP = "lllm.plugins"

#: An editable plugin as a folder of a site dir: a package ``mini`` whose entry-point module
#: imports its ``SectionSpec`` (section ``notes``, default folder ``notes``, declared loader
#: ``read`` that upper-cases a file) and ``SUFFIX`` (``.txt``) from ``mini/spec.py``.
EDITABLE_PLUGIN: dict[str, str] = {
    "mini/__init__.py": "",
    "mini/spec.py": (
        "from lllm.plugin import SectionSpec\nSUFFIX = '.txt'\n"
        "def discover(folder):\n"
        "    return [folder.lazy(folder.file_key(f), 'read', f) for f in folder.files(suffixes=(SUFFIX,))]\n"
        "SPEC = SectionSpec(name='notes', resource_type='note', default_folder='notes', cacheable=True,\n"
        "                   loaders={'read': 'mini.read:read'}, discover=discover)\n"
    ),
    "mini/read.py": "def read(node):\n    with open(node.metadata['file_path']) as f:\n        return f.read().upper()\n",
    "mini/plugin.py": (
        "from lllm.plugin import hookimpl\nfrom mini.spec import SPEC\n"
        "@hookimpl\ndef lllm_sections():\n    return [SPEC]\n"
    ),
    "mini-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: mini\nVersion: 1.0\n",
    "mini-1.0.dist-info/entry_points.txt": "[lllm.plugins]\nmini = mini.plugin\n",
}

#: Environment variables that change how lllm finds and loads plugins or packages.
LLLM_PLUGIN_SWITCHES = ("LLLM_DISABLE_PLUGINS", "LLLM_PLUGINS_AUTOLOAD", "LLLM_STRICT_PLUGINS")


def make_distribution(
    site: Path,
    name: str,
    version: str,
    entry_points: Mapping[str, str],
    files: Mapping[str, str] = {},
    *,
    group: str = ENTRY_POINT_GROUP,
) -> Path:
    """Create an installed distribution ``name`` ``version`` in ``site`` and return its dist-info.

    ``entry_points`` maps entry-point names to ``module[:attr]`` values in ``group``; ``files``
    maps paths relative to ``site`` (``"my_plugin.py"``) to module sources.
    """
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = [f"[{group}]", *(f"{ep} = {target}" for ep, target in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_tree(site, files)
    return info


def top_level_modules(files: Mapping[str, Any]) -> set[str]:
    """The top-level module names that ``files`` (paths relative to a site folder) define."""
    names = set()
    for relative in files:
        first = Path(relative).parts[0]
        names.add(first.removesuffix(".py"))
    return names


def write_package(
    root: Path, name: str, files: Mapping[str, str | bytes] = {}, *, manifest: str = ""
) -> Path:
    """Create an lllm package folder ``root`` named ``name``: an ``lllm.toml`` plus ``files``.

    ``manifest`` is appended to the ``[package]`` table (section tables, dependencies, ...).
    """
    root.mkdir(parents=True, exist_ok=True)
    text = f'[package]\nname = "{name}"\nversion = "1.0.0"\n\n' + textwrap.dedent(manifest)
    (root / "lllm.toml").write_text(text, encoding="utf-8")
    write_tree(root, files)
    return root


# ----------------------------------------------------------------------- plugin sources

#: A third-party plugin adding ``datasets`` (type ``dataset``): ``.csv`` files, read lazily
#: into a list of rows. ``READS`` records every file actually read.
DATASETS_PLUGIN = """
    import csv
    import functools

    from lllm.plugin import SectionSpec, hookimpl

    READS = []


    def read_rows(path):
        READS.append(str(path))
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.reader(handle))


    @hookimpl
    def lllm_sections():
        return [SectionSpec(name="datasets", resource_type="dataset", description="CSV tables", discover=discover)]
    def discover(folder):
        return [
            folder.lazy(folder.file_key(file), functools.partial(read_rows, file), file)
            for file in folder.files(suffixes=(".csv",))
        ]
"""


def section_plugin(section: str, resource_type: str, suffix: str = ".txt") -> str:
    """Source of a plugin declaring ``section`` whose nodes are the stripped texts of its files."""
    return f"""
    from lllm.plugin import SectionSpec, hookimpl


    @hookimpl
    def lllm_sections():
        return [SectionSpec(name={section!r}, resource_type={resource_type!r}, discover=discover)]
    def discover(folder):
        return [
            folder.lazy(folder.file_key(f), lambda f=f: f.read_text().strip(), f)
            for f in folder.files(suffixes=({suffix!r},))
        ]
    """


# ---------------------------------------------------------------------------- packages

#: A package ``alpha`` with one of everything the built-ins find, plus a ``datasets/`` folder
#: (no ``[datasets]`` table: the default folder).
ALPHA_FILES: dict[str, str | bytes] = {
    "prompts/hi.md": "Hello {name}\n",
    "prompts/greet.py": """
        from lllm.core.prompt import Prompt

        hello = Prompt(path="hello", prompt="Hi there")
    """,
    "tactics/solo.py": """
        from lllm.core.tactic import Tactic

        class Solo(Tactic):
            name = "solo"
    """,
    "proxies/weather.py": """
        from lllm.proxies.base import BaseProxy

        class Weather(BaseProxy):
            _proxy_path = "weather"
    """,
    "configs/base.yaml": "model: small\n",
    "assets/logo.bin": b"\x89PNG",
    "datasets/x.csv": "a,b\n1,2\n",
    "datasets/sub/y.csv": "c\n3\n",
    "datasets/notes.txt": "not a csv\n",
}

#: The keys the built-in sections give for ``ALPHA_FILES``.
ALPHA_BUILTIN_KEYS = sorted(
    [
        "alpha.assets:logo.bin",
        "alpha.configs:base",
        "alpha.prompts:greet/hello",
        "alpha.prompts:hi",
        "alpha.proxies:weather",
        "alpha.tactics:solo",
    ]
)


# --------------------------------------------------------------------------- subprocess


def clean_env(home: Path, site: Path | None = None, **extra: str) -> dict[str, str]:
    """``os.environ`` without any ``LLLM_*`` variable, with ``LLLM_HOME=home`` and ``extra``.

    ``site`` (a folder of test distributions) goes first on ``PYTHONPATH``, before whatever
    the parent had there, so the child imports the same lllm as the tests.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env["LLLM_HOME"] = str(home)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_python(code: str, *, cwd: Path, env: Mapping[str, str]) -> Any:
    """Run ``code`` in a fresh interpreter; it must print one JSON document as its last line.

    Returns that document; a non-zero exit fails with the child's stderr.
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=dict(env),
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"child failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    lines = result.stdout.strip().splitlines()
    if not lines:
        raise AssertionError(f"child printed nothing; stderr:\n{result.stderr}")
    return json.loads(lines[-1])
