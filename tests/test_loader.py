"""Loading packages: key rules through the loader, prefixes, aliases, dependencies, collisions."""

from __future__ import annotations

import builtins
import os
import warnings
from pathlib import Path

import pytest
from pkgtree import write_tree

from lllm import Prompt, ResourceLoadError, load_package, resolve_config, vendor_config
from lllm._loader import PackageProblemsError
from lllm._manifest import ManifestError
from lllm.core.runtime import Runtime


def manifest(name: str, extra: str = "") -> str:
    return f'[package]\nname = "{name}"\nversion = "1.0.0"\n{extra}'


@pytest.fixture
def rt() -> Runtime:
    return Runtime()


def load_quietly(path: Path, runtime: Runtime) -> list[str]:
    """Load and return the warning messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_package(path, runtime=runtime)
    return [str(w.message) for w in caught]


def test_every_builtin_key_rule(tmp_path: Path, rt: Runtime) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg"),
            "prompts/chat.py": """
            from lllm import Prompt
            hello = Prompt(path="hello", prompt="Hi {name}")
            nested = Prompt(path="deep/er", prompt="x")
        """,
            "prompts/notes/system.md": "---\nrole: system\n---\nBe kind.\n",
            "prompts/plain.txt": "Plain {x}",
            "proxies/web.py": """
            from lllm.proxies.base import BaseProxy
            class Search(BaseProxy):
                _proxy_path = "search/web"
            class Fetch(BaseProxy):
                pass
        """,
            "tactics/t.py": """
            from lllm import Tactic
            class Answer(Tactic):
                name = "answer"
            class Unnamed(Tactic):
                pass
        """,
            "configs/default.yaml": "model: a\n",
            "configs/exp/fast.json": '{"model": "b"}',
            "configs/other.toml": 'model = "c"\n',
            "assets/img/logo.png": b"\x89PNG",
            "assets/faq.json": '{"q": 1}',
        },
    )
    assert load_quietly(root, rt) == []
    assert rt.keys() == [
        "pkg.assets:faq.json",
        "pkg.assets:img/logo.png",
        "pkg.configs:default",
        "pkg.configs:exp/fast",
        "pkg.configs:other",
        "pkg.prompts:chat/deep/er",
        "pkg.prompts:chat/hello",
        "pkg.prompts:notes/system",
        "pkg.prompts:plain",
        "pkg.proxies:search/web",
        "pkg.proxies:web/Fetch",
        "pkg.tactics:answer",
    ]
    assert rt.default_namespace == "pkg"
    assert rt.get_prompt("chat/hello")(name="Ada") == "Hi Ada"
    system = rt.get_prompt("notes/system")
    assert (
        isinstance(system, Prompt)
        and system.metadata == {"role": "system"}
        and system.prompt.strip() == "Be kind."
    )
    assert rt.get_config("exp/fast") == {"model": "b"} and rt.get_config("other") == {"model": "c"}
    assert rt.get("pkg.assets:img/logo.png") == b"\x89PNG" and rt.get("pkg.assets:faq.json") == {
        "q": 1
    }
    assert rt.get_tactic("answer").__name__ == "Answer"
    node = rt.get_node("pkg.configs:default")
    assert node.metadata["file_path"] == str(root / "configs" / "default.yaml")
    assert node.metadata["package"] == "pkg" and node.metadata["section"] == "configs"
    assert node.metadata["plugin"] == "configs"


def test_loading_reads_no_file_contents(tmp_path: Path, rt: Runtime) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg"),
            "prompts/a.md": "A",
            "configs/c.yaml": "a: 1",
            "assets/x.bin": b"x",
        },
    )
    load_package(root, runtime=rt)
    assert [rt.get_node(k).is_loaded for k in rt.keys()] == [False, False, False]


def test_skip_rules_at_every_depth(tmp_path: Path, rt: Runtime) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg"),
            "prompts/ok.md": "ok",
            "prompts/_draft.md": "no",
            "prompts/.hidden.md": "no",
            "prompts/_private/x.md": "a _ folder is walked",
            "prompts/.git/y.md": "no",
            "prompts/sub/__pycache__/z.md": "no",
            "prompts/sub/_w.md": "no",
            "prompts/sub/fine.md": "yes",
            "assets/.DS_Store": "no",
            "assets/_tmp/a.txt": "a _ folder is walked",
            "assets/_notes.txt": "no",
            "configs/_base/common.yaml": "a: 1",
            "configs/_defaults.yaml": "b: 2",
            "configs/.hidden.yaml": "no",
        },
    )
    load_package(root, runtime=rt)
    assert rt.keys() == [
        "pkg.assets:_tmp/a.txt",
        "pkg.configs:_base/common",
        "pkg.configs:_defaults",
        "pkg.prompts:_private/x",
        "pkg.prompts:ok",
        "pkg.prompts:sub/fine",
    ]


def test_a_config_inherits_from_a_private_base_folder(tmp_path: Path, rt: Runtime) -> None:
    """The LLLM framework's layout for shared bases: configs/_base/, named by base:."""
    import lllm

    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg"),
            "configs/_base/common.yaml": "model: small\ntemperature: 0.1\n",
            "configs/fast.yaml": "base: _base/common\ntemperature: 0.5\n",
        },
    )
    load_package(root, runtime=rt)
    assert lllm.resolve_config("fast", rt) == {"model": "small", "temperature": 0.5}


