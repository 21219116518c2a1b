"""The built-in section plugins (``lllm.sections``): what each finds and the keys it gives."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest
from pkgtree import write_tree

from lllm._discovery import SectionFolder, SectionSpec
from lllm.core.errors import ResourceLoadError
from lllm.core.prompt import DefaultTagParser, Prompt
from lllm.core.resource import PackageInfo, ResourceNode
from lllm.core.tactic import Tactic
from lllm.proxies.base import BaseProxy
from lllm.sections import assets, configs, files, prompts, proxies, tactics
from lllm.sections.files import file_nodes

# What each built-in plugin declares (its loaders included).
SPECS = {
    module.__name__.rpartition(".")[2]: module.lllm_sections()[0]
    for module in (prompts, proxies, tactics, configs, assets)
}


def make_folder(
    root: Path,
    section: str,
    tree: dict[str, str | bytes] | None = None,
    *,
    folder: str | None = None,
    prefix: str = "",
    spec: SectionSpec | None = None,
) -> SectionFolder:
    """A ``SectionFolder`` for ``root/<folder or section>`` of package ``pkg``, anchored at ``root``."""
    path = root / (folder or section)
    path.mkdir(parents=True, exist_ok=True)
    write_tree(path, tree or {})
    return SectionFolder(
        spec or SPECS[section],
        path,
        PackageInfo("pkg"),
        prefix=prefix,
        plugin_name=section,
        package_root=root,
    )


def by_key(nodes: list[ResourceNode]) -> dict[str, ResourceNode]:
    return {node.key: node for node in nodes}


def keys(nodes: list[ResourceNode]) -> list[str]:
    return [node.key for node in nodes]


# ---------------------------------------------------------------------------- declarations


@pytest.mark.parametrize(
    "module, name, resource_type",
    [
        (prompts, "prompts", "prompt"),
        (proxies, "proxies", "proxy"),
        (tactics, "tactics", "tactic"),
        (configs, "configs", "config"),
        (assets, "assets", "asset"),
    ],
)
def test_each_module_declares_its_section(
    module: types.ModuleType, name: str, resource_type: str
) -> None:
    (spec,) = module.lllm_sections()
    assert (spec.name, spec.resource_type, spec.folder_name) == (name, resource_type, name)


def test_files_module_is_not_a_plugin() -> None:
    assert not hasattr(files, "lllm_sections")
    assert not hasattr(files, "lllm_discover")


# ------------------------------------------------------------------------ Prompt ownership


def test_prompt_created_outside_any_module_code_has_no_module() -> None:
    made: list[Prompt] = []
    thread = threading.Thread(target=lambda: made.append(Prompt("p", "t")))
    thread.start()
    thread.join()
    assert made[0].defined_in_module is None
    with pytest.raises(AttributeError):
        made[0].defined_in_module = "x"  # type: ignore[misc]


def test_prompt_defined_in_module_for_exec_and_extend() -> None:
    namespace: dict[str, Any] = {"__name__": "fake_module_a", "Prompt": Prompt}
    exec(compile("p = Prompt('p', 'hello')", "<fake>", "exec"), namespace)
    assert namespace["p"].defined_in_module == "fake_module_a"
    other: dict[str, Any] = {"__name__": "fake_module_b", "base": namespace["p"]}
    exec(compile("q = base.extend(path='q')", "<fake>", "exec"), other)
    assert other["q"].defined_in_module == "fake_module_b"
    assert namespace["p"].defined_in_module == "fake_module_a"


# --------------------------------------------------------------------------------- prompts

PY_PROMPTS = """\
from lllm.core.prompt import Prompt

