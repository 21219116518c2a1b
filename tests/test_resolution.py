"""Table-driven resolution: exact keys, bare keys, pkg: shorthand, misses and type mismatches."""

from __future__ import annotations

import pytest

from lllm.core.errors import ResourceNotFoundError, ResourceTypeError
from lllm.core.resource import PackageInfo, ResourceNode
from lllm.core.runtime import Runtime

RESOURCES = [
    ("root.prompts", "greet/hello", "prompt"),
    ("root.prompts", "shared", "prompt"),
    ("root.configs", "shared", "config"),
    ("root.configs", "default", "config"),
    ("root.configs", "experiments/ablation", "config"),
    ("root.proxies", "search/web", "proxy"),
    ("root.tactics", "analytica", "tactic"),
    ("root.assets", "logo.png", "asset"),
    ("root.tactics", "only_tactic", "tactic"),
    ("child.prompts", "greet/hello", "prompt"),
    ("child.proxies", "search", "proxy"),
    ("child.tactics", "deep", "tactic"),
    ("child.configs", "base", "config"),
    ("child.assets", "img/logo.png", "asset"),
    ("child.datasets", "big", "dataset"),
    ("", "loose", "config"),
]


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    rt = Runtime()
    rt.register_package(PackageInfo("root"))
    rt.register_package(PackageInfo("child"))
    for namespace, key, rtype in RESOURCES:
        value = f"{namespace}:{key}" if namespace else key
        rt.register(ResourceNode.eager(key, value, namespace=namespace, resource_type=rtype))
    return rt


# (key, resource_type, expected qualified key or exception class)
CASES = [
    # exact qualified keys, untyped and typed
    ("root.prompts:greet/hello", None, "root.prompts:greet/hello"),
    ("root.prompts:greet/hello", "prompt", "root.prompts:greet/hello"),
    ("child.assets:img/logo.png", "asset", "child.assets:img/logo.png"),
    ("child.datasets:big", None, "child.datasets:big"),
    ("loose", None, "loose"),
    ("loose", "config", "loose"),
    # bare keys, typed: only the default package's section of that type
    ("greet/hello", "prompt", "root.prompts:greet/hello"),
    ("default", "config", "root.configs:default"),
    ("experiments/ablation", "config", "root.configs:experiments/ablation"),
    ("search/web", "proxy", "root.proxies:search/web"),
    ("analytica", "tactic", "root.tactics:analytica"),
    ("logo.png", "asset", "root.assets:logo.png"),
    ("shared", "config", "root.configs:shared"),
    ("shared", "prompt", "root.prompts:shared"),
    # bare keys, untyped: prompts, proxies, tactics, configs in that order
    ("greet/hello", None, "root.prompts:greet/hello"),
    ("shared", None, "root.prompts:shared"),
    ("analytica", None, "root.tactics:analytica"),
    ("default", None, "root.configs:default"),
    # pkg:path shorthand for every built-in type (and a plugin-like type)
    ("child:greet/hello", "prompt", "child.prompts:greet/hello"),
    ("child:search", "proxy", "child.proxies:search"),
    ("child:deep", "tactic", "child.tactics:deep"),
    ("child:base", "config", "child.configs:base"),
    ("child:img/logo.png", "asset", "child.assets:img/logo.png"),
    ("child:big", "dataset", "child.datasets:big"),
    ("root:greet/hello", "prompt", "root.prompts:greet/hello"),
    # misses
    ("greet/helo", "prompt", ResourceNotFoundError),
    ("nothing", None, ResourceNotFoundError),
    ("logo.png", None, ResourceNotFoundError),  # assets are not in the untyped fallback
    ("child:search", None, ResourceNotFoundError),  # shorthand needs a type
    ("child:greet/hello", "config", ResourceNotFoundError),
    ("nobody:greet/hello", "prompt", ResourceNotFoundError),
    ("child.prompts:missing", "prompt", ResourceNotFoundError),
    ("deep", "tactic", ResourceNotFoundError),  # bare keys only look in the default package
    ("", None, ResourceNotFoundError),
    # found, but of another type
    ("root.prompts:greet/hello", "config", ResourceTypeError),
    ("loose", "prompt", ResourceTypeError),
    ("child.datasets:big", "asset", ResourceTypeError),
    ("only_tactic", "prompt", ResourceNotFoundError),  # typed bare keys look only in their section
]


