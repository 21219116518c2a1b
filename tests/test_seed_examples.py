"""The examples of the seed document "Runtime & Registries" that need no files on disk, as written."""

from __future__ import annotations

import json

import pytest
import yaml

import lllm
from lllm import Prompt
from lllm.core.resource import ResourceNode
from lllm.core.runtime import Runtime, get_default_runtime


class WebProxy:
    """Stands in for a user's proxy class."""


class AnalyticaTactic:
    """Stands in for a user's tactic class."""


@pytest.fixture(autouse=True)
def clean_runtime():
    # The seed's own fixture pattern.
    runtime = get_default_runtime()
    yield
    runtime.reset()


def test_default_runtime_keys() -> None:
    runtime = get_default_runtime()
    assert runtime.keys("prompt") == []
    assert isinstance(runtime, Runtime)


def test_typed_registration_and_retrieval(tmp_path, monkeypatch) -> None:
    (tmp_path / "heavy.yaml").write_text("layers: 48\nmodel_name: big\n")
    monkeypatch.chdir(tmp_path)

    runtime = get_default_runtime()

    p = Prompt(path="test/greeting", prompt="Hello {name}!")
    runtime.register_prompt(p, namespace="my_pkg.prompts")
    runtime.register_proxy("search/web", WebProxy, namespace="my_pkg.proxies")
    runtime.register_tactic("analytica", AnalyticaTactic, namespace="my_pkg.tactics")
    runtime.register_config("default", {"model_name": "gpt-4o"}, namespace="my_pkg.configs")
    runtime.register_config(
        "heavy", loader=lambda: yaml.safe_load(open("heavy.yaml")), namespace="my_pkg.configs"
    )

    assert runtime.get_prompt("my_pkg:test/greeting") is p
    assert runtime.get_prompt("my_pkg:test/greeting")(name="Ada") == "Hello Ada!"
    assert runtime.get_proxy("my_pkg:search/web") is WebProxy
    assert runtime.get_tactic("my_pkg:analytica") is AnalyticaTactic
    assert runtime.get_config("my_pkg:default") == {"model_name": "gpt-4o"}
    heavy = runtime.get_node("my_pkg.configs:heavy")
    assert not heavy.is_loaded
    assert runtime.get_config("my_pkg:heavy") == {"layers": 48, "model_name": "big"}
    assert heavy.is_loaded


def test_low_level_api() -> None:
    runtime = get_default_runtime()
    image_bytes = b"\x89PNG\r\n"
    node = ResourceNode.eager(
        "logo.png", image_bytes, namespace="my_pkg.assets", resource_type="asset"
    )
    runtime.register(node)

    rows = [{"a": 1}, {"a": 2}]

    def load_parquet(path):
        return {"path": path, "rows": rows}

    node = ResourceNode.lazy(
        "big_data",
        loader=lambda: load_parquet("data.parquet"),
        namespace="my_pkg.datasets",
        resource_type="dataset",
    )
    runtime.register(node)

    assert runtime.get("my_pkg.assets:logo.png") == image_bytes
    assert not node.is_loaded
    assert runtime.get("my_pkg.datasets:big_data")["rows"] == rows
    assert runtime.get("my_pkg:big_data", "dataset")["path"] == "data.parquet"
    assert runtime.keys("dataset") == ["my_pkg.datasets:big_data"]


