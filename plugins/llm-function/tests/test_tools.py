"""Tools (``llm_function.tools``) and tool sources (``llm_function.sources``)."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError, field_validator

import lllm
from lllm._discovery import import_file
from llm_function.errors import ToolConflictError
from llm_function.sources import (
    EntryPointToolSource,
    InMemoryToolSource,
    PythonFileToolSource,
    PythonModuleToolSource,
    RuntimeToolSource,
    ToolSource,
    resolve_tools,
)
from llm_function.tools import Tool, ToolRegistry, is_tool, llm_tool

# ------------------------------------------------------------------------ models


class Query(BaseModel):
    text: str
    limit: int = 3

    @field_validator("text")
    @classmethod
    def shout(cls, value: str) -> str:
        return value.upper()

    def words(self) -> list[str]:
        return self.text.split()


class Answer(BaseModel):
    words: list[str]
    count: int


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


# ---------------------------------------------------------------- Tool.from_function


def test_from_function_with_any_parameter_name_and_sync_call_gets_own_model() -> None:
    received: list[object] = []

    def split_words(query: Query) -> Answer:
        """Split the query into words."""
        received.append(query)
        words = query.words()[: query.limit]
        return Answer(words=words, count=len(words))

    tool = Tool.from_function(split_words)
    assert (tool.name, tool.parameter, tool.is_async) == ("split_words", "query", False)
    assert tool.input_model is Query and tool.output_model is Answer
    assert tool.description == "Split the query into words."

    result = run(tool.call(Query(text="a b c d")))
    assert isinstance(received[0], Query)
    assert received[0].text == "A B C D" and received[0].limit == 3  # validator ran, default kept
    assert isinstance(result, Answer)
    assert result == Answer(words=["A", "B", "C"], count=3)


def test_async_tool_receives_model_and_dict_result_is_converted() -> None:
    async def count_words(q: Query) -> Answer:
        await asyncio.sleep(0)
        assert isinstance(q, Query)
        return {"words": q.words(), "count": str(len(q.words()))}  # type: ignore[return-value]

    tool = Tool.from_function(count_words)
    assert tool.is_async and tool.parameter == "q"
    result = run(tool.call(Query(text="x y", limit=1)))
    assert isinstance(result, Answer)
    assert result.words == ["X", "Y"] and result.count == 2


def test_wrong_output_raises_validation_error() -> None:
    def broken(query: Query) -> Answer:
        return {"words": "not a list", "count": "many"}  # type: ignore[return-value]

    with pytest.raises(ValidationError):
        run(Tool.from_function(broken).call(Query(text="a")))


def no_parameter_tool() -> Answer:
    return Answer(words=[], count=0)


def two_parameters_tool(a: Query, b: Query) -> Answer:
    return Answer(words=[], count=0)


def unannotated_tool(query) -> Answer:  # type: ignore[no-untyped-def]
    return Answer(words=[], count=0)


def plain_type_tool(query: str) -> Answer:
    return Answer(words=[], count=0)


def missing_return_tool(query: Query):  # type: ignore[no-untyped-def]
    return Answer(words=[], count=0)


def non_model_return_tool(query: Query) -> dict:
    return {}


@pytest.mark.parametrize(
    "function",
    [
        no_parameter_tool,
        two_parameters_tool,
        unannotated_tool,
        plain_type_tool,
        missing_return_tool,
        non_model_return_tool,
    ],
)
def test_signature_errors_name_the_function(function) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=function.__name__):
        Tool.from_function(function)
    with pytest.raises(TypeError, match=function.__name__):
        llm_tool(function)


# ---------------------------------------------------------------------- llm_tool


def test_llm_tool_without_and_with_arguments() -> None:
    @llm_tool
    def plain(query: Query) -> Answer:
        """Plain docstring."""
        return Answer(words=query.words(), count=1)

    @llm_tool(name="renamed", description="Custom description.")
    def original(query: Query) -> Answer:
        """Ignored docstring."""
        return Answer(words=[], count=len(query.text))

    assert is_tool(plain) and is_tool(original) and not is_tool(split_for_fingerprint)
    assert Tool.from_function(plain).name == "plain"
    assert Tool.from_function(plain).description == "Plain docstring."
    renamed = Tool.from_function(original)
    assert (renamed.name, renamed.description) == ("renamed", "Custom description.")
    # Still an ordinary function.
    assert plain(Query(text="a b")) == Answer(words=["A", "B"], count=1)
    assert original(Query(text="abc")).count == 3


def test_failed_llm_tool_leaves_no_mark() -> None:
    def misfit_once(a: int) -> int:
        return a

    with pytest.raises(TypeError):
        llm_tool(misfit_once)
    assert not is_tool(misfit_once)


# -------------------------------------------------------------------- fingerprint

FINGERPRINT_MODULE = '''
from pydantic import BaseModel
from llm_function.tools import llm_tool


class In(BaseModel):
    city: str


class Out(BaseModel):
    temperature: float{extra_field}


@llm_tool
def forecast(request: In) -> Out:
    """{doc}"""
    return Out(temperature={value})
'''


def _fingerprint_of(
    root: Path, name: str, *, doc: str = "Forecast.", value: str = "1.0", extra_field: str = ""
) -> str:
    file = write(
        root / name / "fp_tools.py",
        FINGERPRINT_MODULE.format(doc=doc, value=value, extra_field=extra_field),
    )
    module = import_file(file, file.parent)
    return Tool.from_function(module.forecast).fingerprint


def test_fingerprint_stable_and_sensitive(tmp_path: Path) -> None:
    base = _fingerprint_of(tmp_path, "base")
    assert base == _fingerprint_of(tmp_path, "same")  # same code elsewhere: same fingerprint
    assert (
        Tool.from_function(split_for_fingerprint).fingerprint
        == Tool.from_function(split_for_fingerprint).fingerprint
    )
    changed = {
        _fingerprint_of(tmp_path, "doc", doc="Forecast the weather."),
        _fingerprint_of(tmp_path, "code", value="2.0"),
        _fingerprint_of(tmp_path, "schema", extra_field="\n    humidity: float = 0.0"),
    }
    assert base not in changed and len(changed) == 3


def split_for_fingerprint(query: Query) -> Answer:
    return Answer(words=query.words(), count=0)


# ------------------------------------------------------------------------ sources


def get_words(query: Query) -> Answer:
    """Words of the query."""
    return Answer(words=query.words(), count=len(query.words()))


def test_in_memory_source_accepts_functions_and_tools() -> None:
    async def async_unmarked(query: Query) -> Answer:
        return Answer(words=[], count=0)

    prebuilt = Tool.from_function(split_for_fingerprint, name="prebuilt")
    source = InMemoryToolSource([get_words, async_unmarked, prebuilt])
    assert isinstance(source, ToolSource)
    tools = source.tools()
    assert [t.name for t in tools] == ["get_words", "async_unmarked", "prebuilt"]
    assert tools[0].origin.startswith("in-memory: get_words")
    assert tools[2].function is split_for_fingerprint
    assert "in-memory" in source.describe()
    with pytest.raises(TypeError, match="no_parameter_tool"):
        InMemoryToolSource([no_parameter_tool]).tools()


MODULE_TEXT = """
from pydantic import BaseModel
from llm_function.tools import Tool, llm_tool
from {other} import imported_tool