@pytest.mark.parametrize("key,resource_type,expected", CASES)
def test_resolution_table(runtime: Runtime, key, resource_type, expected) -> None:
    if isinstance(expected, str):
        node = runtime.get_node(key, resource_type)
        assert node.qualified_key == expected
        assert runtime.get(key, resource_type) == expected
        assert runtime.has(key, resource_type) is True
    else:
        with pytest.raises(expected):
            runtime.get(key, resource_type)
        with pytest.raises(expected):
            runtime.get_node(key, resource_type)
        assert runtime.has(key, resource_type) is False


@pytest.mark.parametrize(
    "method,key,expected",
    [
        ("get_prompt", "greet/hello", "root.prompts:greet/hello"),
        ("get_prompt", "child:greet/hello", "child.prompts:greet/hello"),
        ("get_proxy", "child:search", "child.proxies:search"),
        ("get_proxy", "search/web", "root.proxies:search/web"),
        ("get_tactic", "child:deep", "child.tactics:deep"),
        ("get_config", "child:base", "child.configs:base"),
        ("get_config", "default", "root.configs:default"),
    ],
)
def test_typed_getters(runtime: Runtime, method: str, key: str, expected: str) -> None:
    assert getattr(runtime, method)(key) == expected


def test_proxy_shorthand_never_appends_s() -> None:
    rt = Runtime()
    rt.register(
        ResourceNode.eager("search", "right", namespace="pkg.proxies", resource_type="proxy")
    )
    rt.register(
        ResourceNode.eager("search", "wrong", namespace="pkg.proxys", resource_type="proxy")
    )
    assert rt.get_proxy("pkg:search") == "right"


def test_not_found_is_key_error_with_suggestion(runtime: Runtime) -> None:
    with pytest.raises(KeyError) as info:
        runtime.get_prompt("greet/helo")
    err = info.value
    assert isinstance(err, ResourceNotFoundError)
    assert "greet/helo" in str(err)
    assert "root.prompts:greet/hello" in err.suggestions
    assert "Did you mean" in str(err)
    assert not str(err).startswith("'")


def test_type_error_names_both_types(runtime: Runtime) -> None:
    with pytest.raises(TypeError) as info:
        runtime.get("root.prompts:greet/hello", "config")
    assert isinstance(info.value, ResourceTypeError)
    assert "prompt" in str(info.value) and "config" in str(info.value)


