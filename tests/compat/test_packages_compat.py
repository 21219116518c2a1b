"""Packages laid out as the LLLM framework documents them load unmodified (issue 14, items
4 to 7): its skip rules, its custom sections, its manifest names and the names its users
import. Each package here is written from the framework's documentation, in our words."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import lllm
from lllm.testing import write_files, write_package


def load(path: Path) -> tuple[lllm.Runtime, list[str]]:
    runtime = lllm.Runtime()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lllm.load_package(path, runtime=runtime)
    return runtime, [str(w.message) for w in caught]


# ------------------------------------------------------------------ 4. skip rules


def test_configs_keep_private_bases_and_python_skips_private_files(tmp_path: Path) -> None:
    package = write_package(
        tmp_path / "research",
        {
            "configs/_base/common.yaml": "global:\n  model_name: gpt-4o\n  temperature: 0.1\n",
            "configs/_defaults.yaml": "retries: 3\n",
            "configs/experiments/fast.yaml": "base: _base/common\nglobal:\n  temperature: 0.7\n",
            "configs/.secret.yaml": "token: x\n",
            "prompts/_helpers.py": "GREETING = 'Hello'\n",
            "prompts/_internal/review.py": (
                "from lllm.core.prompt import Prompt\n"
                "review = Prompt(path='review', prompt='Review {text}')\n"
            ),
            "prompts/chat.py": (
                "from lllm.core.prompt import Prompt\n"
                "from ._helpers import GREETING\n"
                "hello = Prompt(path='hello', prompt=GREETING + ' {name}')\n"
            ),
        },
        name="research",
    )
    runtime, warned = load(package)
    assert warned == []
    assert runtime.keys("config") == [
        "research.configs:_base/common",
        "research.configs:_defaults",
        "research.configs:experiments/fast",
    ]
    resolved = lllm.resolve_config("experiments/fast", runtime)
    assert resolved == {"global": {"model_name": "gpt-4o", "temperature": 0.7}}
    assert runtime.keys("prompt") == [
        "research.prompts:_internal/review/review",
        "research.prompts:chat/hello",
    ]


# ------------------------------------------------------------ 5. custom sections


def test_a_custom_section_registers_the_python_resources_it_defines(tmp_path: Path) -> None:
    package = write_package(
        tmp_path / "kit",
        {
            "agents/planner.py": (
                "from lllm.core.prompt import Prompt\n"
                "from lllm.core.tactic import Tactic\n"
                "from lllm.proxies import BaseProxy\n"
                "plan = Prompt(path='plan', prompt='Plan {goal}')\n"
                "class Planner(Tactic):\n    name = 'planner'\n"
                "class Weather(BaseProxy):\n    _proxy_path = 'weather'\n"
            ),
            "agents/notes.md": "some notes",
            "agents/schema.json": '{"type": "object"}',
        },
        name="kit",
        manifest='[agents]\npaths = ["agents"]\n',
    )
    runtime, warned = load(package)
    assert warned == []
    assert runtime.keys("agents") == [
        "kit.agents:notes.md",
        "kit.agents:planner",
        "kit.agents:planner/plan",
        "kit.agents:schema.json",
        "kit.agents:weather",
    ]
    assert runtime.get("kit.agents:planner/plan").prompt == "Plan {goal}"
    assert runtime.get("kit.agents:planner").__name__ == "Planner"
    assert runtime.get("kit.agents:weather").__name__ == "Weather"
    assert runtime.get("kit.agents:schema.json") == {"type": "object"}
    assert not any(key.endswith(".py") for key in runtime.keys())  # code is not stored as bytes


def test_files_of_a_tools_folder_the_llm_function_plugin_ignores_are_named(
    tmp_path: Path,
) -> None:
    package = write_package(
        tmp_path / "legacy",
        {
            "tools/search.py": "def search(query):\n    return query\n",
            "tools/search.json": '{"name": "search"}',
        },
        name="legacy",
    )
    runtime, warned = load(package)
    ignored = [w for w in warned if "ignored: the [tools] section belongs to the llm_function" in w]
    assert len(ignored) == 2, warned
    assert any(str(package / "tools" / "search.py") in w for w in ignored)
    assert any(str(package / "tools" / "search.json") in w for w in ignored)
    assert runtime.keys("tool") == []


# ------------------------------------------------------------- 6. manifest names


@pytest.mark.parametrize("name", [".lllm.toml", "LLLM.toml"])
def test_other_manifest_names_are_found(tmp_path: Path, name: str) -> None:
    write_files(
        tmp_path / "proj",
        {name: '[package]\nname = "proj"\n', "prompts/hi.md": "Hi"},
    )
    runtime, warned = load(tmp_path / "proj")
    assert warned == [] and runtime.keys() == ["proj.prompts:hi"]
    from lllm.core.config import find_config_file

    found = find_config_file(tmp_path / "proj" / "prompts")
    assert found is not None and found.name == name


def test_a_project_in_a_template_folder_is_found_from_above(tmp_path: Path) -> None:
    write_files(
        tmp_path / "repo",
        {"template/lllm.toml": '[package]\nname = "tpl"\n', "template/prompts/hi.md": "Hi {x}"},
    )
    code = "import json, lllm\nprint(json.dumps(lllm.get_default_runtime().keys()))\n"
    env = {**os.environ, "LLLM_NO_CACHE": "1", "LLLM_AUTO_SHARED_PACKAGES": "0"}
    env.pop("LLLM_CONFIG", None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path / "repo",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '["tpl.prompts:hi"]'


def test_a_dependency_with_a_dotted_name_is_refused_by_name_and_the_project_loads(
    tmp_path: Path,
) -> None:
    write_package(tmp_path / "finance", {"prompts/p.md": "P"}, name="finance")
    (tmp_path / "finance" / "lllm.toml").write_text('[package]\nname = "acme.finance"\n')
    app = write_package(
        tmp_path / "app",
        {"prompts/a.md": "A"},
        name="app",
        manifest='[dependencies]\npackages = ["../finance"]\n',
    )
    runtime, warned = load(app)
    assert runtime.keys() == ["app.prompts:a"]
    assert len(warned) == 1, warned
    assert str(tmp_path / "finance" / "lllm.toml") in warned[0] and "acme.finance" in warned[0]


# ------------------------------------------------ 7. names the framework's users import


def test_functions_where_the_frameworks_users_import_them(tmp_path: Path) -> None:
    from lllm.core import config, resource
    from lllm.core import runtime as runtime_module

    assert config.load_package is lllm.load_package
    assert runtime_module.load_runtime is lllm.load_runtime
    for name in ("install_package", "export_package", "list_packages", "remove_package"):
        assert getattr(runtime_module, name) is getattr(lllm, name)
    assert resource.load_resource is lllm.load_resource
    assert resource.load_prompt is lllm.load_prompt

    package = write_package(
        tmp_path / "shop", {"assets/logo.txt": "L", "prompts/p.md": "P"}, name="shop"
    )
    runtime = lllm.Runtime()
    config.load_package(package, runtime=runtime)
    assert runtime.keys("assets") == runtime.keys("asset") == ["shop.assets:logo.txt"]
    assert [key for key, _ in runtime.iter_items("prompts")] == ["shop.prompts:p"]
    assert [node.key for _, node in runtime.iter_items()] == ["logo.txt", "p"]
    runtime.register_config("fast", config_data={"model": "small"}, namespace="shop.configs")
    assert runtime.get_config("fast") == {"model": "small"}
    with pytest.raises(ValueError, match="not both"):
        runtime.register_config("x", {"a": 1}, config_data={"b": 2})


def test_tools_register_under_their_name_and_bare_keys_reach_them() -> None:
    import types

    runtime = lllm.Runtime()
    runtime.register_package(lllm.PackageInfo("kit"))
    search = types.SimpleNamespace(name="search", description="Search the web.")
    runtime.register_tool("web/search", search, namespace="kit.tools")
    assert runtime.get_tool("web/search") is search
    assert runtime.get("web/search") is search  # untyped: prompts, tools, proxies, …
    with pytest.raises(ValueError, match="not the tool's name 'search'"):
        runtime.register_tool("web/find", search, namespace="kit.tools")


def test_the_frameworks_top_level_names_exist() -> None:
    import lllm.core.prompt as prompt_module
    import lllm.core.tactic as tactic_module
    import lllm.proxies as proxies_module

    for name, home in [
        ("Function", prompt_module),
        ("FunctionCall", prompt_module),
        ("MCP", prompt_module),
        ("tool", prompt_module),
        ("tactictool", tactic_module),
        ("build_tactic", tactic_module),
        ("register_tactic_class", tactic_module),
        ("ProxyRegistrator", proxies_module),
        ("register_proxy", proxies_module),
        ("ProxyManager", proxies_module),
    ]:
        assert getattr(lllm, name) is getattr(home, name), name
    assert lllm.find_config_file is lllm.core.config.find_config_file


def test_framework_tools_in_a_section_no_plugin_claims(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without llm_function, [tools] is a generic section: the framework's @tool functions
    are resources there, keyed as the framework keys them."""
    from lllm.testing import reset_plugins

    monkeypatch.setenv("LLLM_DISABLE_PLUGINS", "llm_function")
    reset_plugins()
    try:
        package = write_package(
            tmp_path / "kit",
            {
                "tools/search.py": (
                    "from lllm import tool\n\n"
                    "@tool(description='Search the web.')\n"
                    "def search(query: str) -> str:\n    return query\n\n"
                    "@tool(description='Count words.')\n"
                    "def count(text: str) -> int:\n    return len(text.split())\n"
                ),
                "tools/search.json": '{"examples": 2}',
            },
            name="kit",
            manifest='[tools]\npaths = ["tools/"]\n',
        )
        runtime, warned = load(package)
    finally:
        monkeypatch.delenv("LLLM_DISABLE_PLUGINS")
        reset_plugins()
    assert warned == []
    assert runtime.keys("tools") == [
        "kit.tools:search",
        "kit.tools:search.json",
        "kit.tools:search/count",
    ]
    assert runtime.get("kit.tools:search").name == "search"
    assert runtime.get("kit.tools:search.json") == {"examples": 2}