def test_retrieval_typed_generic_and_module_level() -> None:
    runtime = get_default_runtime()
    runtime.register_package(lllm.PackageInfo("my_pkg"))
    runtime.register_prompt(
        Prompt(path="greet/hello", prompt="Hi {who}"), namespace="my_pkg.prompts"
    )
    runtime.register_prompt(
        Prompt(path="greet/hello", prompt="Child hi"), namespace="child_pkg.prompts"
    )
    runtime.register_tactic("analytica", AnalyticaTactic, namespace="my_pkg.tactics")
    runtime.register_proxy("search/web", WebProxy, namespace="my_pkg.proxies")
    runtime.register_config("default", {"model_name": "gpt-4o"}, namespace="my_pkg.configs")
    runtime.register_config("experiments/ablation", {"drop": "memory"}, namespace="my_pkg.configs")
    runtime.register(
        ResourceNode.eager("logo.png", b"png", namespace="my_pkg.assets", resource_type="asset")
    )

    # Typed convenience (section inferred)
    prompt = runtime.get_prompt("greet/hello")
    tactic_cls = runtime.get_tactic("analytica")
    proxy_cls = runtime.get_proxy("search/web")
    config = runtime.get_config("default")
    assert prompt(who="you") == "Hi you"
    assert tactic_cls is AnalyticaTactic and proxy_cls is WebProxy
    assert config == {"model_name": "gpt-4o"}

    # Generic (requires full URL or section+key)
    value = runtime.get("my_pkg.assets:logo.png")
    assert value == b"png"

    # Module-level convenience
    from lllm import load_config, load_prompt, load_resource, load_tactic

    prompt = load_prompt("child_pkg:greet/hello")
    config = load_config("experiments/ablation")
    asset = load_resource("my_pkg.assets:logo.png")
    assert prompt() == "Child hi"
    assert config == {"drop": "memory"}
    assert asset == b"png"
    assert load_tactic("analytica") is AnalyticaTactic
    assert load_resource("assets:logo.png") == b"png"


def test_isolated_runtime_for_testing() -> None:
    class MyAgent:
        def __init__(self, config, ckpt_dir, runtime):
            self.runtime = runtime

        def __call__(self, message):
            return self.runtime.get_prompt("test.prompts:test/prompt")

    runtime = Runtime()
    runtime.register_prompt(Prompt(path="test/prompt", prompt="..."), namespace="test.prompts")
    agent = MyAgent({}, ckpt_dir="/tmp/test", runtime=runtime)
    result = agent("hello")
    assert result.prompt == "..."
    assert runtime.has("test.prompts:test/prompt")
    # An isolated runtime leaves the default one untouched.
    assert not get_default_runtime().has("test.prompts:test/prompt")


def test_reset_fixture_pattern_cleans_between_tests() -> None:
    runtime = get_default_runtime()
    assert runtime.keys() == []  # whatever earlier tests registered was reset
    runtime.register_config("x", {}, namespace="p.configs")
    assert runtime.keys() == ["p.configs:x"]


def test_runtime_creation_has_no_side_effects(tmp_path, monkeypatch) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "lllm.toml").write_text('[package]\nname = "should_not_load"\n')
    monkeypatch.chdir(tmp_path)
    runtime = Runtime()
    assert runtime.keys() == [] and dict(runtime.packages) == {}
    assert runtime.default_namespace is None and runtime.discovery_done is False


def test_named_runtimes_and_default_replacement() -> None:
    from lllm.core import runtime as runtime_module

    with pytest.raises(KeyError, match="no-such"):
        lllm.get_runtime("no-such")
    rt = Runtime(name="exp_a")
    runtime_module.set_runtime("exp_a", rt)
    try:
        assert lllm.get_runtime("exp_a") is rt
        with pytest.raises(KeyError, match="exp_a"):
            lllm.get_runtime("exp_b")  # the message lists the known names
        assert lllm.get_runtime() is get_default_runtime()
        previous = get_default_runtime()
        lllm.set_default_runtime(rt)
        assert lllm.get_runtime() is rt and get_default_runtime() is rt
        lllm.set_default_runtime(previous)
        with pytest.raises(TypeError):
            lllm.set_default_runtime("not a runtime")  # type: ignore[arg-type]
    finally:
        runtime_module._named_runtimes.pop("exp_a", None)


def test_load_resource_needs_a_colon() -> None:
    with pytest.raises(ValueError):
        lllm.load_resource("logo.png")


def test_api_table_is_complete() -> None:
    names = [
        "register",
        "get",
        "get_node",
        "has",
        "keys",
        "register_prompt",
        "get_prompt",
        "register_proxy",
        "get_proxy",
        "register_tactic",
        "get_tactic",
        "register_config",
        "get_config",
        "register_package",
        "reset",
        "iter_nodes",
    ]
    for name in names:
        assert callable(getattr(Runtime, name)), name
    for prop in ["default_namespace", "discovery_done", "loaded_package_paths", "packages"]:
        assert isinstance(getattr(Runtime, prop), property), prop
    assert json.loads(json.dumps(Runtime().keys())) == []
