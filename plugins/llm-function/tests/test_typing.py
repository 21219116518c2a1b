"""Type checkers see a decorated function's output model (issue 15): ``@llm_function`` returns
``LlmFunction[In, Out]`` (``AsyncLlmFunction[In, Out]`` for ``async def``), whose call returns
``Out``. Checked with mypy when it is installed (it is not a dependency)."""

from __future__ import annotations

import sys
import textwrap
import typing
from pathlib import Path

import pytest

from llm_function import AsyncLlmFunction, LlmFunction, llm_function

SNIPPET = """
from pydantic import BaseModel
from llm_function import llm_function


class City(BaseModel):
    city: str


class Weather(BaseModel):
    temp_c: float


@llm_function
def bare(where: City) -> Weather:
    \"\"\"Weather.\"\"\"
    raise NotImplementedError


@llm_function(tools=[], max_retry=1)
def configured(where: City) -> Weather:
    \"\"\"Weather.\"\"\"
    raise NotImplementedError


@llm_function(tools=[])
async def awaited(where: City) -> Weather:
    \"\"\"Weather.\"\"\"
    raise NotImplementedError


async def main() -> None:
    reveal_type(await awaited({"city": "Oslo"}))
    reveal_type(await configured.ainvoke({"city": "Oslo"}))


reveal_type(bare(City(city="Oslo")))
reveal_type(configured({"city": "Oslo"}))
reveal_type(configured.invoke({"city": "Oslo"}, timeout=3))
reveal_type(configured.output_model)
"""


def test_mypy_sees_the_output_model(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api", reason="mypy is not installed")
    module = tmp_path / "typed_use.py"
    module.write_text(textwrap.dedent(SNIPPET), encoding="utf-8")
    stdout, stderr, _ = api.run(
        [
            str(module),
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "--python-executable",
            sys.executable,
        ]
    )
    revealed = [
        line.split("Revealed type is ", 1)[1]
        for line in stdout.splitlines()
        if "Revealed type" in line
    ]
    assert revealed == [
        '"typed_use.Weather"',
        '"typed_use.Weather"',
        '"typed_use.Weather"',
        '"typed_use.Weather"',
        '"typed_use.Weather"',
        '"type[typed_use.Weather]"',
    ], stdout + stderr
    assert "error" not in stdout.replace("Revealed type", ""), stdout


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.get_overloads is 3.11+")
def test_the_decorator_declares_its_overloads() -> None:
    overloads = typing.get_overloads(llm_function)
    returns = [typing.get_type_hints(o).get("return") for o in overloads]
    assert len(overloads) == 3
    assert typing.get_origin(returns[0]) is AsyncLlmFunction
    assert typing.get_origin(returns[1]) is LlmFunction