def test_has_never_computes_suggestions(runtime: Runtime, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("suggestions computed")

    monkeypatch.setattr(runtime, "_suggest", boom)
    assert runtime.has("no/such/key") is False
    assert runtime.has("greet/helo", "prompt") is False
    with pytest.raises(AssertionError):
        runtime.get("no/such/key")


def test_keys_sorted_and_filtered(runtime: Runtime) -> None:
    assert runtime.keys() == sorted(runtime.keys())
    assert len(runtime.keys()) == len(RESOURCES)
    assert runtime.keys("prompt") == [
        "child.prompts:greet/hello",
        "root.prompts:greet/hello",
        "root.prompts:shared",
    ]
    assert runtime.keys("no-such-type") == []
    assert [n.qualified_key for n in runtime.iter_nodes("tactic")] == runtime.keys("tactic")


def test_get_node_does_not_load() -> None:
    calls = []
    rt = Runtime()
    rt.register(
        ResourceNode.lazy(
            "big", lambda: calls.append(1) or "v", namespace="p.configs", resource_type="config"
        )
    )
    node = rt.get_node("p.configs:big")
    assert not node.is_loaded and calls == []
    assert rt.get("p.configs:big") == "v"
    assert node.is_loaded and calls == [1]


def test_no_default_namespace_means_bare_keys_are_exact_only() -> None:
    rt = Runtime()
    rt.register(ResourceNode.eager("x", 1, namespace="p.configs", resource_type="config"))
    assert rt.default_namespace is None
    assert not rt.has("x")
    assert rt.get_config("p:x") == 1


def test_reregister_under_another_type_leaves_no_stale_index_entry() -> None:
    rt = Runtime()
    rt.register(ResourceNode.eager("x", 1, namespace="p.things", resource_type="config"))
    rt.register(ResourceNode.eager("x", 2, namespace="p.things", resource_type="asset"))
    assert rt.keys("config") == []
    assert rt.keys("asset") == ["p.things:x"]
    assert rt.get("p.things:x") == 2


def test_overwrite_false_raises_value_error() -> None:
    rt = Runtime()
    rt.register(ResourceNode.eager("x", 1, namespace="p.configs", resource_type="config"))
    with pytest.raises(ValueError, match="p.configs:x"):
        rt.register(
            ResourceNode.eager("x", 2, namespace="p.configs", resource_type="config"),
            overwrite=False,
        )
    assert rt.get("p.configs:x") == 1


def test_unregister_removes_from_every_index() -> None:
    rt = Runtime()
    rt.register(ResourceNode.eager("x", 1, namespace="p.configs", resource_type="config"))
    rt.unregister("p.configs:x")
    assert rt.keys() == [] and rt.keys("config") == []
    assert not rt.has("p.configs:x")
    with pytest.raises(KeyError):
        rt.unregister("p.configs:x")


def test_default_namespace_is_first_package() -> None:
    rt = Runtime()
    rt.register_package(PackageInfo("first", version="1.0"))
    rt.register_package(PackageInfo("second"))
    rt.register_package(PackageInfo("third", alias="t3"))
    assert rt.default_namespace == "first"
    assert set(rt.packages) == {"first", "second", "t3"}
    assert rt.packages["t3"].effective_name == "t3" and rt.packages["t3"].name == "third"
    with pytest.raises(TypeError):
        rt.packages["x"] = PackageInfo("x")  # read-only view


def test_reset_clears_everything() -> None:
    rt = Runtime()
    rt.register_package(PackageInfo("p"))
    rt.register_config("c", {"a": 1}, namespace="p.configs")
    assert rt.register_package(PackageInfo("x"), path="/x/lllm.toml") is True
    assert rt.register_package(PackageInfo("y"), path="/x/lllm.toml") is False
    assert "y" not in rt.packages
    rt.discovery_done = True
    rt.reset()
    assert rt.keys() == [] and dict(rt.packages) == {}
    assert rt.default_namespace is None and rt.loaded_package_paths == frozenset()
    assert rt.discovery_done is False
    assert rt.register_package(PackageInfo("x"), path="/x/lllm.toml") is True


def test_unload_package_forgets_its_resources_record_and_path() -> None:
    rt = Runtime()
    rt.register_package(PackageInfo("p"), path="/p/lllm.toml")
    rt.register_package(PackageInfo("q"), make_default=False, path="/q/lllm.toml")
    rt.register_config("c", {"a": 1}, namespace="p.configs")
    rt.register_config("c", {"b": 2}, namespace="q.configs")
    rt.unload_package("p")
    assert rt.keys() == ["q.configs:c"] and list(rt.packages) == ["q"]
    assert rt.default_namespace is None and rt.loaded_package_paths == {"/q/lllm.toml"}
    assert rt.register_package(PackageInfo("p"), path="/p/lllm.toml") is True
    rt.unload_package("never-loaded")  # nothing happens


def test_register_rejects_non_nodes() -> None:
    with pytest.raises(TypeError):
        Runtime().register({"key": "x"})  # type: ignore[arg-type]


def test_register_config_needs_exactly_one_source() -> None:
    rt = Runtime()
    with pytest.raises(ValueError):
        rt.register_config("c", namespace="p.configs")
    with pytest.raises(ValueError):
        rt.register_config("c", {}, namespace="p.configs", loader=dict)
    rt.register_config("empty", {}, namespace="p.configs")
    assert rt.get_config("p:empty") == {}


def test_snapshot_and_restore_include_section_declarations() -> None:
    rt = Runtime()
    snapshot = rt.snapshot()
    rt.sections.declare("widgets", "widget")
    rt.register(ResourceNode.eager("x", 1, namespace="p.widgets", resource_type="widget"))
    assert rt.has("p:x", "widget")
    rt.restore(snapshot)
    assert rt.sections.type_for("widgets") is None and rt.keys() == []