def test_prefixes_paths_and_reexported_folder(tmp_path: Path, rt: Runtime) -> None:
    write_tree(
        tmp_path / "shared_prompts", {"tools/lookup.md": "Look up {x}", "tools/_skip.md": "no"}
    )
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest(
                "pkg",
                """
            [prompts]
            paths = ["prompts", "vendor under tools", { path = "../shared_prompts", prefix = "shared" }]
            [configs]
            paths = []
        """,
            ),
            "prompts/a.md": "A",
            "vendor/b.md": "B",
            "configs/ignored.yaml": "a: 1",
        },
    )
    assert load_quietly(root, rt) == []
    assert rt.keys() == ["pkg.prompts:a", "pkg.prompts:shared/tools/lookup", "pkg.prompts:tools/b"]


def test_reexported_python_folder_imports_relative_to_itself(tmp_path: Path, rt: Runtime) -> None:
    write_tree(
        tmp_path / "lib",
        {
            "common.py": "GREETING = 'hi from lib'\n",
            "p.py": "from lllm import Prompt\nfrom .common import GREETING\nlib_prompt = Prompt(path='lib', prompt=GREETING)\n",
        },
    )
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg", '[prompts]\npaths = ["../lib"]\n'),
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_package(root, runtime=rt)
    assert rt.keys("prompt") == ["pkg.prompts:p/lib"]
    assert rt.get_prompt("p/lib").prompt == "hi from lib"


def test_relative_imports_and_objects_registered_where_defined(tmp_path: Path, rt: Runtime) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg"),
            "helpers.py": "def shout(s):\n    return s.upper()\n",
            "prompts/base.py": "from lllm import Prompt\nshared = Prompt(path='shared', prompt='S')\n",
            "prompts/user.py": """
            from lllm import Prompt
            from .base import shared
            from ..helpers import shout
            own = Prompt(path='own', prompt=shout('own'))
        """,
            "tactics/base.py": "from lllm import Tactic\nclass Root(Tactic):\n    name = 'root'\n",
            "tactics/child.py": "from .base import Root\nclass Child(Root):\n    name = 'child'\n",
        },
    )
    assert load_quietly(root, rt) == []
    assert rt.keys("prompt") == ["pkg.prompts:base/shared", "pkg.prompts:user/own"]
    assert rt.get_prompt("user/own").prompt == "OWN"
    assert rt.keys("tactic") == ["pkg.tactics:child", "pkg.tactics:root"]


def test_python_file_imported_once_per_process(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg"),
            "prompts/counted.py": """
            import builtins
            builtins.__dict__.setdefault("_lllm_test_imports", []).append(__name__)
            from lllm import Prompt
            p = Prompt(path="p", prompt="x")
        """,
        },
    )
    import builtins

    builtins.__dict__.pop("_lllm_test_imports", None)
    a, b = Runtime(), Runtime()
    load_package(root, runtime=a)
    load_package(root, runtime=b)
    assert len(builtins.__dict__.pop("_lllm_test_imports")) == 1
    assert a.get_prompt("counted/p") is b.get_prompt("counted/p")


