"""Tactic and proxy files written for the LLLM framework (0.1.1) load unmodified (issue 14, items 2-3).

Each package below is written the way the framework's documentation teaches: shared tactic
bases declared ``register=False``, ``name``/``agent_group`` class attributes, the documented
constructor forms, ``@tactictool``, ``from lllm.proxies import BaseProxy, ProxyRegistrator``
and ``@BaseProxy.endpoint`` with its full set of keyword arguments.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import pytest

import lllm
from lllm.core.runtime import Runtime
from lllm.testing import isolated_default_runtime, write_package


def load_quietly(root: Path) -> Runtime:
    """Load ``root`` into a fresh runtime; fail on any warning naming a file of the package."""
    runtime = Runtime(name="compat")
    with isolated_default_runtime() as default, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lllm.load_package(root, runtime=runtime)
        assert default.keys() == [], "loading must not register into the default runtime"
    about_files = [str(w.message) for w in caught if str(root) in str(w.message)]
    assert about_files == []
    return runtime


# ------------------------------------------------------------------------------------ tactics

PIPELINES = """\
    from lllm.core.tactic import Tactic


    class StagedPipeline(Tactic, register=False):
        \"\"\"Helpers shared by the pipelines below; never a registry entry, though it has a name.\"\"\"

        name = "staged"
        agent_group = ["worker"]

        def stage(self, label: str, text: str) -> str:
            return f"{label}({text})"


    class DigestPipeline(StagedPipeline):
        name = "digest"
        agent_group = ["extractor", "writer"]

        def call(self, text: str) -> str:
            return self.stage("write", self.stage("extract", text))


    class ReviewBase(Tactic, register=False):
        agent_group = ["reviewer"]

        def call(self, task: str) -> str:
            return f"reviewed {task}"


    class StrictReview(ReviewBase):
        name = "strict_review"


    class DraftPipeline(Tactic):
        name = "draft"
        agent_group = ["outliner", "drafter"]

        def call(self, task: str) -> str:
            return f"draft of {task}"


    class PolishedDraft(DraftPipeline):
        name = "polished_draft"
        agent_group = ["outliner", "drafter", "editor"]

        def call(self, task: str) -> str:
            return "polished " + super().call(task)
    """


def test_register_false_bases_are_not_registered(tmp_path: Path) -> None:
    root = write_package(
        tmp_path / "writers",
        {"tactics/pipelines.py": PIPELINES},
        manifest='[tactics]\npaths = ["tactics"]\n',
    )
    runtime = load_quietly(root)
    assert runtime.keys("tactic") == [
        "writers.tactics:digest",
        "writers.tactics:draft",
        "writers.tactics:polished_draft",
        "writers.tactics:strict_review",
    ]
    assert not runtime.has("staged")
    digest = runtime.get("digest", "tactic")
    assert digest.agent_group == ["extractor", "writer"]
    assert digest()("notes") == "write(extract(notes))"
    assert runtime.get("strict_review", "tactic")()("pr 7") == "reviewed pr 7"
    assert runtime.get("polished_draft", "tactic")()("essay") == "polished draft of essay"
    assert [cls.__lllm_register__ for cls in digest.__mro__[:2]] == [True, False]


def test_register_false_under_a_prefix_and_in_nested_folders(tmp_path: Path) -> None:
    root = write_package(
        tmp_path / "nested_writers",
        {"tactics/team/pipelines.py": PIPELINES},
        manifest='[tactics]\npaths = ["tactics under crew"]\n',
    )
    runtime = load_quietly(root)
    assert "nested_writers.tactics:crew/digest" in runtime.keys("tactic")
    assert not any(key.endswith(":crew/staged") for key in runtime.keys())


def test_class_keyword_runtime_is_accepted_and_registers_nothing() -> None:
    elsewhere = Runtime(name="elsewhere")

    class Pinned(lllm.Tactic, runtime=elsewhere):
        name = "pinned"
        agent_group = ["solo"]

    assert elsewhere.keys() == []
    assert Pinned.__lllm_register__ is True


def test_name_and_agent_group_are_framework_class_attributes() -> None:
    assert lllm.Tactic.name is None
    assert lllm.Tactic.agent_group is None


COMPOSED = """\
    from lllm.core.tactic import Tactic


    class Finder(Tactic):
        name = "finder"
        agent_group = ["finder"]

        def call(self, task: str, **kwargs) -> str:
            return f"facts about {task}"


    class Planner(Tactic):
        \"\"\"Composes a sub-tactic; its constructor is the tutorial's ``(config, **kwargs)`` form.\"\"\"

        name = "planner"
        agent_group = ["coordinator"]

        def __init__(self, config, **kwargs):
            super().__init__(config, **kwargs)
            self.finder = Finder(config)

        def call(self, task: str, **kwargs) -> str:
            return f"plan from {self.finder(task)}"


    class Researcher(Tactic):
        \"\"\"The core guide's constructor form: ``(config, ckpt_dir, stream, runtime)``.\"\"\"

        name = "researcher"
        agent_group = ["planner"]

        def __init__(self, config, ckpt_dir, stream=None, runtime=None):
            super().__init__(config, ckpt_dir, stream, runtime)

        def call(self, task: str, **kwargs) -> str:
            return task
    """


def test_documented_constructor_forms(tmp_path: Path) -> None:
    root = write_package(tmp_path / "composed", {"tactics/composed.py": COMPOSED})
    runtime = load_quietly(root)
    config = {"tactic_type": "planner", "global": {"model_name": "m"}}

    planner = runtime.get("planner", "tactic")(config, runtime=runtime)
    assert planner("tides") == "plan from facts about tides"
    assert planner.finder.config is config and planner.runtime is runtime

    stream = object()
    researcher = runtime.get("researcher", "tactic")(config, "/ckpt", stream, runtime)
    assert researcher.runtime is runtime
    assert researcher.stream is stream
    assert researcher.ckpt_dir == "/ckpt" and researcher.tactic_path is None


def test_second_argument_is_also_log_store() -> None:
    store = object()
    by_keyword = lllm.Tactic({"k": 1}, log_store=store)
    assert by_keyword.log_store is store and by_keyword.ckpt_dir is store
    runtime = Runtime(name="t")
    by_position = lllm.Tactic({"k": 1}, store, runtime, "pkg::t")
    assert by_position.log_store is store
    assert (by_position.runtime, by_position.tactic_path) == (runtime, "pkg::t")
    with pytest.raises(TypeError, match="both ckpt_dir and log_store"):
        lllm.Tactic({}, "/ckpt", log_store=store)


TOOLS = """\
    from pydantic import BaseModel

    from lllm.core.tactic import Tactic, build_tactic, register_tactic_class, tactictool


    class ReviewInput(BaseModel):
        code: str


    class ReviewTactic(Tactic):
        name = "review"
        agent_group = ["reviewer"]

        @tactictool("review_code", description="Review code.", config="tooling:default")
        def call(self, task: ReviewInput) -> str:
            return f"ok: {task.code}"

        @tactictool("summarize", config="tooling:default")
        def summarize(self, text: str) -> str:
            return text[:10]
    """


def test_tactictool_and_helpers_imported_at_module_level(tmp_path: Path) -> None:
    root = write_package(
        tmp_path / "tooling",
        {"tactics/review.py": TOOLS, "configs/default.yaml": "tactic_type: review\n"},
    )
    runtime = load_quietly(root)
    review = runtime.get("tooling.tactics:review")
    meta = review.call._lllm_tactic_tool
    assert (meta.name, meta.description, meta.config) == (
        "review_code",
        "Review code.",
        "tooling:default",
    )
    assert review.summarize._lllm_tactic_tool.name == "summarize"

    from lllm.core.tactic import build_tactic

    built = build_tactic(runtime.get("default", "config"), runtime=runtime)
    assert isinstance(built, review)
    assert built.tactic_path == "tooling::review" and built.runtime is runtime
    assert built.config == {"tactic_type": "review"}


def test_tactictool_needs_a_name() -> None:
    from lllm.core.tactic import tactictool

    with pytest.raises(TypeError):
        tactictool(lambda self: None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tactictool("  ")


def test_explicit_registration_helpers() -> None:
    from lllm.core.tactic import get_tactic_class, register_tactic_class

    runtime = Runtime(name="explicit")

    class Solo(lllm.Tactic):
        name = "solo"
        agent_group = ["one"]

    assert register_tactic_class(Solo, runtime=runtime) is Solo
    assert get_tactic_class("solo", runtime) is Solo
    with isolated_default_runtime() as default:
        register_tactic_class(Solo)
        assert default.keys("tactic") == ["solo"]

    class Nameless(lllm.Tactic):
        pass

    with pytest.raises(ValueError, match="name"):
        register_tactic_class(Nameless, runtime=runtime)


# ------------------------------------------------------------------------------------ proxies

MARKET = """\
    import datetime as dt

    from lllm.proxies import BaseProxy, ProxyRegistrator

    LISTING_REMOVE_KEYS = ["marketCap", "image"]


    @ProxyRegistrator(
        path="market",
        name="Market Data API",
        description="Quotes, listings and corporate events.",
    )
    class MarketProxy(BaseProxy):
        \"\"\"A market-data proxy written the framework's way.\"\"\"

        def __init__(self, cutoff_date: str = None, use_cache: bool = True, **kwargs):
            super().__init__(cutoff_date=cutoff_date, use_cache=use_cache, **kwargs)
            self.api_key_name = "apikey"
            self.base_url = "https://market.example/v1"

        @BaseProxy.endpoint(
            category="Search",
            endpoint="search-symbol",
            name="Symbol Search API",
            description="Find a ticker by company name.",
            params={"query*": (str, "ACME"), "limit": (int, 10)},
            response=[{"symbol": "ACME", "name": "Acme Corp."}],
            remove_keys=LISTING_REMOVE_KEYS,
        )
        def search_symbol(self, params: dict) -> dict:
            \"\"\"Look a symbol up.\"\"\"
            return params

        @BaseProxy.endpoint(
            category="Calendar",
            sub_category="Dividends",
            endpoint="dividends",
            name="Dividends API",
            description="Dividend history of a symbol.",
            params={"symbol*": (str, "ACME")},
            response=[{"symbol": "ACME", "date": "2024-02-09"}],
            dt_cutoff=("date", "%Y-%m-%d"),
            method="post",
        )
        def dividends(self, params: dict) -> dict:
            return params

        @BaseProxy.postcall
        def trim(self, result):
            return result


    class FxProxy(BaseProxy):
        _proxy_path = "fx"

        @BaseProxy.endpoint("Rates", "latest", "Latest rates.", {"base": (str, "USD")}, {"EUR": 0.9})
        def latest(self, params: dict) -> dict:
            return params


    class QuietProxy(FxProxy):
        \"\"\"No path of its own: keyed by file and class name.\"\"\"
    """


@pytest.fixture
def market(tmp_path: Path) -> Runtime:
    root = write_package(
        tmp_path / "markets",
        {"proxies/market.py": MARKET},
        manifest='[proxies]\npaths = ["proxies"]\n',
    )
    return load_quietly(root)


def test_proxy_package_keys(market: Runtime) -> None:
    assert market.keys("proxy") == [
        "markets.proxies:fx",
        "markets.proxies:market",
        "markets.proxies:market/QuietProxy",
    ]
    proxy = market.get("market", "proxy")
    assert (proxy._proxy_path, proxy._proxy_name, proxy._proxy_description) == (
        "market",
        "Market Data API",
        "Quotes, listings and corporate events.",
    )


def test_endpoint_info_records_every_documented_argument(market: Runtime) -> None:
    proxy = market.get("market", "proxy")
    assert proxy.search_symbol.endpoint_info == {
        "category": "Search",
        "endpoint": "search-symbol",
        "name": "Symbol Search API",
        "description": "Find a ticker by company name.",
        "sub_category": None,
        "remove_keys": ["marketCap", "image"],
        "params": {"query*": (str, "ACME"), "limit": (int, 10)},
        "response": [{"symbol": "ACME", "name": "Acme Corp."}],
        "dt_cutoff": None,
        "method": "GET",
    }
    dividends = proxy.dividends.endpoint_info
    assert (dividends["sub_category"], dividends["dt_cutoff"], dividends["method"]) == (
        "Dividends",
        ("date", "%Y-%m-%d"),
        "POST",
    )
    info = proxy.endpoints()["dividends"]
    assert (info.name, info.sub_category, info.dt_cutoff) == (
        "Dividends API",
        "Dividends",
        ("date", "%Y-%m-%d"),
    )
    assert proxy.trim.is_postcall is True
    assert [entry["callable"] for entry in proxy.endpoint_directory()] == [
        "dividends",
        "search_symbol",
    ]


def test_endpoint_arguments_in_the_framework_order(market: Runtime) -> None:
    latest = market.get("fx", "proxy").latest.endpoint_info
    assert (latest["category"], latest["endpoint"], latest["description"]) == (
        "Rates",
        "latest",
        "Latest rates.",
    )
    assert latest["params"] == {"base": (str, "USD")} and latest["response"] == {"EUR": 0.9}

    @lllm.BaseProxy.endpoint("c", "e", "d", {}, [], "Display name", "sub", ["k"], ("t", "%Y"))
    def fetch(params: dict) -> dict:
        return params

    assert fetch.endpoint_info["name"] == "Display name"
    assert fetch.endpoint_info["remove_keys"] == ["k"]
    assert fetch.endpoint_info["method"] == "GET"


def test_proxy_constructor_arguments(market: Runtime) -> None:
    proxy = market.get("market", "proxy")(
        cutoff_date="2024-06-30", activate_proxies=["market"], deploy_mode=True
    )
    assert proxy.cutoff_date == dt.datetime(2024, 6, 30)
    assert proxy.activate_proxies == ["market"]
    assert (proxy.deploy_mode, proxy.use_cache) == (True, True)
    assert proxy.base_url == "https://market.example/v1"

    fx = market.get("fx", "proxy")()
    assert (fx.cutoff_date, fx.activate_proxies, fx.deploy_mode, fx.use_cache) == (
        None,
        [],
        False,
        True,
    )
    passed = ["fx"]
    positional = market.get("fx", "proxy")(passed, None, False, activate_proxies=passed)
    assert positional.args == (passed, None, False)
    assert positional.activate_proxies == ["fx"] and positional.activate_proxies is not passed
    when = dt.datetime(2023, 1, 2, 3, 4)
    assert market.get("fx", "proxy")(cutoff_date=when).cutoff_date is when
    with pytest.raises(ValueError, match="not-a-date"):
        market.get("fx", "proxy")(cutoff_date="not-a-date")


def test_proxy_directories(market: Runtime) -> None:
    proxy = market.get("market", "proxy")
    directory = proxy().api_directory()
    assert (directory["id"], directory["display_name"]) == ("market", "Market Data API")
    entries = directory["endpoints"]
    assert [(e["category"], e["endpoint"], e["callable"]) for e in entries] == [
        ("Calendar", "dividends", "dividends"),
        ("Search", "search-symbol", "search_symbol"),
    ]
    assert entries[1]["docstring"] == "Look a symbol up."
    assert proxy.auto_test() == {
        "dividends": {"status": "ok", "issues": []},
        "search_symbol": {"status": "ok", "issues": []},
    }
    quiet = market.get("market/QuietProxy", "proxy").api_directory()
    assert (quiet["id"], quiet["display_name"]) == ("fx", "QuietProxy")


def test_endpoint_info_written_by_hand_is_an_endpoint() -> None:
    class Copied(lllm.BaseProxy):
        def fetch(self, params: dict) -> dict:
            return params

        fetch.endpoint_info = {  # type: ignore[attr-defined]
            "category": "c",
            "endpoint": "fetch-all",
            "description": "d",
            "params": {"q": (str, "x")},
            "response": None,
        }

    info = Copied.endpoints()["fetch-all"]
    assert (info.category, info.name, info.method) == ("c", "fetch", "GET")
    assert Copied.auto_test() == {"fetch": {"status": "warning", "issues": ["response"]}}


def test_proxies_package_names() -> None:
    import lllm.proxies as proxies
    from lllm.proxies.base import BaseProxy, ProxyManager, ProxyRegistrator, register_proxy

    assert proxies.BaseProxy is BaseProxy is lllm.BaseProxy
    assert proxies.ProxyRegistrator is ProxyRegistrator
    assert proxies.register_proxy is register_proxy
    with pytest.raises(NotImplementedError, match="agent layer"):
        proxies.ProxyManager(activate_proxies=["fx"])
    assert ProxyManager is proxies.ProxyManager


def test_registrator_and_register_proxy_touch_no_runtime_unless_asked() -> None:
    from lllm.proxies import BaseProxy, ProxyRegistrator, register_proxy

    target = Runtime(name="target")
    with isolated_default_runtime() as default:

        @ProxyRegistrator(path="weather", name="Weather", description="Forecasts.", runtime=target)
        class Weather(BaseProxy):
            pass

        assert default.keys() == [] and target.keys() == []
        register_proxy("weather", Weather, runtime=target)
        register_proxy("weather", Weather)
        assert default.get("weather", "proxy") is Weather is target.get("weather", "proxy")
        with pytest.raises(ValueError):
            register_proxy("weather", Weather)
