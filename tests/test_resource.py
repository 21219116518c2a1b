"""ResourceNode and PackageInfo."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lllm.core.errors import ResourceLoadError
from lllm.core.resource import PackageInfo, ResourceNode


def test_eager_node_fields_and_metadata() -> None:
    node = ResourceNode.eager(
        "img/logo.png", b"png", namespace="pkg.assets", resource_type="asset", size=3
    )
    assert node.key == "img/logo.png"
    assert node.namespace == "pkg.assets"
    assert node.resource_type == "asset"
    assert node.qualified_key == "pkg.assets:img/logo.png"
    assert node.metadata == {"size": 3}
    assert node.is_loaded and node.value == b"png"


def test_empty_namespace_gives_bare_qualified_key() -> None:
    assert ResourceNode.eager("greeting", "hi").qualified_key == "greeting"


def test_lazy_node_loads_once_and_frees_loader() -> None:
    calls = []
    node = ResourceNode.lazy(
        "big", lambda: calls.append(1) or [1, 2], namespace="p.data", resource_type="data"
    )
    assert not node.is_loaded
    assert node.value == [1, 2]
    assert node.value is node.value
    assert calls == [1]
    assert node._loader is None


def test_failing_loader_is_retried_and_named() -> None:
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk hiccup")
        return "ok"

    node = ResourceNode.lazy(
        "c", flaky, namespace="p.configs", resource_type="config", file_path="/pkg/configs/c.yaml"
    )
    with pytest.raises(ResourceLoadError) as info:
        _ = node.value
    message = str(info.value)
    assert (
        "p.configs:c" in message and "/pkg/configs/c.yaml" in message and "disk hiccup" in message
    )
    assert isinstance(info.value.__cause__, OSError)
    assert not node.is_loaded
    assert node.value == "ok"
    assert len(attempts) == 2


def test_lazy_loader_runs_once_under_concurrent_reads() -> None:
    calls = []
    start = threading.Barrier(8)
    release = threading.Event()

    def slow_loader():
        calls.append(threading.get_ident())
        release.wait(5)
        return object()

    node = ResourceNode.lazy("x", slow_loader, namespace="p.configs", resource_type="config")
    results = []

    def reader():
        start.wait()
        results.append(node.value)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    # Let every reader reach the lock before the single loader finishes.
    while len(calls) == 0:
        threading.Event().wait(0.001)
    threading.Event().wait(0.05)
    release.set()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)


@pytest.mark.parametrize("key", ["", "/a", "a/", "a//b", "pkg:a", None, 3])
def test_invalid_keys_rejected(key) -> None:
    with pytest.raises(ValueError):
        ResourceNode.eager(key, 1)


@pytest.mark.parametrize("namespace", ["a:b", "a/b", ".a", "a."])
def test_invalid_namespaces_rejected(namespace) -> None:
    with pytest.raises(ValueError):
        ResourceNode.eager("k", 1, namespace=namespace)


def test_lazy_requires_callable() -> None:
    with pytest.raises(TypeError):
        ResourceNode.lazy("k", "not callable")  # type: ignore[arg-type]


def test_nodes_compare_by_identity() -> None:
    a = ResourceNode.eager("k", 1)
    b = ResourceNode.eager("k", 1)
    assert a != b and len({a, b}) == 2


def test_package_info() -> None:
    info = PackageInfo("acme", version="1.2.0", description="d", base_dir="/tmp/acme")
    assert info.effective_name == "acme" and info.alias is None
    assert info.base_dir == Path("/tmp/acme")
    aliased = PackageInfo("acme", alias="a2")
    assert aliased.effective_name == "a2" and aliased.name == "acme"
    with pytest.raises(AttributeError):
        info.name = "other"  # frozen


def test_package_info_base_dir_is_kept_as_a_normalised_string() -> None:
    import pickle

    import attrs

    given_as_text = PackageInfo("acme", base_dir="/tmp/acme/")
    assert given_as_text == PackageInfo("acme", base_dir=Path("/tmp/./acme"))
    assert hash(given_as_text) == hash(PackageInfo("acme", base_dir=Path("/tmp/acme")))
    assert isinstance(given_as_text.base_dir, Path) and given_as_text.base_dir == Path("/tmp/acme")
    assert "base_dir=" in repr(given_as_text) and "Path" in repr(given_as_text)
    assert attrs.evolve(given_as_text, alias="a").base_dir == Path("/tmp/acme")
    assert pickle.loads(pickle.dumps(given_as_text)) == given_as_text
    assert PackageInfo("code").base_dir is None
    with pytest.raises(TypeError, match="base_dir"):
        PackageInfo("acme", base_dir=b"/tmp/acme")