def test_discovery_into_one_runtime_leaves_another_untouched(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "pkg", {"lllm.toml": manifest("pkg"), "prompts/a.md": "A"})
    a, b = Runtime(), Runtime()
    b.register_config("mine", {"x": 1}, namespace="other.configs")
    load_package(root, runtime=a)
    assert a.keys() == ["pkg.prompts:a"]
    assert b.keys() == ["other.configs:mine"] and dict(b.packages) == {}


def test_collisions_warn_naming_both_files_first_wins(tmp_path: Path, rt: Runtime) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg", '[prompts]\npaths = ["prompts", "more"]\n'),
            "configs/a.yaml": "v: yaml",
            "configs/a.yml": "v: yml",
            "prompts/x.md": "from md",
            "prompts/x/y.md": "nested",
            "prompts/x.py": "from lllm import Prompt\ny = Prompt(path='y', prompt='from py')\n",
            "more/x.md": "from more",
            "tactics/one.py": "from lllm import Tactic\nclass A(Tactic):\n    name = 'same'\n",
            "tactics/two.py": "from lllm import Tactic\nclass B(Tactic):\n    name = 'same'\n",
        },
    )
    messages = load_quietly(root, rt)
    assert len(messages) == 4, messages
    assert any("a.yaml" in m and "a.yml" in m for m in messages)
    assert any("x.md" in m and "more" in m for m in messages)
    assert any("x.py" in m and "y.md" in m for m in messages)
    assert any("one.py" in m and "two.py" in m for m in messages)
    assert rt.get_config("a") == {"v": "yaml"}
    assert rt.get_prompt("x").prompt.strip() == "from md"
    assert rt.get_tactic("same").__name__ == "A"


def test_generic_section_for_unclaimed_table(tmp_path: Path, rt: Runtime) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg", '[data]\npaths = ["data"]\n[eval_sets]\n'),
            "data/cities.csv": "a,b\n",
            "data/nested/table.json": "[1, 2]",
            "eval_sets/q.yaml": "- 1\n",
        },
    )
    load_package(root, runtime=rt)
    assert rt.keys("data") == ["pkg.data:cities.csv", "pkg.data:nested/table.json"]
    assert rt.get("pkg:cities.csv", "data") == b"a,b\n"
    assert rt.get("pkg.data:nested/table.json") == [1, 2]
    assert rt.keys("eval_sets") == ["pkg.eval_sets:q.yaml"] and rt.get(
        "pkg:q.yaml", "eval_sets"
    ) == [1]


def test_missing_folder_warns_and_loading_goes_on(tmp_path: Path, rt: Runtime) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg", '[prompts]\npaths = ["nope", "prompts"]\n'),
            "prompts/a.md": "A",
        },
    )
    messages = load_quietly(root, rt)
    assert len(messages) == 1 and "nope" in messages[0] and "lllm.toml" in messages[0]
    assert rt.keys() == ["pkg.prompts:a"]


