"""The documentation in ``docs/`` stays true.

- Every ```` ```python ```` block of every page runs, each in a fresh subprocess whose working
  folder is a temporary folder holding a copy of ``examples/`` (the block is saved there as
  ``_doc_block.py`` and run as a script), with ``LLLM_HOME`` and ``LLLM_CACHE_DIR`` pointing at
  temporary folders and no other ``LLLM_*`` variable set.
- Every ```` ```console ```` block runs its ``$ lllm ...`` commands there and must print
  what the page shows; ```` ```bash ```` blocks whose lines all start with ``lllm `` must exit 0.
- Markers, HTML comments on the lines right above a fence:
  ``<!-- no-run -->`` (illustrative, not run), ``<!-- file: PATH -->`` (not run: the block is
  the content of PATH, written into the working folder of every later block of the page),
  ``<!-- cwd: PATH -->`` (run in that subfolder), ``<!-- requires: MODULE -->`` (skipped when
  MODULE is not importable), ``<!-- pytest -->`` (the block is a test module run by pytest).
- ``docs/hooks.md`` is what ``docs/gen_hooks.py`` generates, and every hook has a docstring.
- Reference pages mention every public name; ``mkdocs build --strict`` succeeds.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
TIMEOUT = 180

_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<body>.*?)\s*-->\s*$")
_CLI = "import sys, lllm_cli; sys.exit(lllm_cli.main())"


@dataclass
class Block:
    page: str
    line: int
    lang: str
    code: str
    markers: dict[str, list[str]] = field(default_factory=dict)
    files: list[tuple[str, str]] = field(default_factory=list)  # file blocks above it on the page

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def parse_blocks(page: Path) -> list[Block]:
    """The fenced code blocks of ``page`` with their markers and the file blocks above them."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    files: list[tuple[str, str]] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent = opening.group("indent")
        markers: dict[str, list[str]] = {}
        above = index - 1
        while above >= 0 and (marker := _MARKER.match(lines[above])):
            name, _, value = marker.group("body").partition(":")
            markers.setdefault(name.strip(), []).append(value.strip())
            above -= 1
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            line = lines[index]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            index += 1
        index += 1
        code = "\n".join(body) + "\n"
        block = Block(
            page.name, index - len(body) - 1, opening.group("lang"), code, markers, list(files)
        )
        blocks.append(block)
        for path in markers.get("file", []):
            files.append((path, code))
    return blocks


def _runnable(block: Block) -> bool:
    if "no-run" in block.markers or "file" in block.markers:
        return False
    if block.lang == "python" or block.lang == "console":
        return True
    if block.lang == "bash":
        commands = [
            line for line in block.code.splitlines() if line.strip() and not line.startswith("#")
        ]
        return bool(commands) and all(line.startswith("lllm ") for line in commands)
    return False


