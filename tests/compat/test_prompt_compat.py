"""Prompt files written for the LLLM framework load unmodified (issue 14, item 1).

The package below is written the way the framework's prompt documentation tells its users to
write one: tools made with ``@tool``, a ``Function`` declaration, an MCP server, a pydantic
model as ``format``, provider ``addon_args``, a parser subclass raising the framework's
``ParseError``, a custom renderer and handler, and ``extend``. It is loaded into a fresh
runtime: every prompt must be there with what it was given, and no file may be skipped.

New names are imported inside the tests, so that each test fails on its own account on an
lllm without them.
"""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest

import lllm
from lllm.core.prompt import DefaultTagParser, Prompt
from lllm.testing import isolated_default_runtime, write_package

RESEARCH_AGENT = '''
    """A research agent's prompts, as a framework user writes them."""

    from pydantic import BaseModel

    from lllm.core.const import ParseError
    from lllm.core.prompt import (
        MCP,
        AgentCallState,
        BaseHandler,
        BaseRenderer,
        DefaultTagParser,
        Function,
        Prompt,
        tool,
    )


    class Finding(BaseModel):
        claim: str
        confidence: float
        sources: list[str]


    @tool(
        description="Look something up on the web",
        prop_desc={"query": "Words to search for", "limit": "How many hits to return"},
    )
    def lookup(query: str, limit: int = 3) -> str:
        return "hits for " + query


    @tool(description="Read one page")
    def read_page(url: str) -> str:
        return "text of " + url


    store_note = Function(
        name="store_note",
        description="Keep a note for later",
        properties={
            "title": {"type": "string", "description": "Its title"},
            "body": {"type": "string", "description": "Its text"},
        },
        required=["title", "body"],
    )

    wiki = MCP(server_label="wiki", server_url="https://wiki.invalid/mcp", allowed_tools=["search"])


    class ScoredParser(DefaultTagParser):
        """Checks that <score> is a number between 0 and 1."""

        def parse(self, content: str, **kwargs) -> dict:
            parsed = super().parse(content, **kwargs)
            text = parsed["xml_tags"]["score"][0]
            try:
                score = float(text)
            except ValueError:
                raise ParseError(f"<score> must be a number, got {text!r}")
            if not 0.0 <= score <= 1.0:
                raise ParseError(f"<score> must lie between 0 and 1, got {score}")
            parsed["score"] = score
            return parsed


    class DollarRenderer(BaseRenderer):
        """Fills $name placeholders."""

        def render(self, prompt: str, **kwargs) -> str:
            import string

            return string.Template(prompt).substitute(**kwargs)


    class HintHandler(BaseHandler):
        def on_exception(self, prompt: Prompt, call_state: AgentCallState) -> Prompt:
            attempt = call_state.exception_retries_count
            return prompt.extend(
                path=f"__{prompt.path}_exception_{attempt}",
                prompt="Attempt {attempt} failed: {{error_message}}".format(attempt=attempt),
                function_list=prompt.function_list,
                mcp_servers_list=prompt.mcp_servers_list,
                addon_args=prompt.addon_args,
            )

        def on_interrupt(self, prompt: Prompt, call_state: AgentCallState) -> Prompt:
            return prompt.extend(path=f"__{prompt.path}_interrupt", prompt="{call_results}")

        def on_interrupt_final(self, prompt: Prompt, call_state: AgentCallState) -> Prompt:
            return prompt.extend(
                path=f"__{prompt.path}_interrupt_final",
                prompt="No more tools: answer now.",
                function_list=[],
                mcp_servers_list=[],
                addon_args={},
            )


    system = Prompt(
        path="system",
        prompt="You research {domain} carefully. Today is {date}.",
        metadata={"role": "system"},
    )

    task = Prompt(
        path="task",
        prompt="Investigate: {question}. Answer in <answer></answer> and <score></score>.",
        parser=ScoredParser(
            xml_tags=["answer", "score"],
            required_xml_tags=["answer", "score"],
            parser_args={"strict": True},
        ),
        function_list=[lookup, read_page, store_note, "shared_pkg.tools:translate"],
        mcp_servers_list=[wiki],
        addon_args={"web_search": True, "computer_use": {"display_width": 1024}},
        handler=HintHandler(),
        metadata={"version": "2"},
    )

    structured = Prompt(
        path="structured",
        prompt="Report on {topic} as JSON.",
        format=Finding,
    )

    dollar = Prompt(path="dollar", prompt="Hello $name", renderer=DollarRenderer())

    summary = task.extend(
        path="summary",
        prompt="Summarise {findings} in <answer></answer>.",
        function_list=[],
        parser=DefaultTagParser(xml_tags=["answer"], required_xml_tags=["answer"]),
    )
'''


