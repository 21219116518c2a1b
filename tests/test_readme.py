"""The README's commands and code blocks stay true."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def block_after(marker: str) -> str:
    match = re.search(re.escape(marker) + r"\s*```[a-z]*\n(.*?)```", README, re.S)
    assert match, marker
    return match.group(1)


def test_ci_runs_the_readme_test_command() -> None:
    command = block_after("<!-- test-command -->").strip()
    assert "pytest" in command and "plugins/llm-function" in command
    ci = (ROOT / ".ci" / "run").read_text()
    assert "<!-- test-command -->" in ci and "set -euo pipefail" in ci


def test_llm_function_example_runs_offline(tmp_path: Path) -> None:
    pytest.importorskip("llm_function")
    script = tmp_path / "example.py"
    script.write_text(block_after("<!-- llm-function-example -->"))
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "to ops@example.com: Paris: 18.5 C, clear" in result.stdout
    assert "summary='Paris: 18.5 C, clear' temp_c=18.5 sent=True" in result.stdout
    assert "get_weather = get_weather(city=input.city)" in result.stdout
    assert "'model_calls': 0" in result.stdout