greeting = Prompt(path="greeting", prompt="Hello {name}")
nested = Prompt(path="deep/inner", prompt="Inner")
not_a_prompt = "greeting"
"""


@pytest.mark.parametrize("prefix, expected_prefix", [("", ""), ("ext", "ext/"), ("/a/b/", "a/b/")])
def test_python_prompt_keys_and_metadata(tmp_path: Path, prefix: str, expected_prefix: str) -> None:
    folder = make_folder(
        tmp_path,
        "prompts",
        {"chat.py": PY_PROMPTS, "sub/dir/more.py": PY_PROMPTS},
        prefix=prefix,
    )
    nodes = prompts.discover_prompts(folder)
    assert keys(nodes) == [
        f"{expected_prefix}chat/greeting",
        f"{expected_prefix}chat/deep/inner",
        f"{expected_prefix}sub/dir/more/greeting",
        f"{expected_prefix}sub/dir/more/deep/inner",
    ]
    node = nodes[0]
    assert node.is_loaded
    assert node.resource_type == "prompt"
    assert node.namespace == "pkg.prompts"
    assert node.qualified_key == f"pkg.prompts:{expected_prefix}chat/greeting"
    assert isinstance(node.value, Prompt)
    assert node.value.path == "greeting"
    assert node.value(name="Ada") == "Hello Ada"
    assert node.metadata == {
        "file_path": str(tmp_path / "prompts" / "chat.py"),
        "package": "pkg",
        "section": "prompts",
        "plugin": "prompts",
    }
    assert nodes[2].metadata["file_path"] == str(tmp_path / "prompts" / "sub" / "dir" / "more.py")


@pytest.mark.parametrize("prefix, expected_prefix", [("", ""), ("lib", "lib/")])
def test_text_prompt_keys_lazy_loading_and_front_matter(
    tmp_path: Path, prefix: str, expected_prefix: str
) -> None:
    folder = make_folder(
        tmp_path,
        "prompts",
        {
            "plain.md": "Summarise {text}.\n",
            "notes.txt": "Just {what}, {{braces}}.",
            "sub/front.md": """\
                ---
                model: gpt
                tags: [a, b]
                ---
                Body for {user}
                second line
                """,
            "sub/empty_front.md": "---\n---\nOnly body",
        },
        prefix=prefix,
    )
    nodes = prompts.discover_prompts(folder)
    assert keys(nodes) == [
        f"{expected_prefix}notes",
        f"{expected_prefix}plain",
        f"{expected_prefix}sub/empty_front",
        f"{expected_prefix}sub/front",
    ]
    assert not any(node.is_loaded for node in nodes)
    found = by_key(nodes)

    plain = found[f"{expected_prefix}plain"]
    assert plain.metadata["file_path"] == str(tmp_path / "prompts" / "plain.md")
    assert plain.metadata["section"] == "prompts"
    value = plain.value
    assert plain.is_loaded
    assert isinstance(value, Prompt)
    assert value.path == f"{expected_prefix}plain"
    assert value.prompt == "Summarise {text}.\n"
    assert value.metadata == {}
    assert value.template_vars == {"text"}

    assert found[f"{expected_prefix}notes"].value(what="text") == "Just text, {braces}."

    front = found[f"{expected_prefix}sub/front"].value
    assert front.metadata == {"model": "gpt", "tags": ["a", "b"]}
    assert front.prompt == "Body for {user}\nsecond line\n"
    assert front.template_vars == {"user"}

    empty = found[f"{expected_prefix}sub/empty_front"].value
    assert (empty.metadata, empty.prompt) == ({}, "Only body")


def test_front_matter_only_on_the_first_line(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path,
        "prompts",
        {"a.md": "Intro\n---\nx: 1\n---\nrest", "b.md": "--- \nnot: fence\n---\n"},
    )
    found = by_key(prompts.discover_prompts(folder))
    assert found["a"].value.metadata == {}
    assert found["a"].value.prompt == "Intro\n---\nx: 1\n---\nrest"
    assert found["b"].value.metadata == {}


@pytest.mark.parametrize(
    "content, message",
    [
        ("---\n- a\n- b\n---\nbody", "mapping"),
        ("---\njust a string\n---\nbody", "mapping"),
        ("---\nkey: [unclosed\n---\nbody", "YAML"),
        ("---\nkey: 1\nno closing fence\n", "never closed"),
    ],
)
def test_bad_front_matter_fails_on_value_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    folder = make_folder(tmp_path, "prompts", {"bad.md": content, "good.md": "fine"})
    found = by_key(prompts.discover_prompts(folder))  # discovery reads no file
    assert found["good"].value.prompt == "fine"
    with pytest.raises(ResourceLoadError) as info:
        _ = found["bad"].value
    text = str(info.value)
    assert "pkg.prompts:bad" in text
    assert str(tmp_path / "prompts" / "bad.md") in text
    assert message in text
    assert isinstance(info.value.__cause__, ValueError)
    assert str(tmp_path / "prompts" / "bad.md") in str(info.value.__cause__)
    assert not found["bad"].is_loaded


def test_python_and_text_prompts_come_out_in_walk_order(tmp_path: Path) -> None:
    one = 'from lllm.core.prompt import Prompt\np = Prompt("p", "x")\n'
    folder = make_folder(
        tmp_path,
        "prompts",
        {
            "a.md": "a",
            "a/inner.txt": "inner",
            "a.py": one,
            "b/c.py": one,
            "b/d.md": "d",
            "b.txt": "b",
            "z.py": one,
        },
    )
    assert keys(prompts.discover_prompts(folder)) == [
        "a/inner",  # folder "a" sorts before "a.md" and "a.py"
        "a",
        "a/p",
        "b/c/p",
        "b/d",
        "b",
        "z/p",
    ]


def test_prompts_skip_hidden_names_and_private_files_at_any_depth(tmp_path: Path) -> None:
    """As the LLLM framework does: ``_`` file names are skipped, ``_`` folders are walked."""
    one = 'from lllm.core.prompt import Prompt\np = Prompt("p", "x")\n'
    folder = make_folder(
        tmp_path,
        "prompts",
        {
            "kept.md": "k",
            "kept.py": one,
            "_private.py": one,
            ".hidden.md": "h",
            ".hidden/x.md": "h",
            "_dir/x.md": "h",
            "__pycache__/cached.py": one,
            "sub/kept.md": "k",
            "sub/_private.py": one,
            "sub/.hidden/x.md": "h",
            "sub/_dir/x.md": "h",
            "sub/__pycache__/c.py": one,
            "sub/deeper/kept.txt": "k",
            "sub/deeper/_x.txt": "h",
            "sub/deeper/.x.txt": "h",
            "sub/deeper/_dir/y.md": "h",
            "sub/deeper/notes.rst": "not a prompt file",
        },
    )
    assert keys(prompts.discover_prompts(folder)) == [
        "_dir/x",
        "kept",
        "kept/p",
        "sub/_dir/x",
        "sub/deeper/_dir/y",
        "sub/deeper/kept",
        "sub/kept",
    ]


def test_one_prompt_bound_to_two_names_gives_one_node(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path,
        "prompts",
        {
            "twice.py": """\
                from lllm.core.prompt import Prompt

                second = Prompt("second", "2")
                first = Prompt("first", "1")
                alias = first
                again = second
                """
        },
    )
    nodes = prompts.discover_prompts(folder)
    assert keys(nodes) == ["twice/second", "twice/first"]  # module __dict__ order


def test_relative_imports_and_imported_prompts(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shared.py": """\
                from lllm.core.prompt import Prompt

                SUFFIX = "!"
                shared_prompt = Prompt("shared", "from shared")
                """,
        },
    )
    folder = make_folder(
        tmp_path,
        "prompts",
        {
            "common.py": """\
                from lllm.core.prompt import Prompt

                def helper(text):
                    return text.upper()

                greeting = Prompt("greeting", "Hi {name}")
                """,
            "user.py": """\
                from lllm.core.prompt import Prompt

                from ..shared import SUFFIX, shared_prompt
                from .common import greeting, helper

                own = Prompt("own", helper("own") + SUFFIX)
                """,
        },
    )
    nodes = prompts.discover_prompts(folder)
    assert keys(nodes) == ["common/greeting", "user/own"]
    found = by_key(nodes)
    assert found["user/own"].value.prompt == "OWN!"
    assert found["user/own"].metadata["file_path"] == str(tmp_path / "prompts" / "user.py")
    assert found["common/greeting"].metadata["file_path"] == str(tmp_path / "prompts" / "common.py")


def test_factory_built_and_extended_prompts_belong_to_the_calling_module(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path,
        "prompts",
        {
            "_factory.py": """\
                from lllm.core.prompt import Prompt

                def make(path):
                    return Prompt(path, "made " + path)

                class Builder:
                    def build(self, path):
                        return make(path)
                """,
            "base.py": """\
                from lllm.core.prompt import Prompt

                base = Prompt("base", "Base {x}")
                """,
            "users.py": """\
                from ._factory import Builder, make
                from .base import base

                made = make("made")
                built = Builder().build("built")
                extended = base.extend(path="extended")

                class Holder:
                    inner = make("in_class")

                from_class = Holder.inner
                """,
        },
    )
    nodes = prompts.discover_prompts(folder)
    assert keys(nodes) == [
        "base/base",
        "users/made",
        "users/built",
        "users/extended",
        "users/in_class",
    ]
    found = by_key(nodes)
    assert found["users/made"].value.prompt == "made made"
    assert found["users/extended"].value.prompt == "Base {x}"
    assert found["base/base"].value.defined_in_module != found["users/made"].value.defined_in_module


def test_lllm_style_prompt_file(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path,
        "prompts",
        {
            "agent.py": """\
                from lllm.core.prompt import Prompt, DefaultTagParser, DefaultSimpleHandler

                analyzer = Prompt(
                    path="analyzer",
                    prompt="Analyse {topic}. Answer in <answer></answer>.",
                    parser=DefaultTagParser(xml_tags=["answer"], required_xml_tags=["answer"]),
                    handler=DefaultSimpleHandler(),
                    metadata={"role": "system"},
                )
                """
        },
    )
    (node,) = prompts.discover_prompts(folder)
    assert node.key == "agent/analyzer"
    prompt = node.value
    assert isinstance(prompt.parser, DefaultTagParser)
    assert prompt.metadata == {"role": "system"}
    assert prompt.parse("<answer>42</answer>")["xml_tags"]["answer"] == ["42"]


def test_failing_python_file_warns_and_others_are_found(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path,
        "prompts",
        {
            "a.py": 'from lllm.core.prompt import Prompt\np = Prompt("p", "a")\n',
            "broken.py": 'raise RuntimeError("boom at import")\n',
            "c.md": "c",
            "d.py": 'from lllm.core.prompt import Prompt\np = Prompt("p", "d")\n',
        },
    )
    with pytest.warns(RuntimeWarning, match="broken.py") as record:
        nodes = prompts.discover_prompts(folder)
    assert "boom at import" in str(record[0].message)
    assert keys(nodes) == ["a/p", "c", "d/p"]


def test_same_file_is_imported_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter_name = f"lllm_test_counter_{tmp_path.name}".replace("-", "_")
    counter = types.ModuleType(counter_name)
    counter.count = 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, counter_name, counter)
    tree = {
        "once.py": f"""\
            import {counter_name} as counter
            from lllm.core.prompt import Prompt

            counter.count += 1
            p = Prompt("p", "once")
            """
    }
    first = make_folder(tmp_path, "prompts", tree)
    second = make_folder(tmp_path, "prompts", prefix="again")
    (one,) = prompts.discover_prompts(first)
    (two,) = prompts.discover_prompts(second)
    (three,) = prompts.discover_prompts(first)
    assert counter.count == 1  # type: ignore[attr-defined]
    assert one.value is two.value is three.value
    assert (one.key, two.key) == ("once/p", "again/once/p")


def test_empty_or_missing_prompts_folder(tmp_path: Path) -> None:
    assert prompts.discover_prompts(make_folder(tmp_path, "prompts")) == []
    missing = SectionFolder(
        SPECS["prompts"], tmp_path / "nope", PackageInfo("pkg"), package_root=tmp_path
    )
    assert prompts.discover_prompts(missing) == []


# --------------------------------------------------------------------------------- configs


@pytest.mark.parametrize("prefix, expected_prefix", [("", ""), ("conf", "conf/")])
def test_config_formats_keys_and_laziness(
    tmp_path: Path, prefix: str, expected_prefix: str
) -> None:
    folder = make_folder(
        tmp_path,
        "configs",
        {
            "a.yaml": "model: gpt\nnested: {x: 1}\n",
            "b.yml": "list: [1, 2]\n",
            "c.json": '{"k": [true, null]}',
            "d.toml": 'title = "t"\n[section]\nn = 3\n',
            "empty.yaml": "",
            "sub/deep/e.YAML": "e: 1\n",
            "notes.txt": "ignored",
            "_private.yaml": "x: 1\n",
            ".hidden/h.yaml": "x: 1\n",
        },
        prefix=prefix,
    )
    nodes = configs.discover_configs(folder)
    p = expected_prefix
    # Configs keep _ names (configs/_base.yaml is a common base), as the LLLM framework does.
    assert keys(nodes) == [
        f"{p}_private",
        f"{p}a",
        f"{p}b",
        f"{p}c",
        f"{p}d",
        f"{p}empty",
        f"{p}sub/deep/e",
    ]
    assert not any(node.is_loaded for node in nodes)
    found = by_key(nodes)
    assert found[f"{p}a"].value == {"model": "gpt", "nested": {"x": 1}}
    assert found[f"{p}a"].is_loaded
    assert found[f"{p}b"].value == {"list": [1, 2]}
    assert found[f"{p}c"].value == {"k": [True, None]}
    assert found[f"{p}d"].value == {"title": "t", "section": {"n": 3}}
    assert found[f"{p}empty"].value == {}
    assert found[f"{p}sub/deep/e"].value == {"e": 1}
    node = found[f"{p}a"]
    assert node.resource_type == "config"
    assert node.namespace == "pkg.configs"
    assert node.metadata == {
        "file_path": str(tmp_path / "configs" / "a.yaml"),
        "package": "pkg",
        "section": "configs",
        "plugin": "configs",
    }


def test_duplicate_config_keys_are_all_returned_in_walk_order(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "configs", {"a.yaml": "x: 1\n", "a.yml": "x: 2\n"})
    nodes = configs.discover_configs(folder)
    assert keys(nodes) == ["a", "a"]  # the loader warns and keeps the first
    assert [node.value["x"] for node in nodes] == [1, 2]


@pytest.mark.parametrize(
    "name, content",
    [
        ("list.yaml", "- a\n- b\n"),
        ("scalar.yml", "just text\n"),
        ("array.json", "[1, 2]"),
        ("null.json", "null"),
    ],
)
def test_non_mapping_config_fails_naming_the_file(tmp_path: Path, name: str, content: str) -> None:
    folder = make_folder(tmp_path, "configs", {name: content})
    (node,) = configs.discover_configs(folder)
    with pytest.raises(ResourceLoadError) as info:
        _ = node.value
    file = str(tmp_path / "configs" / name)
    assert node.qualified_key in str(info.value)
    assert file in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)
    assert file in str(info.value.__cause__)
    assert "mapping" in str(info.value.__cause__)


def test_invalid_config_syntax_fails_on_value(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "configs", {"bad.json": "{not json", "bad2.toml": "= nope"})
    for node in configs.discover_configs(folder):
        with pytest.raises(ResourceLoadError, match="bad"):
            _ = node.value


# ---------------------------------------------------------------------------------- assets


@pytest.mark.parametrize("prefix, expected_prefix", [("", ""), ("static/v1", "static/v1/")])
def test_assets_keys_parsing_and_laziness(
    tmp_path: Path, prefix: str, expected_prefix: str
) -> None:
    folder = make_folder(
        tmp_path,
        "assets",
        {
            "data.json": '{"a": 1}',
            "list.yaml": "- 1\n- 2\n",
            "conf.yml": "k: v\n",
            "table.toml": "x = 1\n",
            "img/logo.png": b"\x89PNG\x00\x01",
            "notes.txt": "plain text",
            "_private.bin": b"x",
            ".hidden/x.bin": b"x",
            "img/_thumbs/t.png": b"x",
            "img/__pycache__/t.pyc": b"x",
        },
        prefix=prefix,
    )
    nodes = file_nodes(folder)
    p = expected_prefix
    assert keys(nodes) == [
        f"{p}conf.yml",
        f"{p}data.json",
        f"{p}img/_thumbs/t.png",  # a _ folder is walked; a _ file is not
        f"{p}img/logo.png",
        f"{p}list.yaml",
        f"{p}notes.txt",
        f"{p}table.toml",
    ]
    assert not any(node.is_loaded for node in nodes)
    found = by_key(nodes)
    assert found[f"{p}data.json"].value == {"a": 1}
    assert found[f"{p}list.yaml"].value == [1, 2]
    assert found[f"{p}conf.yml"].value == {"k": "v"}
    assert found[f"{p}table.toml"].value == {"x": 1}
    assert found[f"{p}img/logo.png"].value == b"\x89PNG\x00\x01"
    assert found[f"{p}notes.txt"].value == b"plain text"
    node = found[f"{p}img/logo.png"]
    assert node.resource_type == "asset"
    assert node.namespace == "pkg.assets"
    assert node.metadata == {
        "file_path": str(tmp_path / "assets" / "img" / "logo.png"),
        "package": "pkg",
        "section": "assets",
        "plugin": "assets",
    }


def test_file_nodes_serve_a_generic_section(tmp_path: Path) -> None:
    spec = SectionSpec(name="data", resource_type="data")
    folder = make_folder(tmp_path, "data", {"rows.csv": "a,b\n", "x/meta.json": "[1]"}, spec=spec)
    nodes = files.file_nodes(folder)
    assert keys(nodes) == ["rows.csv", "x/meta.json"]
    assert {node.resource_type for node in nodes} == {"data"}
    assert {node.namespace for node in nodes} == {"pkg.data"}
    assert nodes[0].metadata["section"] == "data"
    assert nodes[0].value == b"a,b\n"
    assert nodes[1].value == [1]
    assert keys(files.file_nodes(folder, keep_suffix=False)) == ["rows", "x/meta"]


def test_load_file_value_directly(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.JSON": '{"x": 1}', "b.toml": 'k = "é"\n', "c": b"\x00raw"})
    assert files.load_file_value(tmp_path / "a.JSON") == {"x": 1}
    assert files.load_file_value(tmp_path / "b.toml") == {"k": "é"}
    assert files.load_file_value(tmp_path / "c") == b"\x00raw"


# --------------------------------------------------------------------------------- proxies

PROXY_FILE = """\
from lllm.proxies.base import BaseProxy


