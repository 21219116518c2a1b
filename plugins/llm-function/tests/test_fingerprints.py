"""Tool fingerprints without source code (issue 15, bug 3): a ``.pyc``-only install gives
every process the same fingerprint, so stored and shipped workflows keep matching."""

from __future__ import annotations

import os
import py_compile
import subprocess
import sys
import textwrap
from pathlib import Path

TOOL_MODULE = '''
from pydantic import BaseModel


class Words(BaseModel):
    text: str


class Counted(BaseModel):
    count: int
    kinds: list[str]


def count_words(words: Words) -> Counted:
    """Count the words and classify them."""
    def kind(word):  # a nested function: a code object among the constants
        return "short" if len(word) < {limit} else "long"
    vowels = {{"a", "e", "i", "o", "u"}}  # a frozenset constant: its order follows the hash seed
    kinds = [kind(w) for w in words.text.split() if w[0] not in vowels]
    return Counted(count=len(words.text.split()), kinds=sorted(set(map(lambda k: k, kinds))))
'''

PROBE = """
import inspect, sys
sys.path.insert(0, sys.argv[1])
import pyc_only_tools
from llm_function.tools import Tool
try:
    inspect.getsource(pyc_only_tools.count_words)
    print("source available")
except OSError:
    print(Tool.from_function(pyc_only_tools.count_words).fingerprint)
"""


def pyc_only_package(folder: Path, limit: int) -> Path:
    """A module installed as bytecode only (``module.pyc`` beside where the source was)."""
    folder.mkdir(parents=True)
    source = folder / "pyc_only_tools.py"
    source.write_text(textwrap.dedent(TOOL_MODULE.format(limit=limit)), encoding="utf-8")
    py_compile.compile(str(source), cfile=str(folder / "pyc_only_tools.pyc"), doraise=True)
    source.unlink()
    return folder


def fingerprint_in_a_new_process(folder: Path, hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout.strip()


def test_a_pyc_only_tool_has_one_fingerprint_in_every_process(tmp_path: Path) -> None:
    folder = pyc_only_package(tmp_path / "install", limit=4)
    seen = {fingerprint_in_a_new_process(folder, seed) for seed in ("1", "2", "3")}
    assert "source available" not in seen
    assert len(seen) == 1, seen


def test_a_pyc_only_tool_whose_code_changed_has_another_fingerprint(tmp_path: Path) -> None:
    before = fingerprint_in_a_new_process(pyc_only_package(tmp_path / "v1", limit=4), "1")
    after = fingerprint_in_a_new_process(pyc_only_package(tmp_path / "v2", limit=5), "1")
    same = fingerprint_in_a_new_process(pyc_only_package(tmp_path / "v3", limit=4), "2")
    assert before != after  # the nested function's constant changed
    assert before == same  # a copy installed elsewhere matches