ALL_BLOCKS = [block for page in PAGES for block in parse_blocks(page)]
RUNNABLE = [block for block in ALL_BLOCKS if _runnable(block)]


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("LLLM_")}
    env["LLLM_HOME"] = str(tmp_path / "home" / ".lllm")
    env["LLLM_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["COLUMNS"] = "100"
    return env


def _workspace(tmp_path: Path, block: Block) -> Path:
    project = tmp_path / "project"
    shutil.copytree(
        ROOT / "examples", project / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    for relative, content in block.files:
        target = project / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    cwd = project / block.markers["cwd"][0] if "cwd" in block.markers else project
    cwd.mkdir(parents=True, exist_ok=True)
    return cwd


def _normalise(text: str, tmp_path: Path) -> str:
    """Temporary paths shown as ``~/project`` and ``~/.lllm``; runs of spaces (table padding,
    which depends on the length of those paths) compared as two spaces."""
    text = text.replace(str(tmp_path / "project"), "~/project").replace(str(tmp_path / "home"), "~")
    lines = [re.sub(r" {2,}", "  ", line.rstrip()) for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _console_steps(code: str) -> list[tuple[str, str]]:
    steps: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        elif line.strip():
            raise AssertionError(f"console block must start with a '$ ' command, got {line!r}")
    return [(command, "\n".join(output)) for command, output in steps]


def _pytest_plugin_args() -> list[str]:
    from importlib.metadata import entry_points

    if any(ep.value == "lllm_pytest" for ep in entry_points(group="pytest11")):
        return []
    return ["-p", "lllm_pytest"]


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.id for block in RUNNABLE])
def test_code_block_runs(block: Block, tmp_path: Path) -> None:
    for module in block.markers.get("requires", []):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    cwd = _workspace(tmp_path, block)
    env = _environment(tmp_path)
    where = f"{block.page}, block at line {block.line}"
    if block.lang == "python" and "pytest" in block.markers:
        test_file = cwd / "test_doc_block.py"
        test_file.write_text(block.code, encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *_pytest_plugin_args(),
            str(test_file),
        ]
        result = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
        assert result.returncode == 0, f"{where}:\n{result.stdout}\n{result.stderr}"
    elif block.lang == "python":
        script = cwd / "_doc_block.py"  # in the working folder, so its modules are importable
        script.write_text(block.code, encoding="utf-8")
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert result.returncode == 0, f"{where}:\n{result.stdout}\n{result.stderr}"
    elif block.lang == "console":
        for command, expected in _console_steps(block.code):
            args = shlex.split(command)
            assert args[0] == "lllm", f"{where}: only lllm commands run: {command!r}"
            result = subprocess.run(
                [sys.executable, "-c", _CLI, *args[1:]],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=TIMEOUT,
            )
            actual = _normalise(result.stdout, tmp_path)
            assert actual == _normalise(expected, tmp_path), (
                f"{where}: output of {command!r} differs:\n{actual}"
            )
    else:
        for command in block.code.splitlines():
            if not command.strip() or command.startswith("#"):
                continue
            args = shlex.split(command, comments=True)
            result = subprocess.run(
                [sys.executable, "-c", _CLI, *args[1:]],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
            assert result.returncode == 0, (
                f"{where}: {command!r} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )


def test_getting_started_commands_are_the_readme_commands() -> None:
    """docs/index.md repeats the README's set-up and test commands; they must stay identical."""
    readme = {block.code for block in parse_blocks(ROOT / "README.md") if block.lang == "bash"}
    commands = [
        b
        for b in parse_blocks(DOCS / "index.md")
        if b.lang == "bash" and b.code.startswith("python3 -m venv")
    ]
    assert len(commands) == 2
    for block in commands:
        assert block.code in readme, f"index.md:{block.line} differs from the README's command"


def test_every_page_has_runnable_blocks_found() -> None:
    """The parser sees the blocks (a broken fence would silently hide every block after it)."""
    assert PAGES, "no pages in docs/"
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        fences = sum(1 for line in text.splitlines() if _FENCE.match(line) or line.strip() == "```")
        assert fences % 2 == 0, f"{page.name}: unbalanced code fences"
        assert len(parse_blocks(page)) * 2 == fences, (
            f"{page.name}: some code fences were not parsed"
        )


def test_markers_are_known() -> None:
    """A comment right above a fence is a marker; a misspelt one would be silently ignored."""
    known = {"no-run", "file", "cwd", "requires", "pytest"}
    for block in ALL_BLOCKS:
        unknown = set(block.markers) - known
        assert not unknown, f"{block.id}: unknown marker(s) {sorted(unknown)}"


# ------------------------------------------------------------------------- hook reference


def _gen_hooks():
    spec = importlib.util.spec_from_file_location("lllm_docs_gen_hooks", DOCS / "gen_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_hook_has_a_docstring() -> None:
    import inspect

    import lllm.hookspecs as hookspecs

    hooks = _gen_hooks().hook_functions(hookspecs)
    assert hooks, "no hooks found in lllm.hookspecs"
    for name, function in hooks:
        assert getattr(function, f"{hookspecs.PROJECT_NAME}_spec", None) is not None, (
            f"{name} is not marked @hookspec"
        )
        doc = inspect.getdoc(function) or ""
        assert len(doc.split()) >= 10, (
            f"hook {name} needs a docstring saying when it is called and what it returns"
        )


def test_hooks_page_is_generated_from_hookspecs() -> None:
    expected = _gen_hooks().render()
    actual = (DOCS / "hooks.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/hooks.md is out of date: run `python docs/gen_hooks.py`"


# --------------------------------------------------------------------- reference coverage


def _mentioned(text: str, name: str) -> bool:
    """Whether ``name`` appears as a whole word inside some inline code or code block."""
    pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    code = re.findall(r"^\s*```.*?^\s*```|`[^`\n]+`", text, re.S | re.M)
    return any(pattern.search(span) for span in code)


def test_runtime_page_mentions_every_public_name() -> None:
    import lllm

    text = (DOCS / "runtime.md").read_text(encoding="utf-8")
    missing = [name for name in lllm.__all__ if not _mentioned(text, name)]
    assert not missing, f"docs/runtime.md does not mention: {missing}"


def test_runtime_page_mentions_every_runtime_method() -> None:
    import lllm

    text = (DOCS / "runtime.md").read_text(encoding="utf-8")
    public = [name for name in dir(lllm.Runtime) if not name.startswith("_")] + ["name", "sections"]
    missing = [name for name in public if not _mentioned(text, name)]
    assert not missing, f"docs/runtime.md does not mention Runtime.{missing}"


def test_llm_function_page_mentions_every_public_name() -> None:
    llm_function = pytest.importorskip("llm_function")
    text = (DOCS / "llm_function.md").read_text(encoding="utf-8")
    missing = [name for name in llm_function.__all__ if not _mentioned(text, name)]
    assert not missing, f"docs/llm_function.md does not mention: {missing}"


def test_cli_page_mentions_every_command_and_option() -> None:
    import argparse

    from lllm._cli import build_parser

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    missing: list[str] = []

    def visit(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    command = f"{path} {name}".strip()
                    if not _mentioned(text, f"lllm {command}"):
                        missing.append(f"lllm {command}")
                    visit(sub, command)
            else:
                for option in action.option_strings:
                    if option.startswith("--") and not _mentioned(text, option):
                        missing.append(f"{path} {option}")

    visit(build_parser(), "")
    assert not missing, f"docs/cli.md does not mention: {missing}"


def test_packages_page_mentions_every_environment_variable() -> None:
    names: set[str] = set()
    for file in (ROOT / "src").rglob("*.py"):
        names.update(re.findall(r"\bLLLM_[A-Z_]+[A-Z]\b", file.read_text(encoding="utf-8")))
    text = (DOCS / "packages.md").read_text(encoding="utf-8")
    missing = sorted(name for name in names if not _mentioned(text, name))
    assert not missing, f"docs/packages.md does not document: {missing}"


# ------------------------------------------------------------------------------ the site


def test_mkdocs_nav_lists_every_page() -> None:
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = {
        next(iter(item.values())) if isinstance(item, dict) else item for item in config["nav"]
    }
    assert listed == {page.name for page in PAGES}
    assert config.get("strict") is True


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install 'mkdocs>=1.6')")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").is_file()