class WeatherProxy(BaseProxy):
    _proxy_path = "weather/current"
    _proxy_name = "Weather"

    @BaseProxy.endpoint(category="weather", endpoint="now", description="Now.", params={"city": "str"})
    def now(self, city):
        return city


class PlainProxy(BaseProxy):
    @BaseProxy.endpoint()
    def ping(self):
        return "pong"


class DerivedProxy(WeatherProxy):
    pass


class EmptyPathProxy(BaseProxy):
    _proxy_path = ""


Alias = PlainProxy


class NotAProxy:
    _proxy_path = "nope"
"""


@pytest.mark.parametrize("prefix, expected_prefix", [("", ""), ("ext", "ext/")])
def test_proxy_keys(tmp_path: Path, prefix: str, expected_prefix: str) -> None:
    folder = make_folder(
        tmp_path,
        "proxies",
        {
            "apis/weather.py": PROXY_FILE,
            "importer.py": """\
                from lllm.proxies.base import BaseProxy
                from .apis.weather import PlainProxy, WeatherProxy


                class LocalProxy(PlainProxy):
                    _proxy_path = "/local/"
                """,
        },
        prefix=prefix,
    )
    nodes = proxies.discover_proxies(folder)
    p = expected_prefix
    assert keys(nodes) == [
        f"{p}weather/current",
        f"{p}apis/weather/PlainProxy",
        f"{p}apis/weather/DerivedProxy",  # the inherited _proxy_path is not its key
        f"{p}apis/weather/EmptyPathProxy",
        f"{p}local",
    ]
    found = by_key(nodes)
    weather = found[f"{p}weather/current"]
    assert weather.is_loaded
    cls = weather.value
    assert isinstance(cls, type) and issubclass(cls, BaseProxy)
    assert cls.__name__ == "WeatherProxy"
    assert cls.endpoints()["now"].params == {"city": "str"}
    assert found[f"{p}apis/weather/PlainProxy"].value.endpoints()["ping"].method == "GET"
    assert found[f"{p}apis/weather/DerivedProxy"].value.__bases__ == (cls,)
    assert weather.resource_type == "proxy"
    assert weather.metadata == {
        "file_path": str(tmp_path / "proxies" / "apis" / "weather.py"),
        "package": "pkg",
        "section": "proxies",
        "plugin": "proxies",
    }
    assert found[f"{p}local"].metadata["file_path"] == str(tmp_path / "proxies" / "importer.py")


def test_invalid_proxy_path_is_reported_and_skipped(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path,
        "proxies",
        {
            "p.py": """\
                from lllm.proxies.base import BaseProxy

                class Bad(BaseProxy):
                    _proxy_path = "bad:path"

                class Good(BaseProxy):
                    pass
                """
        },
    )
    with pytest.warns(RuntimeWarning, match="Bad"):
        nodes = proxies.discover_proxies(folder)
    assert keys(nodes) == ["p/Good"]


# --------------------------------------------------------------------------------- tactics


@pytest.mark.parametrize("prefix, expected_prefix", [("", ""), ("team", "team/")])
def test_tactic_keys(tmp_path: Path, prefix: str, expected_prefix: str) -> None:
    folder = make_folder(
        tmp_path,
        "tactics",
        {
            "solve.py": """\
                from lllm.core.tactic import Tactic


                class Unnamed(Tactic):
                    pass


                class Solver(Tactic):
                    name = "solver"

                    def call(self, task):
                        return f"solved {task}"


                class EmptyName(Tactic):
                    name = ""


                Again = Solver
                """,
            "nested/more.py": """\
                from lllm.core.tactic import Tactic
                from ..solve import Solver


                class Planner(Tactic):
                    name = "plan/step"
                """,
        },
        prefix=prefix,
    )
    nodes = tactics.discover_tactics(folder)
    p = expected_prefix
    assert keys(nodes) == [f"{p}plan/step", f"{p}solver"]  # nested/ sorts before solve.py
    found = by_key(nodes)
    solver = found[f"{p}solver"]
    assert solver.is_loaded
    assert issubclass(solver.value, Tactic)
    assert solver.value()("x") == "solved x"
    assert solver.resource_type == "tactic"
    assert solver.metadata == {
        "file_path": str(tmp_path / "tactics" / "solve.py"),
        "package": "pkg",
        "section": "tactics",
        "plugin": "tactics",
    }
    assert found[f"{p}plan/step"].metadata["file_path"] == str(
        tmp_path / "tactics" / "nested" / "more.py"
    )