def test_dependencies_alias_diamond_and_cycle(tmp_path: Path, rt: Runtime) -> None:
    write_tree(
        tmp_path / "base",
        {
            "lllm.toml": manifest(
                "base", '[dependencies]\npackages = ["../root"]\n'
            ),  # a cycle back to root
            "configs/model.yaml": "name: base-model\nsize: 1\n",
        },
    )
    write_tree(
        tmp_path / "left",
        {
            "lllm.toml": manifest("left", '[dependencies]\npackages = ["../base"]\n'),
            "prompts/l.md": "L",
        },
    )
    write_tree(
        tmp_path / "right",
        {
            "lllm.toml": manifest(
                "right", '[dependencies]\npackages = [{ path = "../base", alias = "b2" }]\n'
            ),
            "prompts/r.md": "R",
        },
    )
    root = write_tree(
        tmp_path / "root",
        {
            "lllm.toml": manifest(
                "root", '[dependencies]\npackages = ["../left", "../right as r"]\n'
            ),
            "prompts/main.md": "M",
        },
    )
    assert load_quietly(root, rt) == []
    assert rt.default_namespace == "root"
    assert set(rt.packages) == {"root", "left", "right", "r", "base", "b2"}
    assert rt.packages["r"].name == "right" and rt.packages["b2"].alias == "b2"
    assert len(rt.loaded_package_paths) == 4  # diamond: base loaded once
    assert rt.get_prompt("r:r") is rt.get_prompt("right:r")
    assert rt.get_config("b2:model") == {"name": "base-model", "size": 1}
    # the alias shares the node: its lazy file is read once, metadata kept
    original, alias = rt.get_node("base.configs:model"), rt.get_node("b2.configs:model")
    assert original.is_loaded and alias.metadata is original.metadata
    assert rt.get_config("b2:model") is rt.get_config("base:model")


def test_alias_reads_lazy_value_once(tmp_path: Path, rt: Runtime, monkeypatch) -> None:
    write_tree(tmp_path / "dep", {"lllm.toml": manifest("dep"), "configs/c.yaml": "a: 1\n"})
    root = write_tree(
        tmp_path / "root",
        {
            "lllm.toml": manifest("root", '[dependencies]\npackages = ["../dep as d"]\n'),
        },
    )
    load_package(root, runtime=rt)
    reads = []
    real_open = builtins.open
    monkeypatch.setattr(
        builtins,
        "open",
        lambda file, *a, **k: reads.append(os.fspath(file)) or real_open(file, *a, **k),
    )
    assert rt.get_config("d:c") == {"a": 1}
    assert rt.get_config("dep:c") is rt.get_config("d:c")
    assert [os.path.basename(r) for r in reads if r.startswith(str(tmp_path))] == ["c.yaml"]
    assert rt.get_node("dep.configs:c").metadata["plugin"] == "configs"


def test_missing_dependency_and_dependency_without_manifest_warn(
    tmp_path: Path, rt: Runtime
) -> None:
    (tmp_path / "bare").mkdir()
    root = write_tree(
        tmp_path / "root",
        {
            "lllm.toml": manifest("root", '[dependencies]\npackages = ["../gone", "../bare"]\n'),
            "prompts/a.md": "A",
        },
    )
    messages = load_quietly(root, rt)
    assert len(messages) == 2
    assert any("gone" in m for m in messages) and any(
        "bare" in m and "lllm.toml" in m for m in messages
    )
    assert rt.keys() == ["root.prompts:a"]


def test_same_package_name_from_two_folders_first_wins(tmp_path: Path, rt: Runtime) -> None:
    write_tree(tmp_path / "one", {"lllm.toml": manifest("dup"), "prompts/a.md": "one"})
    write_tree(
        tmp_path / "two",
        {"lllm.toml": '[package]\nname = "dup"\nversion = "2.0.0"\n', "prompts/a.md": "two"},
    )
    root = write_tree(
        tmp_path / "root",
        {
            "lllm.toml": manifest("root", '[dependencies]\npackages = ["../one", "../two"]\n'),
        },
    )
    messages = load_quietly(root, rt)
    assert (
        len(messages) == 1
        and str(tmp_path / "one") in messages[0]
        and str(tmp_path / "two") in messages[0]
    )
    assert rt.get_prompt("dup:a").prompt == "one"


def test_same_release_of_a_dependency_from_two_folders_is_silent(
    tmp_path: Path, rt: Runtime
) -> None:
    # Two packages that each bundle one release of a dependency: the first copy is used.
    write_tree(tmp_path / "copy1", {"lllm.toml": manifest("dep"), "prompts/a.md": "one"})
    write_tree(tmp_path / "copy2", {"lllm.toml": manifest("dep"), "prompts/a.md": "two"})
    root = write_tree(
        tmp_path / "root",
        {
            "lllm.toml": manifest(
                "root", '[dependencies]\npackages = ["../copy1", "../copy2 as d2"]\n'
            ),
        },
    )
    assert load_quietly(root, rt) == []
    assert rt.get_prompt("dep:a").prompt == "one"
    assert rt.get_prompt("d2:a") is rt.get_prompt("dep:a")


