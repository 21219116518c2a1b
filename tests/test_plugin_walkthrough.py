"""docs/plugin_tutorial.md, run end to end in a fresh virtual environment.

The page is a terminal session: its ``<!-- file: PATH -->`` blocks are written into a
temporary folder, then its blocks run in page order, as a user following it would run them:

- every line of its ``bash`` blocks (``python -m venv``, activation, ``cd``, ``python ...``,
  ``unzip -l``; any other command fails the test, so the page cannot show one that was never
  run). ``python`` and ``lllm`` are those of the virtual environment the page creates, which
  this interpreter's ``venv`` module makes without system site-packages; ``path/to/lllm``
  stands for a copy of this checkout. The plugin's own tests run there with lllm's pytest
  fixtures, against the installed wheel.
- its ``console`` blocks, run there in their ``<!-- cwd: -->`` folder, must print the table
  shown (a path under ``site-packages`` is compared from there on, and the version of lllm's
  own rows is not compared);
- its ``python`` blocks run there too, in their ``cwd``.

Then what the page claims is checked: the wheels hold what it lists, and the same pack
built without its ``[tool.setuptools.package-data]`` ships without ``lllm.toml``, which
lllm reports. ``tests/test_docs.py`` runs none of these blocks (they are marked, or need the
distributions installed), and ``pip`` uses its usual configuration, as in
``test_example_plugin_install.py``: lllm's dependencies come from the package index.

Slow: about 15 s, most of it creating the environment and installing lllm.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from test_docs import DOCS, Block, _console_steps, parse_blocks
from venvtools import (
    COMMAND_TIMEOUT,
    PIP_TIMEOUT,
    REPO,
    Venv,
    clean_environment,
    copy_source,
    create_venv,
    describe,
    run,
)

PAGE = DOCS / "plugin_tutorial.md"
#: What ``path/to/lllm`` in the page's commands stands for.
LLLM_PLACEHOLDER = "path/to/lllm"
PACK = "acme-evals-pack"
PACK_WHEEL = "acme_evals_pack-1.0.0-py3-none-any.whl"
PLUGIN_WHEEL = "lllm_evals-0.1.0-py3-none-any.whl"
#: The files the walkthrough must define, at least (the test relies on them).
REQUIRED_FILES = {
    "lllm-evals/pyproject.toml",
    "lllm-evals/src/lllm_evals/__init__.py",
    "lllm-evals/src/lllm_evals/plugin.py",
    "lllm-evals/src/lllm_evals/readers.py",
    "lllm-evals/tests/test_evals.py",
    f"{PACK}/pyproject.toml",
    f"{PACK}/src/acme_evals/lllm.toml",
    "my-app/lllm.toml",
}


@dataclass
class Session:
    """The terminal session the page describes: a working folder and, once made, a venv."""

    root: Path
    env: dict[str, str]
    lllm_source: Path
    cwd: Path = field(init=False)
    venv: Venv | None = None
    active: bool = False
    #: Each command run, as written on the page, with its result.
    results: list[tuple[str, subprocess.CompletedProcess[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cwd = self.root

    def program(self, name: str) -> str:
        assert self.venv is not None and self.active, (
            f"the page runs {name!r} before activating a virtual environment"
        )
        return str(self.venv.script(name))

    def shell(self, line: str) -> None:
        """Run one line of a ``bash`` block."""
        args = shlex.split(line, comments=True)
        match args:
            case []:
                return
            case ["python", "-m", "venv", folder]:
                self.venv = create_venv(self.cwd / folder, self.env)
            case ["." | "source", script]:
                assert self.venv is not None, f"{line!r}: no virtual environment made yet"
                assert (self.cwd / script).resolve().is_relative_to(self.venv.root.resolve())
                self.active = True
            case ["cd", folder]:
                self.cwd = (self.cwd / folder).resolve()
                assert self.cwd.is_dir(), f"{line!r}: no folder {self.cwd}"
            case ["python", *rest]:
                rest = [str(self.lllm_source) if a == LLLM_PLACEHOLDER else a for a in rest]
                timeout = PIP_TIMEOUT if rest[:2] == ["-m", "pip"] else COMMAND_TIMEOUT
                self.record(line, [self.program("python"), *rest], timeout)
            case ["lllm", *rest]:
                self.record(line, [self.program("lllm"), *rest], COMMAND_TIMEOUT)
            case ["unzip", "-l", archive]:  # as `python -m zipfile -l`: unzip may be missing
                self.record(line, [self.program("python"), "-m", "zipfile", "-l", archive])
            case _:
                raise AssertionError(f"the page runs a command this test does not know: {line!r}")

    def record(
        self, line: str, args: list[str], timeout: float = COMMAND_TIMEOUT, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = run(args, env=self.env, cwd=cwd or self.cwd, timeout=timeout)
        self.results.append((line, result))
        return result

    def output(self, prefix: str) -> str:
        """The output of the one command run whose line starts with ``prefix``."""
        found = [result.stdout for line, result in self.results if line.startswith(prefix)]
        assert len(found) == 1, f"{len(found)} commands start with {prefix!r}"
        return found[0]


def _folder(root: Path, block: Block) -> Path:
    return root / block.markers["cwd"][0] if "cwd" in block.markers else root


def _table(text: str) -> list[list[str]]:
    """The rows of a table the ``lllm`` command printed, made comparable: a path from
    ``site-packages`` on, and no version in the rows of lllm's own distribution."""
    rows = [re.split(r" {2,}", line.strip()) for line in text.strip().splitlines()]
    header = rows[0] if rows else []
    for row in rows[1:]:
        for index, cell in enumerate(row):
            if "site-packages" in cell:
                row[index] = cell.replace("\\", "/").partition("site-packages/")[2]
        if {"DISTRIBUTION", "VERSION"} <= set(header) and row[
            header.index("DISTRIBUTION")
        ] == "lllm":
            row[header.index("VERSION")] = "*"
    return rows


