"""Tests for ``lllm.core.prompt``: templates, rendering, extension, tag parsing and handlers."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import pytest

from lllm.core.prompt import DefaultSimpleHandler, DefaultTagParser, ParseError, Prompt

# ----------------------------------------------------------------------------- template_vars


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello {name}", ("name",)),
        ("{b} then {a} then {b}", ("b", "a")),
        ("{user.name} likes {items[0]} and {user.age}", ("user", "items")),
        ("{value!r:>10} {other:.2f}", ("value", "other")),
        ("{value:{width}}", ("value", "width")),
        ("literal {{braces}} and {name}", ("name",)),
        ("no fields at all", ()),
        ("{{x}}", ()),
        ('{"a": 1}', ()),
        ("a lone } brace", ()),
        ("an open { brace", ()),
        ("positional {} field", ()),
        ("indexed {0} field", ()),
        ("{name} mixed with {0}", ()),
        ("", ()),
    ],
)
def test_template_vars(text: str, expected: tuple[str, ...]) -> None:
    prompt = Prompt("p", text)
    assert prompt.ordered_template_vars == expected
    assert prompt.template_vars == set(expected)
    assert isinstance(prompt.template_vars, set)


def test_ordered_template_vars_is_cached_and_template_vars_is_a_fresh_set() -> None:
    prompt = Prompt("p", "{a} {b}")
    assert prompt.ordered_template_vars is prompt.ordered_template_vars
    prompt.template_vars.add("c")
    assert prompt.template_vars == {"a", "b"}


# --------------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("Hello {name}!", {"name": "Ada"}, "Hello Ada!"),
        ("{x}-{x}", {"x": 7}, "7-7"),
        ("{user.name}: {items[1]}", {"user": SimpleNamespace(name="Bo"), "items": "abc"}, "Bo: b"),
        ("{{literal}} {name} {{}}", {"name": "v"}, "{literal} v {}"),
        ("{n:03d}", {"n": 5}, "005"),
    ],
)
def test_render(text: str, values: dict[str, object], expected: str) -> None:
    assert Prompt("p", text)(**values) == expected


@pytest.mark.parametrize(
    "text",
    ["plain text", "keep {{x}} as is", '{"a": 1}', 'json {"k": [1, 2]} }', "{} and {0}", ""],
)
def test_text_without_variables_is_returned_unchanged(text: str) -> None:
    prompt = Prompt("p", text)
    assert prompt() == text
    assert prompt(unused="value") == text


def test_missing_variables_are_all_listed_sorted() -> None:
    prompt = Prompt("my/prompt", "{zeta} {alpha} {mid} {given}")
    with pytest.raises(ValueError) as info:
        prompt(given=1)
    message = str(info.value)
    assert "my/prompt" in message
    assert "alpha, mid, zeta" in message
    assert "given" not in message.split("my/prompt")[1]


def test_extra_values_are_ignored() -> None:
    assert Prompt("p", "Hi {name}")(name="Al", surplus=1, other="x") == "Hi Al"


# ------------------------------------------------------------------------------ construction


@pytest.mark.parametrize("path", ["", "a:b", "/a", "a/", "a//b", None])
def test_invalid_path_raises(path: object) -> None:
    with pytest.raises(ValueError):
        Prompt(path, "text")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", [None, 3, b"bytes", ["a"]])
def test_non_string_prompt_raises_type_error(text: object) -> None:
    with pytest.raises(TypeError, match="p/q"):
        Prompt("p/q", text)  # type: ignore[arg-type]


def test_defaults_and_metadata_copy() -> None:
    source = {"k": 1}
    prompt = Prompt("p", "t", metadata=source)
    assert prompt.parser is None and prompt.handler is None
    assert prompt.metadata == {"k": 1}
    source["k"] = 2
    assert prompt.metadata == {"k": 1}
    assert Prompt("p", "t").metadata == {}
    assert Prompt("p", "t").metadata is not Prompt("p", "t").metadata


def test_repr_shows_path_and_start_of_text() -> None:
    short = repr(Prompt("a/b", "short text"))
    assert "a/b" in short and "short text" in short
    long = repr(Prompt("a/b", "x" * 100))
    assert "x" * 40 in long and "x" * 41 not in long


# ------------------------------------------------------------------------------------ extend


def test_extend_returns_new_prompt_and_merges_metadata() -> None:
    parser = DefaultTagParser(xml_tags=["a"])
    original = Prompt("base", "Hello {name}", metadata={"a": 1, "b": 2}, parser=parser)
    extended = original.extend(prompt="Bye {name} {extra}", metadata={"b": 3, "c": 4})
    assert extended is not original
    assert extended.path == "base"
    assert extended.prompt == "Bye {name} {extra}"
    assert extended.ordered_template_vars == ("name", "extra")
    assert extended.metadata == {"a": 1, "b": 3, "c": 4}
    assert extended.parser is parser
    assert original.prompt == "Hello {name}"
    assert original.ordered_template_vars == ("name",)
    assert original.metadata == {"a": 1, "b": 2}


def test_extend_without_changes_copies_metadata() -> None:
    original = Prompt("base", "t", metadata={"a": 1})
    copy = original.extend()
    copy.metadata["a"] = 99
    assert original.metadata == {"a": 1}


def test_extend_validates_and_rejects_unknown_fields() -> None:
    original = Prompt("base", "t")
    assert original.extend(path="other/path").path == "other/path"
    with pytest.raises(ValueError):
        original.extend(path="bad:path")
    with pytest.raises(TypeError):
        original.extend(nonsense=1)


# ------------------------------------------------------------------------------------- parse


def test_parse_without_parser_returns_the_raw_text_in_a_dict() -> None:
    assert Prompt("p", "t").parse("<a>x</a>") == {"raw": "<a>x</a>"}


def test_parse_with_parser_delegates() -> None:
    prompt = Prompt("p", "t", parser=DefaultTagParser(xml_tags=("a",)))
    result = prompt.parse("<a> x </a>")
    assert result["xml_tags"] == {"a": ["x"]}
    assert result["raw"] == "<a> x </a>"


def test_parse_with_custom_parser() -> None:
    class Upper:
        def parse(self, text: str) -> str:
            return text.upper()

    assert Prompt("p", "t", parser=Upper()).parse("abc") == "ABC"


# ----------------------------------------------------------------------------- tag parsing

ANSWER = """Let me think.
<thought>
  first idea