def _fresh_name(stem: str) -> str:
    return f"{stem}_{uuid.uuid4().hex[:8]}"


def _load_strictly(folder: Path) -> tuple[lllm.Runtime, list[warnings.WarningMessage]]:
    """Load ``folder`` into a new runtime; any problem raises, every warning is returned."""
    runtime = lllm.Runtime()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lllm.load_package(folder, runtime=runtime, strict=True)
    return runtime, list(caught)


@pytest.fixture
def research(tmp_path: Path) -> tuple[str, lllm.Runtime, list[warnings.WarningMessage]]:
    pytest.importorskip("pydantic")
    name = _fresh_name("fw_research")
    folder = write_package(
        tmp_path / name, {"prompts/research/agent.py": RESEARCH_AGENT}, name=name
    )
    runtime, caught = _load_strictly(folder)
    return name, runtime, caught


def _prompt(runtime: lllm.Runtime, package: str, path: str) -> Any:
    return runtime.get_prompt(f"{package}:research/agent/{path}")


# ------------------------------------------------------------------- the package loads


def test_a_framework_prompt_file_loads_with_every_prompt_and_no_warning(
    research: tuple[str, lllm.Runtime, list[warnings.WarningMessage]],
) -> None:
    name, runtime, caught = research
    assert not [str(w.message) for w in caught], "loading warned (a skipped file?)"
    assert sorted(runtime.keys("prompt")) == [
        f"{name}.prompts:research/agent/{path}"
        for path in ("dollar", "structured", "summary", "system", "task")
    ]


def test_the_structured_output_model_is_kept_as_format(
    research: tuple[str, lllm.Runtime, list[warnings.WarningMessage]],
) -> None:
    from pydantic import BaseModel

    name, runtime, _ = research
    structured = _prompt(runtime, name, "structured")
    assert isinstance(structured.format, type) and issubclass(structured.format, BaseModel)
    assert structured.format.__name__ == "Finding"
    finding = structured.format(claim="c", confidence=0.5, sources=["s"])
    assert finding.confidence == 0.5
    assert structured.info_dict()["has_format"] is True
    assert _prompt(runtime, name, "system").format is None


def test_tools_servers_and_addon_args_are_kept(
    research: tuple[str, lllm.Runtime, list[warnings.WarningMessage]],
) -> None:
    from lllm.core.prompt import MCP, Function

    name, runtime, _ = research
    task = _prompt(runtime, name, "task")
    tools = task.function_list
    assert [t.name if isinstance(t, Function) else t for t in tools] == [
        "lookup",
        "read_page",
        "store_note",
        "shared_pkg.tools:translate",
    ]
    lookup = task.functions["lookup"]
    assert lookup.description == "Look something up on the web"
    assert lookup.properties == {
        "query": {"type": "string", "description": "Words to search for"},
        "limit": {"type": "integer", "description": "How many hits to return (default: 3)"},
    }
    assert lookup.required == ["query"]
    assert lookup.linked and lookup.function is not None
    assert lookup.function("cats") == "hits for cats"
    declared = task.get_function("store_note")
    assert declared.required == ["title", "body"] and not declared.linked
    assert set(task.functions) == {"lookup", "read_page", "store_note"}

    [wiki] = task.mcp_servers_list
    assert isinstance(wiki, MCP)
    assert (wiki.server_label, wiki.server_url, wiki.require_approval, wiki.allowed_tools) == (
        "wiki",
        "https://wiki.invalid/mcp",
        "never",
        ["search"],
    )
    assert task.mcp_servers == {"wiki": wiki}

    assert task.addon_args == {"web_search": True, "computer_use": {"display_width": 1024}}
    assert task.allow_web_search is True
    assert task.computer_use_config == {"display_width": 1024}
    system = _prompt(runtime, name, "system")
    assert system.function_list == [] and system.mcp_servers_list == []
    assert system.addon_args == {} and system.allow_web_search is False
    assert system.computer_use_config == {}