class In(BaseModel):
    x: int


class Out(BaseModel):
    y: int


@llm_tool
def second(i: In) -> Out:
    return Out(y=i.x * 2)


@llm_tool(name="first_renamed")
def first(i: In) -> Out:
    return Out(y=i.x + 1)


def unmarked_fits(i: In) -> Out:
    return Out(y=0)


def unmarked_misfit(a: int, b: int) -> int:
    return a + b


def _private_fits(i: In) -> Out:
    return Out(y=-1)


async def unmarked_async(i: In) -> Out:
    return Out(y=5)


alias = second
"""

OTHER_MODULE_TEXT = """
from pydantic import BaseModel
from llm_function.tools import llm_tool


class In(BaseModel):
    x: int


class Out(BaseModel):
    y: int


@llm_tool
def imported_tool(i: In) -> Out:
    return Out(y=0)
"""


def test_module_source_selects_tools_defined_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "lf_mod_tools.py", MODULE_TEXT.format(other="lf_mod_other"))
    write(tmp_path / "lf_mod_other.py", OTHER_MODULE_TEXT)
    monkeypatch.syspath_prepend(str(tmp_path))

    source = PythonModuleToolSource("lf_mod_tools")
    tools = source.tools()
    assert [t.name for t in tools] == [
        "second",
        "first_renamed",
    ]  # definition order, no import, no alias
    assert tools[0].origin.startswith("module lf_mod_tools (")
    assert "lf_mod_tools.py" in tools[0].origin
    assert run(tools[1].call(tools[1].input_model(x=1))).y == 2

    everything = PythonModuleToolSource("lf_mod_tools", include_unmarked=True).tools()
    assert [t.name for t in everything] == [
        "second",
        "first_renamed",
        "unmarked_fits",
        "unmarked_async",
    ]

    import lf_mod_tools  # type: ignore[import-not-found]

    assert [t.name for t in PythonModuleToolSource(lf_mod_tools).tools()] == [
        "second",
        "first_renamed",
    ]


def test_module_source_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path / "lf_bad_marked.py",
        """
        from llm_function.tools import llm_tool

        @llm_tool
        def misfit_marked(a: int) -> int:
            return a
    """,
    )
    write(tmp_path / "lf_raises.py", "raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(ImportError, match="lf_does_not_exist"):
        PythonModuleToolSource("lf_does_not_exist").tools()
    with pytest.raises(ImportError, match="lf_raises.*boom at import"):
        PythonModuleToolSource("lf_raises").tools()
    with pytest.raises(TypeError, match="misfit_marked") as info:
        PythonModuleToolSource("lf_bad_marked").tools()
    assert "lf_bad_marked" in str(info.value)


def test_module_source_rejects_marked_misfit_that_survives_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A mark set by hand (not through llm_tool) is only checked when the source reads it.
    write(
        tmp_path / "lf_hand_marked.py",
        """
        from llm_function.tools import TOOL_MARK

        def hand_marked(a: int) -> int:
            return a

        setattr(hand_marked, TOOL_MARK, {"name": None, "description": None})
    """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match="hand_marked"):
        PythonModuleToolSource("lf_hand_marked").tools()


def test_file_source_with_relative_import(tmp_path: Path) -> None:
    folder = tmp_path / "toolbox"
    write(
        folder / "helper.py",
        """
        from pydantic import BaseModel

        class City(BaseModel):
            name: str

        class Weather(BaseModel):
            summary: str

        def describe(name: str) -> str:
            return f"sunny in {name}"
    """,
    )
    tools_file = write(
        folder / "tools.py",
        '''
        from llm_function.tools import llm_tool
        from .helper import City, Weather, describe

        @llm_tool
        def weather(city: City) -> Weather:
            """Weather of a city."""
            return Weather(summary=describe(city.name))

        def not_a_tool(city: City) -> Weather:
            return Weather(summary="")
    ''',
    )
    source = PythonFileToolSource(tools_file)
    tools = source.tools()
    assert [t.name for t in tools] == ["weather"]
    assert tools[0].origin.startswith(f"file {tools_file}")
    assert run(tools[0].call(tools[0].input_model(name="Oslo"))).summary == "sunny in Oslo"
    # Imported once per process: a second source reuses the module and its functions.
    assert PythonFileToolSource(tools_file).tools()[0].function is tools[0].function
    assert [t.name for t in PythonFileToolSource(tools_file, include_unmarked=True).tools()] == [
        "weather",
        "not_a_tool",
    ]

    with pytest.raises(FileNotFoundError):
        PythonFileToolSource(tmp_path / "missing.py").tools()
    broken = write(tmp_path / "broken" / "tools.py", "import lf_no_such_module_here\n")
    with pytest.raises(ImportError, match="tools.py"):
        PythonFileToolSource(broken).tools()


# ---------------------------------------------------------------- entry points


@pytest.fixture
def fresh_entry_points():  # type: ignore[no-untyped-def]
    from lllm._plugin_manager import reset_plugins

    reset_plugins()
    yield
    reset_plugins()


def _write_distribution(site: Path) -> None:
    write(
        site / "acme_tools-1.0.dist-info" / "METADATA",
        "Metadata-Version: 2.1\nName: acme-tools\nVersion: 1.0\n",
    )
    write(
        site / "acme_tools-1.0.dist-info" / "entry_points.txt",
        """
        [llm_function.tools]
        weather = acme_tools_weather
        clock = acme_tools_single:get_time
        bundle = acme_tools_bundle:TOOLS

        [acme.broken_tools]
        broken = acme_tools_missing
        wrong = acme_tools_single:NOT_A_TOOL
    """,
    )
    models = """
        from pydantic import BaseModel
        from llm_function.tools import Tool, llm_tool

        class In(BaseModel):
            value: str

        class Out(BaseModel):
            result: str
    """
    write(
        site / "acme_tools_weather.py",
        models
        + """
        @llm_tool
        def get_weather(i: In) -> Out:
            return Out(result="rain in " + i.value)

        def helper(i: In) -> Out:  # unmarked: not a tool
            return Out(result="")
    """,
    )
    write(
        site / "acme_tools_single.py",
        models
        + """
        def get_time(i: In) -> Out:  # unmarked, but named explicitly by the entry point
            return Out(result="noon")

        NOT_A_TOOL = 42
    """,
    )
    write(
        site / "acme_tools_bundle.py",
        models
        + """
        def shout(i: In) -> Out:
            return Out(result=i.value.upper())

        def whisper(i: In) -> Out:
            return Out(result=i.value.lower())

        TOOLS = [Tool.from_function(shout, name="shout_tool"), whisper]
    """,
    )


def test_entry_point_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_entry_points: None
) -> None:
    _write_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))

    tools = EntryPointToolSource().tools()
    by_name = {t.name: t for t in tools}
    assert sorted(by_name) == ["get_time", "get_weather", "shout_tool", "whisper"]
    assert by_name["get_weather"].origin.startswith(
        "entry point weather (distribution acme-tools 1.0)"
    )
    assert by_name["whisper"].origin.startswith("entry point bundle (distribution acme-tools 1.0)")
    assert (
        run(by_name["shout_tool"].call(by_name["shout_tool"].input_model(value="hey"))).result
        == "HEY"
    )

    only = EntryPointToolSource(names=["clock"]).tools()
    assert [t.name for t in only] == ["get_time"]
    with pytest.raises(LookupError, match="nope"):
        EntryPointToolSource(names=["nope"]).tools()


def test_failing_entry_point_names_itself_and_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_entry_points: None
) -> None:
    _write_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(ImportError, match=r"entry point broken \(distribution acme-tools 1.0\)"):
        EntryPointToolSource(group="acme.broken_tools", names=["broken"]).tools()
    with pytest.raises(TypeError, match=r"entry point wrong \(distribution acme-tools 1.0\)"):
        EntryPointToolSource(group="acme.broken_tools", names=["wrong"]).tools()


# --------------------------------------------------------------- lllm runtime


def _write_package(root: Path, name: str, tool_name: str) -> Path:
    write(root / "lllm.toml", f'[package]\nname = "{name}"\nversion = "1.0.0"\n')
    write(
        root / "tools" / "weather.py",
        f'''
        from pydantic import BaseModel
        from llm_function.tools import llm_tool

        class City(BaseModel):
            name: str

        class Report(BaseModel):
            text: str

        @llm_tool
        def {tool_name}(city: City) -> Report:
            """Weather report."""
            return Report(text="{name}: " + city.name)

        def unmarked(city: City) -> Report:
            return Report(text="")
    ''',
    )
    return root


def test_runtime_source(tmp_path: Path) -> None:
    rt = lllm.Runtime()
    lllm.load_package(_write_package(tmp_path / "wpkg", "wpkg", "get_weather"), runtime=rt)
    lllm.load_package(_write_package(tmp_path / "opkg", "opkg", "get_other"), runtime=rt)

    tools = RuntimeToolSource(rt).tools()
    assert sorted(t.name for t in tools) == ["get_other", "get_weather"]

    only = RuntimeToolSource(rt, package="wpkg").tools()
    assert [t.name for t in only] == ["get_weather"]
    assert only[0].origin.startswith("lllm runtime: wpkg.tools:weather/get_weather (file ")
    assert "weather.py" in only[0].origin
    assert run(only[0].call(only[0].input_model(name="Rome"))).text == "wpkg: Rome"
    with pytest.raises(LookupError, match="zzz"):
        RuntimeToolSource(rt, package="zzz").tools()


def test_runtime_source_uses_default_runtime_at_call_time(tmp_path: Path) -> None:
    from lllm.core.runtime import get_default_runtime, set_default_runtime

    source = RuntimeToolSource()
    rt = lllm.Runtime()
    lllm.load_package(_write_package(tmp_path / "dpkg", "dpkg", "get_default"), runtime=rt)
    previous = get_default_runtime()
    set_default_runtime(rt)
    try:
        assert [t.name for t in source.tools()] == ["get_default"]
    finally:
        set_default_runtime(previous)


# ------------------------------------------------------------------ resolving


def test_conflict_names_both_origins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path / "lf_conflict_tools.py",
        """
        from pydantic import BaseModel
        from llm_function.tools import llm_tool

        class In(BaseModel):
            text: str

        class Out(BaseModel):
            words: list[str]
            count: int

        @llm_tool
        def get_words(i: In) -> Out:
            return Out(words=[], count=0)
    """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(ToolConflictError) as info:
        resolve_tools(
            [InMemoryToolSource([get_words]), PythonModuleToolSource("lf_conflict_tools")]
        )
    message = str(info.value)
    assert "get_words" in message
    assert "in-memory: get_words" in message
    assert "module lf_conflict_tools (" in message


def test_same_function_twice_is_kept_once(tmp_path: Path) -> None:
    tools_file = write(
        tmp_path / "dup" / "tools.py",
        """
        from pydantic import BaseModel
        from llm_function.tools import llm_tool

        class In(BaseModel):
            x: int

        class Out(BaseModel):
            y: int

        @llm_tool
        def double(i: In) -> Out:
            return Out(y=i.x * 2)
    """,
    )
    (double,) = PythonFileToolSource(tools_file).tools()
    registry = ToolRegistry([Tool.from_function(get_words)])
    resolved = resolve_tools(
        [
            PythonFileToolSource(tools_file),
            InMemoryToolSource([double.function, get_words]),
            PythonFileToolSource(tools_file),
        ],
        registry=registry,
    )
    assert resolved.names() == ["double", "get_words"]
    assert len(resolved) == 2
    assert resolved is not registry and len(registry) == 1
    assert resolve_tools(None).names() == []


def test_lllm_loading_the_section_plugin_does_not_import_pydantic_or_httpx() -> None:
    import subprocess
    import sys

    code = (
        "import sys, llm_function.lllm_sections as s\n"
        "assert callable(s.discover_tools) and callable(s.lllm_sections)\n"
        "print(sorted(m for m in ('pydantic', 'httpx', 'llm_function.tools') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