</thought>
Some text <answer>42</answer> and more.
<thought>second idea</thought>
```python
print("hi")
```
```json
{"a": 1}
```
```python
x = 1
```
<DONE>
"""


def test_tag_parser_extracts_declared_tags_only() -> None:
    parser = DefaultTagParser(
        xml_tags=("thought", "answer", "absent"),
        md_tags=("python", "json", "yaml"),
        signal_tags=("DONE", "ABORT"),
    )
    result = parser.parse(ANSWER)
    assert result["raw"] == ANSWER
    assert result["xml_tags"] == {
        "thought": ["first idea", "second idea"],
        "answer": ["42"],
        "absent": [],
    }
    assert result["md_tags"] == {
        "python": ['print("hi")', "x = 1"],
        "json": ['{"a": 1}'],
        "yaml": [],
    }
    assert result["signal_tags"] == {"DONE": True, "ABORT": False}


def test_tag_parser_ignores_undeclared_tags() -> None:
    result = DefaultTagParser(xml_tags=("answer",)).parse(ANSWER)
    assert set(result["xml_tags"]) == {"answer"}
    assert result["md_tags"] == {}
    assert result["signal_tags"] == {}


def test_md_tag_does_not_match_longer_language() -> None:
    result = DefaultTagParser(md_tags=("py",)).parse("```python\ncode\n```")
    assert result["md_tags"] == {"py": []}


def test_tag_names_are_escaped() -> None:
    parser = DefaultTagParser(xml_tags=("a.b",), md_tags=("c++",))
    result = parser.parse("<axb>no</axb><a.b>yes</a.b>\n```c++\nint x;\n```")
    assert result["xml_tags"] == {"a.b": ["yes"]}
    assert result["md_tags"] == {"c++": ["int x;"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<STOP>", True),
        ("text then <STOP> here", True),
        ("STOP without brackets", False),
        ("<stop> in lower case", False),
        ("", False),
    ],
)
def test_signal_tags(text: str, expected: bool) -> None:
    assert DefaultTagParser(signal_tags=("STOP",)).parse(text)["signal_tags"] == {"STOP": expected}


def test_required_tags_present_are_extracted() -> None:
    parser = DefaultTagParser(required_xml_tags=("answer",), required_md_tags=("json",))
    result = parser.parse(ANSWER)
    assert result["xml_tags"] == {"answer": ["42"]}
    assert result["md_tags"] == {"json": ['{"a": 1}']}


def test_required_xml_tag_missing_raises() -> None:
    parser = DefaultTagParser(xml_tags=("thought",), required_xml_tags=("answer", "final"))
    with pytest.raises(ParseError) as info:
        parser.parse("<thought>x</thought><answer>1</answer>")
    assert info.value.missing == ("final",)
    assert "final" in str(info.value)
    assert "<answer>" not in str(info.value)


def test_required_md_and_xml_tags_missing_are_all_named() -> None:
    parser = DefaultTagParser(required_xml_tags=("answer",), required_md_tags=("sql", "json"))
    with pytest.raises(ParseError) as info:
        parser.parse("```json\n{}\n```")
    assert info.value.missing == ("answer", "sql")
    assert "answer" in str(info.value) and "sql" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_parse_error_pickles() -> None:
    error = ParseError("boom", ("a", "b"))
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == "boom" and copy.missing == ("a", "b")


def test_tag_parser_accepts_a_single_string() -> None:
    parser = DefaultTagParser(xml_tags="answer")
    assert parser.xml_tags == ("answer",)
    assert parser.parse("<answer>1</answer>")["xml_tags"] == {"answer": ["1"]}


# ------------------------------------------------------------------------------------ handler


def test_default_handler_messages() -> None:
    handler = DefaultSimpleHandler()
    error = handler.on_exception("bad {json}")
    assert "bad {json}" in error and error.startswith("Error: ")
    assert "RESULTS-1" in handler.on_interrupt("RESULTS-1")
    assert handler.on_interrupt_final() == handler.interrupt_final_msg
    assert "{call_results}" in handler.interrupt_msg


def test_custom_handler_templates() -> None:
    handler = DefaultSimpleHandler(
        exception_msg="E[{error_message}]",
        interrupt_msg="R[{call_results}]",
        interrupt_final_msg="F",
    )
    assert handler.on_exception("x") == "E[x]"
    assert handler.on_interrupt("y") == "R[y]"
    assert handler.on_interrupt_final() == "F"