def test_extend_keeps_the_framework_fields_and_overrides_the_given_ones(
    research: tuple[str, lllm.Runtime, list[warnings.WarningMessage]],
) -> None:
    name, runtime, _ = research
    task = _prompt(runtime, name, "task")
    summary = _prompt(runtime, name, "summary")
    assert summary.function_list == []
    assert summary.mcp_servers_list == task.mcp_servers_list
    assert summary.addon_args == task.addon_args and summary.handler is task.handler
    assert summary.metadata == {"version": "2"}
    assert summary.template_vars == {"findings"}


def test_the_custom_parser_and_its_parse_error(
    research: tuple[str, lllm.Runtime, list[warnings.WarningMessage]],
) -> None:
    from lllm.core.const import ParseError

    name, runtime, _ = research
    task = _prompt(runtime, name, "task")
    assert task.parser.parser_args == {"strict": True}
    parsed = task.parse("<answer>Yes.</answer><score>0.75</score>")
    assert parsed["score"] == 0.75
    assert parsed["xml_tags"] == {"answer": ["Yes."], "score": ["0.75"]}
    assert parsed["raw"] == "<answer>Yes.</answer><score>0.75</score>"
    with pytest.raises(ParseError, match="between 0 and 1"):
        task.parse("<answer>Yes.</answer><score>7</score>")
    with pytest.raises(ParseError) as info:
        task.parse("<answer>Yes.</answer>")
    assert info.value.missing == ("score",)


def test_the_custom_renderer_and_handler_work_with_the_prompt(
    research: tuple[str, lllm.Runtime, list[warnings.WarningMessage]],
) -> None:
    from lllm.core.prompt import AgentCallState

    name, runtime, _ = research
    assert _prompt(runtime, name, "dollar")(name="Ada") == "Hello Ada"
    task = _prompt(runtime, name, "task")
    state = AgentCallState(
        agent_name="researcher",
        max_exception_retry=3,
        max_interrupt_steps=5,
        max_llm_recall=0,
        exception_retries={0: [ValueError("bad")]},
    )
    retry = task.handler.on_exception(task, state)
    assert retry.path == f"__{task.path}_exception_1"
    assert retry(error_message="no score") == "Attempt 1 failed: no score"
    assert retry.function_list == task.function_list and retry.addon_args == task.addon_args
    final = task.handler.on_interrupt_final(task, state)
    assert final.function_list == [] and final.mcp_servers_list == [] and final.addon_args == {}
    assert final.parser is task.parser


# --------------------------------------------------------------- Prompt on its own


def test_prompt_takes_the_documented_constructor_fields() -> None:
    from lllm.core.prompt import MCP, Function, StringFormatterRenderer

    class Answer:  # any class will do: lllm does not need pydantic
        pass

    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    declared = Function(name="search", description="Search", properties={})
    prompt = Prompt(
        path="r",
        prompt="x",
        format=Answer,
        function_list=[declared, {"name": "calc", "description": "Add numbers"}],
        mcp_servers_list=[{"server_label": "m", "server_url": "https://m.invalid"}],
        addon_args={"web_search": False},
    )
    assert prompt.format is Answer
    assert prompt.function_list[0] is declared
    assert isinstance(prompt.function_list[1], Function)
    assert prompt.function_list[1].name == "calc"
    assert prompt.mcp_servers_list == [MCP(server_label="m", server_url="https://m.invalid")]
    assert Prompt(path="s", prompt="x", format=schema).format == schema

    plain = Prompt(path="p", prompt="x")
    assert (plain.format, plain.function_list, plain.mcp_servers_list, plain.addon_args) == (
        None,
        [],
        [],
        {},
    )
    assert isinstance(plain.renderer, StringFormatterRenderer)
    with pytest.raises(TypeError, match="function_list"):
        Prompt(path="q", prompt="x", function_list=[42])
    with pytest.raises(TypeError, match="renderer"):
        Prompt(path="q", prompt="x", renderer=object())


def test_template_vars_is_a_set_and_validate_args_lists_what_is_missing() -> None:
    prompt = Prompt(path="analyst/system", prompt="You are an expert in {domain}. Today is {date}.")
    assert prompt.template_vars == {"domain", "date"}
    assert isinstance(prompt.template_vars, set)
    assert prompt.ordered_template_vars == ("domain", "date")
    assert prompt.validate_args({}) == ["domain", "date"]
    assert prompt.validate_args({"date": "2026-03-17"}) == ["domain"]
    assert prompt(domain="law", date="today") == "You are an expert in law. Today is today."