def _wheel_files(wheel: Path, package: str) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if name.startswith(f"{package}/")}


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def test_the_plugin_tutorial_runs_end_to_end(tmp_path: Path) -> None:
    blocks = parse_blocks(PAGE)
    files = {path: block.code for block in blocks for path in block.markers.get("file", [])}
    missing = REQUIRED_FILES - set(files)
    assert not missing, f"{PAGE.name} no longer defines {sorted(missing)}"
    root = tmp_path / "walkthrough"
    _write(root, files)

    env = clean_environment(tmp_path)
    session = Session(root, env, copy_source(REPO, tmp_path / "lllm-source"))
    shown = ran = 0
    for block in blocks:
        if "file" in block.markers:
            continue
        if block.lang == "bash":
            for line in block.code.splitlines():
                session.shell(line)
        elif block.lang == "console":
            for command, expected in _console_steps(block.code):
                args = shlex.split(command)
                assert args[0] == "lllm", f"{block.id}: only lllm commands are shown: {command!r}"
                result = session.record(
                    command,
                    [session.program("lllm"), *args[1:]],
                    cwd=_folder(root, block),
                )
                assert _table(result.stdout) == _table(expected), (
                    f"{block.id}: `{command}` printed:\n{result.stdout}"
                )
                shown += 1
        elif block.lang == "python" and "no-run" not in block.markers:
            session.record(
                f"python block at {block.id}",
                [session.program("python"), "-c", block.code],
                cwd=_folder(root, block),
            )
            ran += 1
    assert session.venv is not None and (shown, ran) == (4, 1), "the page's session changed shape"

    # The plugin's tests ran against the installed wheel, every one of them, with lllm's fixtures.
    test_count = files["lllm-evals/tests/test_evals.py"].count("\ndef test_")
    assert test_count >= 4
    assert f"{test_count} passed" in session.output("python -m pytest"), session.output(
        "python -m pytest"
    )
    assert (root / "lllm-evals" / "dist" / PLUGIN_WHEEL).is_file()

    # lllm installed from its source (not editable) ships its type information.
    session.record(
        "lllm is typed",
        [
            session.program("python"),
            "-c",
            "import importlib.resources as r; assert r.files('lllm').joinpath('py.typed').is_file()",
        ],
    )

    # `lllm plugins`: the section comes from the plugin's distribution, not from lllm.
    listing = json.loads(
        session.record("lllm plugins --json", [session.program("lllm"), "plugins", "--json"]).stdout
    )
    assert listing["conflict"] is None
    [evals] = [p for p in listing["plugins"] if p["name"] == "evals"]
    assert (evals["distribution"], evals["status"], evals["builtin"]) == (
        "lllm-evals",
        "loaded",
        False,
    ), evals
    assert evals["sections"] == [
        {
            "name": "evals",
            "resource_type": "eval",
            "default_folder": "evals",
            "description": "eval cases in YAML",
        }
    ]

    # The pack's wheel holds every file of the package: those the page lists, those it wrote.
    [listed] = [
        b.code.split()
        for b in blocks
        if b.lang == "text" and b.code.split() and b.code.startswith("acme_evals/")
    ]
    written = {
        "acme_evals/" + path.partition("/src/acme_evals/")[2]
        for path in files
        if path.startswith(f"{PACK}/src/acme_evals/")
    }
    in_wheel = _wheel_files(root / PACK / "dist" / PACK_WHEEL, "acme_evals")
    assert in_wheel == set(listed) == written, (in_wheel, listed, written)
    assert all(name in session.output("unzip -l") for name in listed)

    # The same pack without its package-data table ships no lllm.toml, and lllm says so.
    bare = tmp_path / "without-package-data"
    _write(bare, {p.partition("/")[2]: c for p, c in files.items() if p.startswith(f"{PACK}/")})
    pyproject = bare / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    stripped = re.sub(r"(?ms)^\[tool\.setuptools\.package-data\]\n.*?(?=^\[|\Z)", "", text)
    assert stripped != text, "the pack's pyproject.toml has no [tool.setuptools.package-data]"
    pyproject.write_text(stripped, encoding="utf-8")
    python = session.program("python")
    pip_wheel = [
        python,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        "dist",
        ".",
    ]
    session.record("build without package data", pip_wheel, PIP_TIMEOUT, cwd=bare)
    assert _wheel_files(bare / "dist" / PACK_WHEEL, "acme_evals") == {"acme_evals/__init__.py"}
    reinstall = [
        python,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--force-reinstall",
        f"dist/{PACK_WHEEL}",
    ]
    session.record("install without package data", reinstall, PIP_TIMEOUT, cwd=bare)
    check = subprocess.run(
        [session.program("lllm"), "check"],
        cwd=root / "my-app",
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert check.returncode == 1, describe(check)
    assert "(distribution acme-evals-pack) was skipped" in check.stdout, describe(check)
    assert "has no lllm.toml" in check.stdout, describe(check)