def test_load_package_errors(tmp_path: Path, rt: Runtime) -> None:
    with pytest.raises(FileNotFoundError):
        load_package(tmp_path / "does-not-exist", runtime=rt)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError):
        load_package(tmp_path / "empty", runtime=rt)
    bad = write_tree(tmp_path / "bad", {"lllm.toml": '[prompts]\npaths = "prompts"\n'})
    with pytest.raises(ManifestError) as info:
        load_package(bad, runtime=rt)
    assert "lllm.toml" in str(info.value) and "paths" in str(info.value)
    assert rt.keys() == []


def test_manifest_file_path_is_accepted(tmp_path: Path, rt: Runtime) -> None:
    root = write_tree(tmp_path / "pkg", {"lllm.toml": manifest("pkg"), "prompts/a.md": "A"})
    info = load_package(root / "lllm.toml", runtime=rt)
    assert info is not None and info.name == "pkg" and info.version == "1.0.0"
    assert info.base_dir == root


def test_failing_file_is_reported_and_others_load(tmp_path: Path, rt: Runtime) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg"),
            "prompts/broken.py": "raise RuntimeError('boom at import')\n",
            "prompts/fine.md": "fine",
        },
    )
    messages = load_quietly(root, rt)
    assert len(messages) == 1 and "broken.py" in messages[0] and "boom at import" in messages[0]
    assert rt.keys() == ["pkg.prompts:fine"]


def test_strict_load_collects_every_problem(tmp_path: Path, rt: Runtime) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg", '[dependencies]\npackages = ["../gone"]\n'),
            "prompts/broken.py": "import no_such_module_anywhere\n",
            "configs/a.yaml": "v: 1",
            "configs/a.json": '{"v": 2}',
        },
    )
    with pytest.raises(PackageProblemsError) as info:
        load_package(root, runtime=rt, strict=True)
    kinds = sorted(p.kind for p in info.value.problems)
    assert kinds == ["collision", "import", "missing-dependency"]


def test_lllm_style_package_loads_unmodified(tmp_path: Path, rt: Runtime) -> None:
    root = write_tree(
        tmp_path / "legacy",
        {
            "lllm.toml": manifest("legacy"),
            "prompts/agent.py": """
            from lllm.core.prompt import Prompt, DefaultTagParser
            analyst = Prompt(
                path="analyst",
                prompt="Analyse {topic}. Reply in <analysis></analysis>.",
                parser=DefaultTagParser(xml_tags=["analysis"], required_xml_tags=["analysis"]),
            )
        """,
            "proxies/finance.py": """
            from lllm.proxies.base import BaseProxy
            class FinanceProxy(BaseProxy):
                _proxy_path = "finance/quotes"
                _proxy_name = "Finance"
                _proxy_description = "Stock quotes"
                @BaseProxy.endpoint(category="quotes", endpoint="price", description="Latest price",
                                    params={"symbol": "Ticker"}, response={"price": 1.0}, method="GET")
                def price(self, symbol):
                    return {"price": 1.0}
        """,
            "configs/base.yaml": "model_name: gpt-4o\nagent:\n  max_steps: 5\n  tools: [a]\n",
            "configs/exp.yaml": "base: base\nagent:\n  tools: [b]\n",
        },
    )
    assert load_quietly(root, rt) == []
    analyst = rt.get_prompt("agent/analyst")
    assert analyst.parse("<analysis>ok</analysis>")["xml_tags"]["analysis"] == ["ok"]
    proxy = rt.get_proxy("legacy:finance/quotes")
    assert "price" in proxy.endpoints()
    assert resolve_config("exp", runtime=rt) == {
        "model_name": "gpt-4o",
        "agent": {"max_steps": 5, "tools": ["b"]},
    }