def test_parse_results_have_the_framework_shape() -> None:
    assert Prompt(path="chat", prompt="Hi").parse("Hello!") == {"raw": "Hello!"}

    class NoRaw:
        def parse(self, content: str, **runtime_args: Any) -> dict[str, Any]:
            return {"length": len(content), "args": runtime_args}

    prompt = Prompt(path="p", prompt="x", parser=NoRaw())
    assert prompt.parse("abc", hint=1) == {"length": 3, "args": {"hint": 1}, "raw": "abc"}
    tagged = Prompt(path="t", prompt="x", parser=DefaultTagParser(xml_tags=["a"]))
    assert tagged.parse("<a>1</a>", ignored=True)["xml_tags"] == {"a": ["1"]}


def test_parser_args_and_extra_keyword_arguments_are_kept() -> None:
    parser = DefaultTagParser(xml_tags=["a"], parser_args={"mode": "strict"}, depth=2)
    assert parser.parser_args == {"mode": "strict", "depth": 2}
    assert DefaultTagParser().parser_args == {}

    class Thresholded(DefaultTagParser):
        threshold: float = 0.5

    assert Thresholded().threshold == 0.5
    tuned = Thresholded(xml_tags=["a"], threshold=0.9, note="n")
    assert tuned.threshold == 0.9 and tuned.parser_args == {"note": "n"}
    assert tuned.xml_tags == ("a",)


def test_tool_builds_the_schema_from_the_signature() -> None:
    from lllm.core.prompt import Function, tool

    @tool(description="Weather in a city", prop_desc={"city": "A city name"})
    def weather(city: str, days: int | None = None, metric: bool = True, *rest: Any) -> str:
        return city

    assert isinstance(weather, Function)
    assert weather.name == "weather" and weather.required == ["city"]
    assert weather.properties == {
        "city": {"type": "string", "description": "A city name"},
        "days": {"type": "integer", "description": "(default: None)"},
        "metric": {"type": "boolean", "description": "(default: True)"},
    }
    assert weather.to_tool()["function"]["parameters"]["required"] == ["city"]

    @tool(name="renamed")
    def documented(items: list[str], options: dict[str, int]) -> str:
        """Its docstring."""
        return ""

    assert (documented.name, documented.description) == ("renamed", "Its docstring.")
    assert documented.properties == {"items": {"type": "array"}, "options": {"type": "object"}}


def test_mcp_refuses_an_unknown_approval_mode() -> None:
    from lllm.core.prompt import MCP

    assert MCP(server_label="a", server_url="u", require_approval="manual").to_tool() == {
        "type": "mcp",
        "server_label": "a",
        "server_url": "u",
        "require_approval": "manual",
    }
    with pytest.raises(ValueError, match="require_approval"):
        MCP(server_label="a", server_url="u", require_approval="sometimes")


def test_the_const_module_has_the_framework_names() -> None:
    from lllm.core import const
    from lllm.core.prompt import ParseError

    assert const.ParseError is ParseError
    assert const.Roles.SYSTEM == "system" and const.Roles("tool_call") is const.Roles.TOOL_CALL
    assert const.APITypes.RESPONSE.value == "response"
    assert const.Modalities.IMAGE == "image"
    assert const.Invokers.LITELLM == "litellm"
    error = const.ParseError("bad graph", "it has a cycle")
    assert (str(error), error.message, error.context, error.missing) == (
        "bad graph",
        "bad graph",
        "it has a cycle",
        (),
    )
    call = const.FunctionCall(id="1", name="lookup", arguments={"query": "q"})
    assert not call.success and call.equals(const.FunctionCall("2", "lookup", {"query": "q"}))


def test_info_dict_and_register_prompt() -> None:
    from lllm.core.prompt import register_prompt, tool

    @tool(description="d")
    def helper(x: str) -> str:
        return x

    prompt = Prompt(
        path="tracked/v2",
        prompt="Do {task}",
        metadata={"author": "me"},
        function_list=[helper, "pkg.tools:other"],
    )
    info = prompt.info_dict()
    assert set(info) == {
        "path",
        "prompt_hash",
        "metadata",
        "functions",
        "mcp_servers",
        "addon_args",
        "has_parser",
        "has_format",
    }
    assert info["functions"] == ["helper", "pkg.tools:other"]
    assert len(info["prompt_hash"]) == 12
    assert info["prompt_hash"] != prompt.extend(prompt="Do {task}!").info_dict()["prompt_hash"]
    with isolated_default_runtime() as runtime:
        register_prompt(prompt)
        assert runtime.get_prompt("tracked/v2") is prompt
        with pytest.raises(ValueError):
            register_prompt(prompt, overwrite=False)
