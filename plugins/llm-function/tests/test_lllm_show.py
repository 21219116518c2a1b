"""``lllm show`` and ``lllm ls --json`` describe tools through the ``lllm_describe`` hook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lllm.testing import write_package

TOOLS = '''
from pydantic import BaseModel

from llm_function import llm_tool


class AddIn(BaseModel):
    a: int
    b: int


class AddOut(BaseModel):
    total: int


@llm_tool
def add(inputs: AddIn) -> AddOut:
    """Add two whole numbers."""
    return AddOut(total=inputs.a + inputs.b)
'''


def lllm(args: list[str], project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LLLM_HOME": str(home), "LLLM_AUTO_INIT": "0"}
    return subprocess.run(
        [sys.executable, "-m", "lllm", *args, "--project", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_show_and_ls_describe_a_tool(tmp_path: Path) -> None:
    project = write_package(tmp_path / "calc", {"tools/math.py": TOOLS}, name="calc")
    shown = lllm(["show", "tools:math/add"], project, tmp_path / "home")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "key:     calc.tools:math/add" in out
    assert "tool: add" in out and "description: Add two whole numbers." in out
    assert 'input: {"a": "int", "b": "int"}' in out and 'output: {"total": "int"}' in out
    assert "<Tool" not in out  # no repr printed as a JSON string

    listed = lllm(["ls", "--json"], project, tmp_path / "home")
    assert listed.returncode == 0, listed.stderr
    (entry,) = [row for row in json.loads(listed.stdout) if row["type"] == "tool"]
    assert entry["description"]["tool"] == "add"
    assert entry["description"]["input"] == {"a": "int", "b": "int"}