def test_resolve_and_vendor_config(tmp_path: Path, rt: Runtime) -> None:
    write_tree(
        tmp_path / "dep",
        {
            "lllm.toml": manifest("dep"),
            "configs/default.yaml": "who: dep-default\n",
            "configs/child.yaml": "base: default\nextra: 1\n",  # must find dep's own default first
        },
    )
    root = write_tree(
        tmp_path / "root",
        {
            "lllm.toml": manifest("root", '[dependencies]\npackages = ["../dep"]\n'),
            "configs/default.yaml": "who: root-default\nnested: {a: 1, b: [1, 2]}\n",
            "configs/mid.yaml": "base: default\nnested: {b: [3]}\n",
            "configs/leaf.yaml": "base: mid\nnested: {c: 3}\n",
            "configs/cross.yaml": "base: dep:child\n",
            "configs/loop_a.yaml": "base: loop_b\n",
            "configs/loop_b.yaml": "base: loop_a\n",
            "configs/list.yaml": "- 1\n",
        },
    )
    load_package(root, runtime=rt)
    leaf = resolve_config("leaf", runtime=rt)
    assert leaf == {"who": "root-default", "nested": {"a": 1, "b": [3], "c": 3}}
    leaf["nested"]["a"] = 99
    assert rt.get_config("default")["nested"]["a"] == 1  # deep copy
    assert resolve_config("cross", runtime=rt) == {"who": "dep-default", "extra": 1}
    with pytest.raises(ValueError, match="loop_a.*loop_b.*loop_a"):
        resolve_config("loop_a", runtime=rt)
    with pytest.raises(KeyError):
        resolve_config("nope", runtime=rt)
    with pytest.raises(ResourceLoadError, match="list.yaml"):
        resolve_config("list", runtime=rt)
    vendored = vendor_config("mid", {"nested": {"a": 2}, "new": True}, runtime=rt)
    assert vendored == {"who": "root-default", "nested": {"a": 2, "b": [3]}, "new": True}
    assert "base" not in resolve_config("mid", runtime=rt)


def test_a_file_name_that_cannot_be_a_key_is_skipped_alone(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg"),
            "prompts/ok.md": "fine",
            "prompts/a:b.md": "colon",
            "assets/q:r.txt": "colon",
            "assets/fine.txt": "fine",
        },
    )
    first, second = Runtime(), Runtime()
    messages = load_quietly(root, first)
    assert sorted(first.keys()) == ["pkg.assets:fine.txt", "pkg.prompts:ok"]
    assert len(messages) == 2 and all("cannot appear in a resource key" in m for m in messages)
    # The plugins were not marked broken: a second package still gets its prompts.
    load_quietly(root, second)
    assert "pkg.prompts:ok" in second.keys()


def test_strict_load_collects_manifest_and_plugin_warnings(tmp_path: Path, rt: Runtime) -> None:
    root = write_tree(
        tmp_path / "pkg", {"lllm.toml": manifest("pkg", '[prompts]\nfolders = ["x"]\n')}
    )
    with pytest.raises(PackageProblemsError) as info:
        load_package(root, runtime=rt, strict=True)
    assert [p.kind for p in info.value.problems] == ["manifest"]
    assert "folders" in info.value.problems[0].message


def test_plugins_see_their_section_options(tmp_path: Path) -> None:
    from lllm.plugin import SectionSpec, file_nodes, hookimpl
    from lllm.testing import load_with_plugin

    seen = []

    class Options:
        @hookimpl
        def lllm_sections(self):
            return [SectionSpec(name="notes", resource_type="note", discover=self.discover)]

        def discover(self, folder):
            seen.append(dict(folder.options))
            return file_nodes(folder)

    root = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": manifest("pkg", '[notes]\npaths = ["notes"]\nencoding = "latin-1"\n'),
            "notes/a.txt": "A",
        },
    )
    with pytest.warns(RuntimeWarning, match="encoding"):
        runtime = load_with_plugin(Options(), root, strict=False)
    assert seen == [{"encoding": "latin-1"}] and runtime.keys("note") == ["pkg.notes:a.txt"]


def test_lllm_core_config_compatibility_module() -> None:
    from lllm.core.config import load_config, resolve_config, vendor_config

    assert callable(load_config) and callable(resolve_config) and callable(vendor_config)
