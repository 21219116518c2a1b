"""Tests for ``Tactic``, ``BaseProxy`` and the public import paths of the resource classes."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest

import lllm
from lllm.core.runtime import Runtime, get_default_runtime, set_default_runtime
from lllm.core.tactic import Tactic
from lllm.proxies.base import BaseProxy, EndpointInfo

# ------------------------------------------------------------------------------------ Tactic


class Echo(Tactic):
    name = "echo"

    def call(self, *args: object, **kwargs: object) -> tuple[object, ...]:
        return ("called", args, kwargs, self.options)


def test_tactic_call_delegates_to_call() -> None:
    tactic = Echo(flag=True)
    assert tactic(1, 2, key="v") == ("called", (1, 2), {"key": "v"}, {"flag": True})


def test_tactic_stores_constructor_arguments() -> None:
    runtime = Runtime(name="t")
    tactic = Echo({"model": "m"}, "/ckpt", runtime, temperature=0.5, retries=3)
    assert tactic.config == {"model": "m"}
    assert tactic.ckpt_dir == "/ckpt"
    assert tactic.runtime is runtime
    assert tactic.options == {"temperature": 0.5, "retries": 3}


def test_tactic_defaults() -> None:
    tactic = Tactic()
    assert Tactic.name is None and tactic.name is None
    assert tactic.config is None and tactic.ckpt_dir is None and tactic.runtime is None
    assert tactic.options == {}
    assert Echo.name == "echo"


def test_tactic_without_call_raises_not_implemented() -> None:
    class Unfinished(Tactic):
        name = "unfinished"

    with pytest.raises(NotImplementedError, match="Unfinished"):
        Unfinished()("input")
    with pytest.raises(NotImplementedError, match="Tactic"):
        Tactic().call()


# --------------------------------------------------------------------------------- BaseProxy


class Search(BaseProxy):
    _proxy_path = "search/web"
    _proxy_name = "Web search"
    _proxy_description = "Searches the web."

    @BaseProxy.endpoint(
        category="search",
        endpoint="web",
        description="Search the web.",
        params={"q": "query"},
        response={"results": []},
        method="post",
    )
    def search_web(self, q: str) -> str:
        return f"web:{q}"

    @BaseProxy.endpoint(category="search")
    def news(self, q: str) -> str:
        return f"news:{q}"

    @BaseProxy.endpoint(category="search", description="to be hidden")
    def images(self) -> str:
        return "images"

    def helper(self) -> str:
        return "not an endpoint"


class BetterSearch(Search):
    @BaseProxy.endpoint(category="search", description="Better news.")
    def news(self, q: str) -> str:
        return f"better:{q}"

    def images(self) -> str:
        return "plain method now"

    @BaseProxy.endpoint(category="maps", endpoint="geocode")
    def locate(self, place: str) -> str:
        return place


def test_proxy_class_attribute_defaults() -> None:
    assert BaseProxy._proxy_path is None
    assert BaseProxy._proxy_name is None
    assert BaseProxy._proxy_description == ""
    assert BaseProxy.endpoints() == {}
    assert Search._proxy_path == "search/web"
    assert BetterSearch._proxy_path == "search/web"


def test_proxy_init_accepts_any_keywords() -> None:
    assert BaseProxy().options == {}

    class Configured(BaseProxy):
        def __init__(self, cutoff_date: str | None = None, use_cache: bool = True) -> None:
            super().__init__(cutoff_date=cutoff_date, use_cache=use_cache)

    proxy = Configured(cutoff_date="2024-01-01", use_cache=False)
    assert proxy.options == {"cutoff_date": "2024-01-01", "use_cache": False}
    assert Search(api_key="k", timeout=3).options == {"api_key": "k", "timeout": 3}


def test_endpoint_metadata_is_recorded_on_the_function() -> None:
    func = Search.__dict__["search_web"]
    info = func.__lllm_endpoint__
    assert isinstance(info, EndpointInfo)
    assert info == EndpointInfo(
        category="search",
        endpoint="web",
        description="Search the web.",
        params={"q": "query"},
        response={"results": []},
        method="POST",
        name="search_web",
    )
    assert Search().search_web("x") == "web:x"


def test_endpoint_defaults() -> None:
    info = Search.__dict__["news"].__lllm_endpoint__
    assert (info.endpoint, info.name, info.category) == ("news", "news", "search")
    assert (info.description, info.params, info.response, info.method) == ("", {}, None, "GET")


def test_endpoint_returns_the_same_function_and_copies_params() -> None:
    params = {"a": 1}

    def fetch() -> None:
        pass

    assert BaseProxy.endpoint(params=params)(fetch) is fetch
    params["a"] = 2
    assert fetch.__lllm_endpoint__.params == {"a": 1}
    with pytest.raises(AttributeError):
        fetch.__lllm_endpoint__.endpoint = "other"  # type: ignore[misc]


def test_endpoints_of_a_class() -> None:
    endpoints = Search.endpoints()
    assert list(endpoints) == ["web", "news", "images"]
    assert endpoints["web"].name == "search_web"
    assert "helper" not in endpoints


def test_endpoints_with_inheritance_and_override() -> None:
    endpoints = BetterSearch.endpoints()
    assert set(endpoints) == {"web", "news", "geocode"}
    assert endpoints["news"].description == "Better news."
    assert endpoints["web"] is Search.endpoints()["web"]
    assert endpoints["geocode"].category == "maps"
    assert Search.endpoints()["news"].description == ""
    assert BetterSearch().endpoints() == endpoints


def test_endpoint_on_static_and_class_methods() -> None:
    class Tools(BaseProxy):
        @BaseProxy.endpoint(category="t")
        @staticmethod
        def ping() -> str:
            return "pong"

        @classmethod
        @BaseProxy.endpoint(category="t", endpoint="kind")
        def describe(cls) -> str:
            return cls.__name__

    assert set(Tools.endpoints()) == {"ping", "kind"}
    assert Tools.ping() == "pong" and Tools.describe() == "Tools"


# ------------------------------------------------------------------------- imports, registry


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("lllm.core.prompt", "Prompt"),
        ("lllm.core.prompt", "DefaultTagParser"),
        ("lllm.core.prompt", "DefaultSimpleHandler"),
        ("lllm.core.prompt", "ParseError"),
        ("lllm.core.tactic", "Tactic"),
        ("lllm.proxies.base", "BaseProxy"),
        ("lllm.proxies.base", "EndpointInfo"),
    ],
)
def test_import_paths(module: str, name: str) -> None:
    value = getattr(importlib.import_module(module), name)
    assert isinstance(value, type) and value.__name__ == name


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("Prompt", "lllm.core.prompt"),
        ("DefaultTagParser", "lllm.core.prompt"),
        ("DefaultSimpleHandler", "lllm.core.prompt"),
        ("ParseError", "lllm.core.prompt"),
        ("Tactic", "lllm.core.tactic"),
        ("BaseProxy", "lllm.proxies.base"),
    ],
)
def test_lllm_exports(name: str, module: str) -> None:
    assert getattr(lllm, name) is getattr(importlib.import_module(module), name)


@pytest.fixture
def fresh_default_runtime() -> Iterator[Runtime]:
    previous = get_default_runtime()
    runtime = Runtime(name="isolated")
    set_default_runtime(runtime)
    try:
        yield runtime
    finally:
        set_default_runtime(previous)


def test_creating_and_subclassing_registers_nothing(fresh_default_runtime: Runtime) -> None:
    assert lllm.get_default_runtime() is fresh_default_runtime
    assert lllm.get_default_runtime().keys() == []

    prompt = lllm.Prompt("greet/hello", "Hello {name}", parser=lllm.DefaultTagParser())
    prompt.extend(prompt="Bye {name}")

    class Named(lllm.Tactic):
        name = "named"

    class Endpointed(lllm.BaseProxy):
        _proxy_path = "some/proxy"

        @lllm.BaseProxy.endpoint(category="c")
        def go(self) -> None:
            pass

    Named()
    Endpointed()
    assert lllm.get_default_runtime().keys() == []
    assert len(fresh_default_runtime) == 0
    assert fresh_default_runtime.packages == {}


def test_process_default_runtime_is_left_unchanged() -> None:
    before = lllm.get_default_runtime().keys()
    lllm.Prompt("other/prompt", "{x}")

    class AnotherTactic(lllm.Tactic):
        name = "another"

    class AnotherProxy(lllm.BaseProxy):
        pass

    assert lllm.get_default_runtime().keys() == before
