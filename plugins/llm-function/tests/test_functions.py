"""Decorated functions end to end: HTTP models with faults, regressions, counts, errors,
introspection and shipping workflows through lllm.

The models are real HTTP servers on 127.0.0.1 (``loopback.LoopbackServer``) speaking Ollama's
``/api/chat`` or the OpenAI ``/v1/chat/completions`` protocol, or a ``ScriptedClient``; the
tools are small local functions.
"""

from __future__ import annotations

import asyncio
import json
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from loopback import CHAT_PATHS, DROP, Delay, Hang, LoopbackServer, Reply, chat_reply
from pydantic import BaseModel, ValidationError, field_validator
from seed_tools import CORRECT_PLAN as SEED_PLAN
from seed_tools import (
    WeatherQuery,
    WeatherReport,
    WfInputs,
    WfOutputs,
    send_report_email,
)

from llm_function import (
    InMemoryToolSource,
    LlmFunctionConfig,
    LlmFunctionError,
    LlmFunctionRuntime,
    LlmRuntimeConfig,
    PythonFileToolSource,
    Tool,
    ToolRegistry,
    Workflow,
    llm_function,
)
from llm_function.plan_schema import plan_json_schema
from llm_function.validation import WorkflowInvalid, validate_workflow

PROTOCOLS = ["ollama", "openai"]
MODEL = "gpt-oss:20b"


# ------------------------------------------------------------------------ tools and models


class CityIn(BaseModel):
    city: str


class Weather(BaseModel):
    city: str
    temp_c: float
    condition: str


class SummaryIn(BaseModel):
    city: str
    temp_c: float
    condition: str


class SummaryOut(BaseModel):
    summary: str


class CityReport(BaseModel):
    summary: str
    temp_c: float


class SkyConditions(BaseModel):
    city: str
    condition: str


DATA = {"Paris": (18.5, "cloudy"), "Oslo": (-3.0, "snow"), "Lima": (21.0, "clear")}


def get_weather(q: CityIn) -> Weather:
    """Current temperature (°C) and sky condition of a city."""
    if q.city not in DATA:
        raise LookupError(f"no weather data for {q.city!r}")
    temp, condition = DATA[q.city]
    return Weather(city=q.city, temp_c=temp, condition=condition)


def summarize(req: SummaryIn) -> SummaryOut:
    """One sentence describing the weather of a city."""
    return SummaryOut(summary=f"{req.city}: {req.condition}, {req.temp_c:g} C")


def report(city: str) -> CityReport:
    temp, condition = DATA[city]
    return CityReport(summary=f"{city}: {condition}, {temp:g} C", temp_c=temp)


PLAN = {
    "steps": [
        {"id": "w", "tool": "get_weather", "args": {"city": {"ref": "input.city"}}},
        {
            "id": "s",
            "tool": "summarize",
            "args": {
                "city": {"ref": "w.city"},
                "temp_c": {"ref": "w.temp_c"},
                "condition": {"ref": "w.condition"},
            },
        },
    ],
    "output": {"summary": {"ref": "s.summary"}, "temp_c": {"ref": "w.temp_c"}},
}

SKY_PLAN = {
    "steps": [{"id": "w", "tool": "get_weather", "args": {"city": {"ref": "input.city"}}}],
    "output": {"city": {"ref": "w.city"}, "condition": {"ref": "w.condition"}},
}

BAD_PLAN = {  # valid JSON, invalid workflow: the tool does not exist
    "steps": [{"id": "t", "tool": "teleport", "args": {"city": {"ref": "input.city"}}}],
    "output": {"summary": {"ref": "t.summary"}, "temp_c": {"ref": "t.temp_c"}},
}


def http_params(
    protocol: str, url: str, *, max_retries: int = 1, timeout: float = 0.5, backoff: float = 0.01
) -> dict:
    return {
        "llm_h_type": protocol,
        "llm_h_params": {
            "connection_string": url,
            "model_name": MODEL,
            "max_retries": max_retries,
            "backoff": backoff,
            "timeout": timeout,
        },
    }


def ollama(url: str, **kwargs: Any) -> dict:
    return http_params("ollama", url, **kwargs)


def plan_reply(plan: Any, protocol: str = "ollama") -> dict:
    return chat_reply(protocol, plan, model=MODEL)


OLLAMA = CHAT_PATHS["ollama"]


@pytest.fixture
def server():
    """A started loopback HTTP server, closed after the test."""
    with LoopbackServer() as started:
        yield started


@pytest.fixture
def make_runtime():
    """Build runtimes (closed after the test)."""
    made: list[LlmFunctionRuntime] = []

    def make(
        tools: Any = (get_weather, summarize),
        *,
        llm: dict | None = None,
        storage: Any = None,
        workflows_from: Any = None,
        **settings: Any,
    ) -> LlmFunctionRuntime:
        sources = [InMemoryToolSource(list(tools))] if isinstance(tools, (list, tuple)) else [tools]
        runtime = LlmFunctionRuntime(
            LlmFunctionConfig(
                runtime=LlmRuntimeConfig(llm_handler_params=llm, storage_path=storage, **settings),
                tool_sources=sources,
                workflows_from=workflows_from,
            )
        )
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


def city_report_function(runtime: LlmFunctionRuntime, **overrides: Any):
    @llm_function(runtime=runtime, **overrides)
    def city_report(request: CityIn) -> CityReport:
        """Report the weather of a city in one sentence, with its temperature."""

    return city_report


def stored_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.exists() else []


# ============================================================ 1. HTTP protocols with faults


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_http_500_then_plan_succeeds_with_a_retry(
    protocol: str, server: LoopbackServer, make_runtime, tmp_path: Path
) -> None:
    path = CHAT_PATHS[protocol]
    server.script(path, (500, {"error": "overloaded"}), plan_reply(PLAN, protocol))
    runtime = make_runtime(llm=http_params(protocol, server.url, max_retries=2), storage=tmp_path)
    fn = city_report_function(runtime)

    assert fn({"city": "Paris"}) == report("Paris")
    requests = server.requests_to(path)
    assert len(requests) == 2 and len(server.requests) == 2
    assert requests[0].json == requests[1].json  # the same request, retried
    body = requests[0].json
    assert body["model"] == MODEL and body["stream"] is False
    schema = plan_json_schema(CityIn, CityReport, list(runtime.tools))
    assert schema["properties"]["steps"]["items"]["anyOf"][0]["properties"]["tool"] == {
        "type": "string",
        "enum": ["get_weather"],
    }
    if protocol == "ollama":
        assert body["format"] == schema
    else:
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "plan", "strict": True, "schema": schema},
        }
    assert runtime.client.usage["retries"] == 1
    assert fn.counters["model_calls"] == 1 and fn.counters["plannings"] == 1
    assert len(stored_files(tmp_path)) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_http_429_retry_after_is_honoured(
    protocol: str, server: LoopbackServer, make_runtime
) -> None:
    path = CHAT_PATHS[protocol]
    server.script(
        path, (429, {"error": "rate limited"}, {"Retry-After": "0"}), plan_reply(PLAN, protocol)
    )
    # A computed backoff would wait 5 s; Retry-After: 0 must replace it.
    runtime = make_runtime(llm=http_params(protocol, server.url, max_retries=2, backoff=5.0))
    fn = city_report_function(runtime)

    started = time.monotonic()
    assert fn({"city": "Oslo"}) == report("Oslo")
    assert time.monotonic() - started < 3.0
    assert len(server.requests_to(path)) == 2
    assert fn.counters["model_calls"] == 1


FAULTS = {
    "always-500": Reply(500, {"error": "internal"}),
    "timeout": Hang(1.0),
    "malformed-json": Reply(200, b'{"message": {"content": '),
    "dropped-connection": DROP,
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_http_faults_are_llm_unavailable_cache_nothing_and_recover(
    protocol: str, fault: str, server: LoopbackServer, make_runtime, tmp_path: Path
) -> None:
    path = CHAT_PATHS[protocol]
    server.set_default(path, FAULTS[fault])
    runtime = make_runtime(
        llm=http_params(protocol, server.url, max_retries=1, timeout=0.3), storage=tmp_path
    )
    fn = city_report_function(runtime)

    with pytest.raises(LlmFunctionError) as caught:
        fn({"city": "Paris"})
    error = caught.value
    assert error.kind == "llm_unavailable", error
    assert error.stage == "planning"
    assert error.details.get("attempts") == 2
    assert len(server.requests_to(path)) == 2  # max_retries=1: two attempts, then give up
    assert fn.workflow is None
    assert stored_files(tmp_path) == []
    assert fn.counters["tool_calls"] == 0

    # The server recovers: the next call plans and succeeds.
    server.reset()
    server.script(path, plan_reply(PLAN, protocol))
    assert fn({"city": "Paris"}) == report("Paris")
    assert len(server.requests_to(path)) == 1
    assert fn.workflow is not None
    assert len(stored_files(tmp_path)) == 1
    assert fn.counters["plannings"] == 2


# ======================================================================= 2. regressions


def test_two_functions_with_different_output_models_share_a_runtime(
    server: LoopbackServer, make_runtime
) -> None:
    def answer(body: dict) -> dict:
        text = json.dumps(body)
        return plan_reply(SKY_PLAN if "Say what the sky" in text else PLAN)

    server.set_default(OLLAMA, answer)
    runtime = make_runtime(llm=ollama(server.url))
    city_report = city_report_function(runtime)

    @llm_function(runtime=runtime)
    def sky(request: CityIn) -> SkyConditions:
        """Say what the sky looks like in a city."""

    assert city_report({"city": "Paris"}) == report("Paris")
    assert sky({"city": "Paris"}) == SkyConditions(city="Paris", condition="cloudy")
    requests = server.requests_to(OLLAMA)
    assert len(requests) == 2
    first, second = (json.dumps(r.json) for r in requests)
    # Each prompt shows its own function's output model, never the other's.
    assert "summary" in first.split("Output schema")[1].split("Tools:")[0]
    assert "summary" not in second.split("Output schema")[1].split("Tools:")[0]

    assert city_report.workflow is not None and sky.workflow is not None
    assert city_report.workflow != sky.workflow
    assert set(city_report.workflow.output) == {"summary", "temp_c"}
    assert set(sky.workflow.output) == {"city", "condition"}

    # Again, interleaved: each gets its own type from its own cached workflow.
    for city in ("Oslo", "Lima"):
        assert type(sky({"city": city})) is SkyConditions
        assert type(city_report({"city": city})) is CityReport
    assert len(server.requests) == 2
    assert city_report.counters["model_calls"] == 1 and sky.counters["model_calls"] == 1
    assert city_report.counters["runs"] == 3 and sky.counters["runs"] == 3


def test_repeated_sync_calls_threads_and_inside_asyncio_run(
    server: LoopbackServer, make_runtime
) -> None:
    server.script(OLLAMA, plan_reply(PLAN))
    server.set_default("*", Reply(500, {"error": "only one plan is scripted"}))
    runtime = make_runtime(llm=ollama(server.url, max_retries=0))
    fn = city_report_function(runtime)

    cities = list(DATA)
    for i in range(20):
        city = cities[i % 3]
        assert fn({"city": city}) == report(city)

    results: list[Any] = []
    errors: list[BaseException] = []

    def worker(city: str) -> None:
        try:
            for _ in range(5):
                results.append((city, fn(CityIn(city=city))))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(cities[i % 3],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == []
    assert len(results) == 20
    assert all(result == report(city) for city, result in results)

    async def inside_a_loop() -> CityReport:
        return fn({"city": "Lima"})

    assert asyncio.run(inside_a_loop()) == report("Lima")
    assert asyncio.run(inside_a_loop()) == report("Lima")

    assert len(server.requests) == 1
    counters = fn.counters
    assert counters["plannings"] == 1 and counters["model_calls"] == 1
    assert counters["runs"] == 42 and counters["cache_hits"] == 41
    assert counters["tool_calls"] == 84


def test_async_function_awaited_from_successive_asyncio_runs(
    server: LoopbackServer, make_runtime
) -> None:
    server.script(OLLAMA, plan_reply(PLAN), plan_reply(PLAN))
    runtime = make_runtime(llm=ollama(server.url))

    @llm_function(runtime=runtime)
    async def city_report(request: CityIn) -> CityReport:
        """Report the weather of a city in one sentence, with its temperature."""

    async def use(city: str) -> CityReport:
        return await city_report({"city": city})

    assert asyncio.run(use("Paris")) == report("Paris")
    assert asyncio.run(use("Oslo")) == report("Oslo")
    assert len(server.requests) == 1
    # Planning again (a new HTTP request) from yet another loop works too.
    city_report.invalidate()
    assert asyncio.run(use("Lima")) == report("Lima")
    assert len(server.requests) == 2

    async def both() -> list[CityReport]:
        return list(await asyncio.gather(use("Paris"), use("Oslo")))

    assert asyncio.run(both()) == [report("Paris"), report("Oslo")]
    assert city_report.counters["plannings"] == 2 and city_report.counters["runs"] == 5


def test_failed_planning_is_not_cached_and_the_next_call_plans_again(
    server: LoopbackServer, make_runtime, tmp_path: Path
) -> None:
    garbage = plan_reply("I am sorry, I cannot produce JSON today.")
    server.script(OLLAMA, garbage, garbage, plan_reply(PLAN))
    runtime = make_runtime(llm=ollama(server.url), storage=tmp_path, max_retry=1, reset_loops=0)
    fn = city_report_function(runtime)

    with pytest.raises(LlmFunctionError) as caught:
        fn({"city": "Paris"})
    assert caught.value.kind in ("plan_invalid", "llm_unavailable")
    assert len(server.requests) == 2  # the cap: (1 + 1) * (0 + 1)
    assert fn.workflow is None and stored_files(tmp_path) == []
    assert fn.counters["tool_calls"] == 0

    assert fn({"city": "Paris"}) == report("Paris")
    assert len(server.requests) == 3
    assert fn.counters["plannings"] == 2
    assert len(stored_files(tmp_path)) == 1


def test_concurrent_first_calls_share_one_planning(server: LoopbackServer, make_runtime) -> None:
    server.script(OLLAMA, Delay(0.3, plan_reply(PLAN)))
    server.set_default("*", Reply(500, {"error": "a second planning happened"}))
    runtime = make_runtime(llm=ollama(server.url, max_retries=0, timeout=3.0))
    fn = city_report_function(runtime)

    barrier = threading.Barrier(3)
    results: dict[str, Any] = {}

    def worker(city: str) -> None:
        barrier.wait()
        try:
            results[city] = fn({"city": city})
        except Exception as exc:  # noqa: BLE001 - reported below
            results[city] = exc

    threads = [threading.Thread(target=worker, args=(city,)) for city in DATA]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == {city: report(city) for city in DATA}
    assert fn.counters["plannings"] == 1
    assert fn.counters["model_calls"] == 1
    assert len(server.requests) == 1


def test_concurrent_first_calls_with_force_replan_all_wait_for_the_new_plan(
    server: LoopbackServer, make_runtime, tmp_path: Path
) -> None:
    """force_replan ignores the stored workflow on the first call; concurrent first calls share
    that one planning (single-flight), so none of them may run the stale stored workflow."""
    new_plan = json.loads(json.dumps(PLAN))
    new_plan["output"]["temp_c"] = {"value": 99.0}  # tells the new workflow's results apart
    server.script(OLLAMA, plan_reply(PLAN), Delay(0.3, plan_reply(new_plan)))
    server.set_default("*", Reply(500, {"error": "a third planning happened"}))
    stale = city_report_function(make_runtime(llm=ollama(server.url), storage=tmp_path))
    assert stale({"city": "Paris"}).temp_c == 18.5

    fn = city_report_function(
        make_runtime(llm=ollama(server.url, max_retries=0, timeout=3.0), storage=tmp_path),
        force_replan=True,
        literal_outputs=["temp_c"],
    )
    barrier = threading.Barrier(3)
    temperatures: dict[str, Any] = {}

    def worker(city: str) -> None:
        barrier.wait()
        try:
            temperatures[city] = fn({"city": city}).temp_c
        except Exception as exc:  # noqa: BLE001 - reported below
            temperatures[city] = exc

    threads = [threading.Thread(target=worker, args=(city,)) for city in DATA]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(server.requests) == 2
    assert fn.counters["plannings"] == 1
    assert temperatures == {city: 99.0 for city in DATA}, (
        "a concurrent first call ran the stale stored workflow"
    )


class Phrase(BaseModel):
    text: str
    times: int = 2

    @field_validator("text")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    def repeated(self) -> str:
        return " ".join([self.text] * self.times)


class Echo(BaseModel):
    echo: str


class Shout(BaseModel):
    text: str


class Loud(BaseModel):
    echo: str
    loud: str


SEEN_PAYLOADS: list[Any] = []


def echo_phrase(payload: Phrase) -> Echo:
    """Repeat a phrase."""
    SEEN_PAYLOADS.append(payload)
    return Echo(echo=payload.repeated())


async def shout_echo(words: Echo) -> Loud:
    """Shout an echo."""
    SEEN_PAYLOADS.append(words)
    return Loud(echo=words.echo, loud=words.echo.upper() + "!")


def test_tool_parameters_need_not_be_named_inputs(make_runtime) -> None:
    runtime = make_runtime([echo_phrase, shout_echo])
    assert runtime.tools.get("echo_phrase").parameter == "payload"

    @llm_function(runtime=runtime)
    def shout(request: Shout) -> Loud:
        """Repeat a phrase and shout it."""

    SEEN_PAYLOADS.clear()
    assert shout({"text": "  hey  "}) == Loud(echo="hey hey", loud="HEY HEY!")
    phrase, echo = SEEN_PAYLOADS
    assert (
        type(phrase) is Phrase and phrase.text == "hey" and phrase.times == 2
    )  # validator and default applied
    assert type(echo) is Echo
    assert [step.tool for step in shout.workflow.steps] == ["echo_phrase", "shout_echo"]


class Scale(BaseModel):
    label: str
    count: int
    factor: float
    loud: bool


class Scaled(BaseModel):
    text: str
    kinds: list[str]
    count: int
    factor: float
    loud: bool


def scale(spec: Scale) -> Scaled:
    """Scale a label."""
    kinds = [type(spec.count).__name__, type(spec.factor).__name__, type(spec.loud).__name__]
    text = (spec.label * spec.count).upper() if spec.loud else spec.label * spec.count
    return Scaled(
        text=text, kinds=kinds, count=spec.count, factor=spec.factor * spec.count, loud=spec.loud
    )


@pytest.mark.parametrize(
    ("count", "factor", "loud", "expected_text", "expected_factor"),
    [(3, 2.5, True, "ABABAB", 7.5), (2, 4, False, "abab", 8.0)],
)
def test_numeric_and_boolean_literals_reach_the_tool_with_their_types(
    count: int,
    factor: Any,
    loud: bool,
    expected_text: str,
    expected_factor: float,
    server: LoopbackServer,
    make_runtime,
    tmp_path: Path,
) -> None:
    plan = {
        "steps": [
            {
                "id": "sc",
                "tool": "scale",
                "args": {
                    "label": {"ref": "input.city"},
                    "count": {"value": count},
                    "factor": {"value": factor},
                    "loud": {"value": loud},
                },
            }
        ],
        "output": {name: {"ref": f"sc.{name}"} for name in Scaled.model_fields},
    }
    server.script(OLLAMA, plan_reply(plan))
    runtime = make_runtime([scale], llm=ollama(server.url), storage=tmp_path)

    @llm_function(runtime=runtime)
    def scale_city(request: CityIn) -> Scaled:
        """Repeat the city name a few times, shouting, and scale a factor."""

    result = scale_city({"city": "ab"})
    assert result.kinds == ["int", "float", "bool"]
    assert result.text == expected_text
    assert result.count == count and type(result.count) is int
    assert result.factor == expected_factor
    assert result.loud is loud
    assert len(server.requests) == 1  # accepted at once, no repair needed
    (stored,) = stored_files(tmp_path)
    args = json.loads(stored.read_text())["workflow"]["steps"][0]["args"]
    assert (
        args["count"] == {"value": count}
        and args["loud"] == {"value": loud}
        and args["factor"] == {"value": factor}
    )
    assert type(args["count"]["value"]) is int and type(args["loud"]["value"]) is bool


class OptIn(BaseModel):
    city: str
    unit: str | None = None


class DescribeIn(BaseModel):
    city: str
    unit: str | None  # required, but may be None


class DescribeOut(BaseModel):
    summary: str


class OptReport(BaseModel):
    summary: str
    note: str | None = None


def describe(req: DescribeIn) -> DescribeOut:
    """Describe a city's weather in a unit (Celsius when none is given)."""
    temp, _condition = DATA[req.city]
    if req.unit == "F":
        return DescribeOut(summary=f"{req.city}: {temp * 9 / 5 + 32:g} F")
    return DescribeOut(
        summary=f"{req.city}: {temp:g} C ({'default unit' if req.unit is None else req.unit})"
    )


@pytest.mark.parametrize("note", ["omitted", "null-literal"])
def test_optional_output_left_out_and_optional_input_passed_none(
    note: str, server: LoopbackServer, make_runtime
) -> None:
    plan: dict[str, Any] = {
        "steps": [
            {
                "id": "d",
                "tool": "describe",
                "args": {"city": {"ref": "input.city"}, "unit": {"ref": "input.unit"}},
            }
        ],
        "output": {"summary": {"ref": "d.summary"}},
    }
    if note == "null-literal":
        plan["output"]["note"] = {"value": None}
    server.script(OLLAMA, plan_reply(plan))
    runtime = make_runtime([describe], llm=ollama(server.url))

    # A constant output needs the function's consent, even a null for an optional field.
    @llm_function(runtime=runtime, literal_outputs=["note"])
    def describe_city(request: OptIn) -> OptReport:
        """Describe the weather of a city in the requested unit."""

    assert describe_city(OptIn(city="Paris", unit=None)) == OptReport(
        summary="Paris: 18.5 C (default unit)", note=None
    )
    assert describe_city({"city": "Oslo"}) == OptReport(summary="Oslo: -3 C (default unit)")
    assert describe_city({"city": "Oslo", "unit": "F"}) == OptReport(summary="Oslo: 26.6 F")
    assert len(server.requests) == 1


class Amount(BaseModel):
    count: int


class HalfIn(BaseModel):
    value: float


class HalfOut(BaseModel):
    half: float


def halve(x: HalfIn) -> HalfOut:
    """Half of a number."""
    assert type(x.value) is float
    return HalfOut(half=x.value / 2)


def test_int_reference_feeds_a_float_field(server: LoopbackServer, make_runtime) -> None:
    plan = {
        "steps": [{"id": "h", "tool": "halve", "args": {"value": {"ref": "input.count"}}}],
        "output": {"half": {"ref": "h.half"}},
    }
    server.script(OLLAMA, plan_reply(plan))
    runtime = make_runtime([halve], llm=ollama(server.url))

    @llm_function(runtime=runtime)
    def half_of(request: Amount) -> HalfOut:
        """Halve the count."""

    assert half_of({"count": 3}) == HalfOut(half=1.5)
    assert half_of(Amount(count=-8)) == HalfOut(half=-4.0)
    assert len(server.requests) == 1
    assert half_of.counters["model_calls"] == 1


FILE_TOOL = '''
from llm_function import llm_tool
from seed_tools import WeatherQuery, WeatherReport


@llm_tool
def get_weather(query: WeatherQuery) -> WeatherReport:
    """Current temperature (°C) and sky condition for a city."""
    return WeatherReport(city=query.city, temperature_c={temperature}, condition={condition!r})
'''


def _seed_tools_variant(variant: str, version: int, folder: Path) -> list[Any]:
    """The seed's tools, ``version`` 1 or 2 of ``get_weather`` changed as ``variant`` says."""
    if variant == "file":
        path = folder / f"v{version}" / "weather_tools.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        temperature, condition = (20.0, "clear") if version == 1 else (9.0, "fog")
        path.write_text(
            FILE_TOOL.format(temperature=temperature, condition=condition), encoding="utf-8"
        )
        return [PythonFileToolSource(path), InMemoryToolSource([send_report_email])]
    from seed_tools import get_weather as seed_get_weather

    if version == 1:
        return [InMemoryToolSource([seed_get_weather, send_report_email])]
    if variant == "description":
        changed = Tool.from_function(
            seed_get_weather, description="Weather for a city, from the new provider."
        )
    else:  # "code": same name, signature and docstring, another body

        def get_weather(query: WeatherQuery) -> WeatherReport:
            """Current temperature (°C) and sky condition for a city."""
            return seed_get_weather(query).model_copy(update={"condition": "edited"})

        changed = Tool.from_function(get_weather)
    return [InMemoryToolSource([changed, send_report_email])]


@pytest.mark.parametrize("variant", ["description", "code", "file"])
def test_a_tool_edited_after_caching_is_replanned(
    variant: str, server: LoopbackServer, make_runtime, tmp_path: Path
) -> None:
    server.set_default(OLLAMA, plan_reply(SEED_PLAN))
    storage = tmp_path / "store"

    def get_city_weather_on(runtime: LlmFunctionRuntime):
        @llm_function(runtime=runtime)
        def get_city_weather(input: WfInputs) -> WfOutputs:
            """
            Get weather for the provided city and prepare a short summary.
            """

        return get_city_weather

    def runtime_with(sources: list[Any]) -> LlmFunctionRuntime:
        runtime = LlmFunctionRuntime(
            LlmFunctionConfig(
                runtime=LlmRuntimeConfig(
                    llm_handler_params=ollama(server.url), storage_path=storage
                ),
                tool_sources=sources,
            )
        )
        runtimes.append(runtime)
        return runtime

    runtimes: list[LlmFunctionRuntime] = []
    try:
        first = get_city_weather_on(runtime_with(_seed_tools_variant(variant, 1, tmp_path)))
        before = first({"city": "Paris"})
        assert len(server.requests) == 1
        (stored,) = stored_files(storage)
        old_fingerprint = json.loads(stored.read_text())["tools"]["get_weather"]

        # Unchanged tools in another runtime: no planning.
        same = get_city_weather_on(runtime_with(_seed_tools_variant(variant, 1, tmp_path)))
        assert same({"city": "Paris"}) == before
        assert same.counters["plannings"] == 0 and len(server.requests) == 1

        second_runtime = runtime_with(_seed_tools_variant(variant, 2, tmp_path))
        assert second_runtime.tools.get("get_weather").fingerprint != old_fingerprint
        second = get_city_weather_on(second_runtime)
        after = second({"city": "Paris"})
        assert second.counters["plannings"] == 1 and second.counters["model_calls"] == 1
        assert len(server.requests) == 2
        if variant != "description":
            assert after.condition != before.condition  # the new code really ran
        (stored,) = stored_files(storage)
        assert (
            json.loads(stored.read_text())["tools"]["get_weather"]
            == second_runtime.tools.get("get_weather").fingerprint
        )
    finally:
        for runtime in runtimes:
            runtime.close()


@pytest.mark.parametrize(
    "garbage", ["{{{ not json", '{"format": "something/else", "workflow": {}}', '["a", "list"]']
)
def test_a_corrupt_storage_file_warns_and_is_replanned(
    garbage: str, server: LoopbackServer, make_runtime, tmp_path: Path
) -> None:
    server.set_default(OLLAMA, plan_reply(PLAN))
    first = city_report_function(make_runtime(llm=ollama(server.url), storage=tmp_path))
    assert first({"city": "Paris"}) == report("Paris")
    (stored,) = stored_files(tmp_path)
    stored.write_text(garbage, encoding="utf-8")

    second = city_report_function(make_runtime(llm=ollama(server.url), storage=tmp_path))
    with pytest.warns(RuntimeWarning, match="corrupt"):
        assert second({"city": "Oslo"}) == report("Oslo")
    assert second.counters["plannings"] == 1 and second.counters["model_calls"] == 1
    assert len(server.requests) == 2
    record = json.loads(stored.read_text())
    assert record["workflow"] == PLAN


class Tagging(BaseModel):
    city: str
    options: dict[str, Any]


class Tagged(BaseModel):
    tags: list[str]


def collect_tags(req: Tagging) -> Tagged:
    """Add the city to the tags given in the options (mutating what it receives)."""
    tags = req.options.setdefault("tags", [])
    tags.append(req.city)
    req.options["seen"] = True
    return Tagged(tags=list(tags))


def test_a_cached_run_never_mutates_the_cached_workflow(
    server: LoopbackServer, make_runtime, tmp_path: Path
) -> None:
    plan = {
        "steps": [
            {
                "id": "t",
                "tool": "collect_tags",
                "args": {"city": {"ref": "input.city"}, "options": {"value": {"tags": ["base"]}}},
            }
        ],
        "output": {"tags": {"ref": "t.tags"}},
    }
    server.script(OLLAMA, plan_reply(plan))
    runtime = make_runtime([collect_tags], llm=ollama(server.url), storage=tmp_path)

    @llm_function(runtime=runtime)
    def tag_city(request: CityIn) -> Tagged:
        """Tag a city."""

    assert tag_city({"city": "Paris"}) == Tagged(tags=["base", "Paris"])
    (stored,) = stored_files(tmp_path)
    text_after_first = stored.read_text()
    literal = tag_city.workflow.steps[0].args["options"]
    assert literal.value == {"tags": ["base"]}

    assert tag_city({"city": "Oslo"}) == Tagged(tags=["base", "Oslo"])
    assert tag_city({"city": "Lima"}) == Tagged(tags=["base", "Lima"])
    assert tag_city.workflow.steps[0].args["options"].value == {"tags": ["base"]}
    assert stored.read_text() == text_after_first
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("max_retry", "reset_loops", "where"),
    [(1, 1, "decorator"), (2, 0, "runtime"), (0, 2, "runtime"), (0, 0, "decorator")],
)
def test_the_model_call_cap_over_http(
    max_retry: int,
    reset_loops: int,
    where: str,
    server: LoopbackServer,
    make_runtime,
    tmp_path: Path,
) -> None:
    server.set_default(OLLAMA, plan_reply(BAD_PLAN))
    cap = (max_retry + 1) * (reset_loops + 1)
    limits = {"max_retry": max_retry, "reset_loops": reset_loops}
    if where == "runtime":
        fn = city_report_function(make_runtime(llm=ollama(server.url), storage=tmp_path, **limits))
    else:
        fn = city_report_function(make_runtime(llm=ollama(server.url), storage=tmp_path), **limits)

    with pytest.raises(LlmFunctionError) as caught:
        fn({"city": "Paris"})
    error = caught.value
    assert len(server.requests) == cap
    assert fn.counters["model_calls"] == cap
    assert error.kind == "plan_invalid"
    assert error.workflow_error and "teleport" in error.workflow_error
    assert error.details["model_calls"] == cap
    assert fn.workflow is None and stored_files(tmp_path) == []
    # Each conversation starts afresh (system + user), then grows by two messages per repair.
    sizes = [len(request.json["messages"]) for request in server.requests]
    assert sizes == [
        2 + 2 * attempt for _ in range(reset_loops + 1) for attempt in range(max_retry + 1)
    ]


def test_the_model_call_cap_with_a_scripted_client(make_runtime) -> None:
    runtime = make_runtime(
        llm={"llm_h_type": "scripted", "llm_h_params": {"replies": [BAD_PLAN] * 20}},
        max_retry=2,
        reset_loops=1,
    )
    fn = city_report_function(runtime)
    with pytest.raises(LlmFunctionError) as caught:
        fn({"city": "Paris"})
    assert caught.value.kind == "plan_invalid"
    assert caught.value.workflow_error
    assert len(runtime.client.calls) == 6
    assert runtime.client.remaining == 14


def test_the_repair_loop_sends_back_the_exact_validator_error(
    server: LoopbackServer, make_runtime
) -> None:
    bad = json.loads(json.dumps(PLAN))
    bad["steps"][0]["args"]["city"] = {"ref": "input.town"}
    with pytest.raises(WorkflowInvalid) as invalid:
        validate_workflow(
            Workflow.model_validate(bad), CityIn, CityReport, ToolRegistry([get_weather, summarize])
        )
    expected_error = str(invalid.value)
    assert "town" in expected_error

    bad_text = json.dumps(bad)
    server.script(OLLAMA, plan_reply(bad_text), plan_reply(PLAN))
    fn = city_report_function(make_runtime(llm=ollama(server.url)))
    assert fn({"city": "Paris"}) == report("Paris")

    first, second = (r.json["messages"] for r in server.requests)
    assert second[: len(first)] == first
    assert second[len(first)] == {"role": "assistant", "content": bad_text}
    last = second[-1]
    assert last["role"] == "user"
    assert expected_error in last["content"]
    assert fn.counters["model_calls"] == 2


def test_a_failing_compare_is_sent_back_to_the_model(server: LoopbackServer, make_runtime) -> None:
    wrong = json.loads(json.dumps(PLAN))
    wrong["output"]["temp_c"] = {"value": 0.0}
    server.script(OLLAMA, plan_reply(wrong), plan_reply(PLAN))
    compare = {"cases": [{"input": {"city": "Oslo"}, "expected": {"temp_c": -3.0}}]}
    fn = city_report_function(
        make_runtime(llm=ollama(server.url)), compare_params=compare, literal_outputs=True
    )
    assert fn({"city": "Paris"}) == report("Paris")
    second = server.requests[1].json["messages"]
    assert "temp_c" in second[-1]["content"] and "-3.0" in second[-1]["content"]
    assert fn.workflow == Workflow.model_validate(PLAN)


# ================================================================= 3. model-call counts


def test_model_call_counts(server: LoopbackServer, make_runtime, tmp_path: Path) -> None:
    server.set_default(OLLAMA, plan_reply(PLAN))
    fn = city_report_function(make_runtime(llm=ollama(server.url), storage=tmp_path))
    assert fn({"city": "Paris"}) == report("Paris")
    first_calls = fn.counters["model_calls"]
    print(f"model calls for the first call of a two-tool task: {first_calls}")
    assert first_calls <= 2
    assert first_calls == 1 and len(server.requests) == 1

    for city in ("Oslo", "Lima", "Paris"):
        assert fn({"city": city}) == report(city)
    assert fn.counters["model_calls"] == 1 and len(server.requests) == 1

    other = city_report_function(make_runtime(llm=ollama(server.url), storage=tmp_path))
    assert other({"city": "Lima"}) == report("Lima")
    assert other.counters["model_calls"] == 0 and other.counters["plannings"] == 0
    assert len(server.requests) == 1


def test_stored_workflows_are_private_data_and_never_import_code(
    server: LoopbackServer, make_runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.set_default(OLLAMA, plan_reply(PLAN))
    storage = tmp_path / "store"
    fn = city_report_function(make_runtime(llm=ollama(server.url), storage=storage))
    fn({"city": "Paris"})
    (stored,) = stored_files(storage)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert [p.name for p in storage.iterdir()] == [stored.name]  # no temporary file left behind
    record = json.loads(stored.read_text())
    assert set(record) == {"format", "key", "workflow", "tools", "provenance"}

    # A record naming an importable module's function is data: nothing gets imported.
    marker = tmp_path / "imported.txt"
    planted = tmp_path / "mods" / "llmf_planted_module.py"
    planted.parent.mkdir()
    planted.write_text(
        f"open({str(marker)!r}, 'w').write('imported')\ndef run(x):\n    return x\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(planted.parent))
    record["workflow"]["steps"][0]["tool"] = "llmf_planted_module.run"
    record["tools"] = {
        "llmf_planted_module.run": "0" * 32,
        "summarize": record["tools"]["summarize"],
    }
    stored.write_text(json.dumps(record), encoding="utf-8")

    other = city_report_function(make_runtime(llm=ollama(server.url), storage=storage))
    assert other({"city": "Oslo"}) == report("Oslo")
    assert other.counters["plannings"] == 1  # the record's tools are not these tools: replanned
    assert not marker.exists() and "llmf_planted_module" not in sys.modules
    assert json.loads(stored.read_text())["workflow"] == PLAN


# ======================================================================== 4. feasibility


class Humidity(BaseModel):
    percent: int  # nothing makes an int (a float would do: an object can be built of it)


class HumidReport(BaseModel):
    summary: str
    humidity: Humidity


class HumidityPct(BaseModel):
    humidity_pct: float


@pytest.mark.parametrize("planner", ["model", "schema"])
def test_an_output_type_nothing_produces_is_infeasible_without_a_model_call(
    planner: str, server: LoopbackServer, make_runtime
) -> None:
    server.set_default("*", plan_reply(PLAN))
    runtime = make_runtime(llm=ollama(server.url) if planner == "model" else None)

    @llm_function(runtime=runtime)
    def humid(request: CityIn) -> HumidReport:
        """Report the humidity of a city."""

    with pytest.raises(LlmFunctionError) as caught:
        humid({"city": "Paris"})
    assert caught.value.kind == "infeasible"
    assert caught.value.stage == "planning"
    assert "humidity" in str(caught.value)
    assert server.requests == []
    assert humid.counters["model_calls"] == 0 and humid.counters["tool_calls"] == 0
    assert humid.workflow is None


def test_a_model_saying_impossible_is_infeasible_after_one_call(
    server: LoopbackServer, make_runtime, tmp_path: Path
) -> None:
    server.script(OLLAMA, plan_reply({"impossible": "no tool gives humidity"}))
    server.set_default("*", Reply(500, {"error": "one answer only"}))
    runtime = make_runtime(llm=ollama(server.url, max_retries=0), storage=tmp_path)

    @llm_function(runtime=runtime)
    def humidity(request: CityIn) -> HumidityPct:
        """Give the relative humidity of a city in percent."""

    with pytest.raises(LlmFunctionError) as caught:
        humidity({"city": "Paris"})
    assert caught.value.kind == "infeasible"
    assert caught.value.details["reason"] == "no tool gives humidity"
    assert "no tool gives humidity" in str(caught.value)
    assert len(server.requests) == 1
    assert humidity.counters["model_calls"] == 1
    assert humidity.workflow is None and stored_files(tmp_path) == []


# =========================================================== 5. decoration-time errors


def test_decoration_errors() -> None:
    with pytest.raises(ValueError, match="docstring"):

        @llm_function(tools=[get_weather])
        def undocumented(request: CityIn) -> Weather:
            pass

    with pytest.raises(ValueError):

        @llm_function(tools=[get_weather])
        def blank(request: CityIn) -> Weather:
            """ """  # noqa: D419

    with pytest.raises(TypeError):

        @llm_function(tools=[get_weather])
        def two(request: CityIn, other: CityIn) -> Weather:
            """Two parameters."""

    with pytest.raises(TypeError):

        @llm_function(tools=[get_weather])
        def none() -> Weather:
            """No parameter."""

    with pytest.raises(TypeError):

        @llm_function(tools=[get_weather])
        def unannotated(request) -> Weather:  # type: ignore[no-untyped-def]
            """No annotation."""

    with pytest.raises(TypeError):

        @llm_function(tools=[get_weather])
        def not_a_model(request: str) -> Weather:
            """A str parameter."""

    with pytest.raises(TypeError):

        @llm_function(tools=[get_weather])
        def returns_str(request: CityIn) -> str:
            """A non-model return."""

    with pytest.raises(TypeError):

        @llm_function(tools=[get_weather])
        def no_return(request: CityIn):  # type: ignore[no-untyped-def]
            """No return annotation."""


def test_invalid_input_is_a_pydantic_validation_error(make_runtime) -> None:
    fn = city_report_function(make_runtime())
    with pytest.raises(ValidationError) as caught:
        fn({"town": "Paris"})
    assert not isinstance(caught.value, LlmFunctionError)
    with pytest.raises(ValidationError):
        fn({"city": 42})
    assert fn.counters == {
        "model_calls": 0,
        "cache_hits": 0,
        "plannings": 0,
        "runs": 0,
        "tool_calls": 0,
        "prompt_chars": 0,
    }
    assert fn({"city": "Paris"}) == report("Paris")


# ======================================================================= 6. introspection


def test_workflow_is_readable_and_counters_count(server: LoopbackServer, make_runtime) -> None:
    server.script(OLLAMA, plan_reply(PLAN))
    fn = city_report_function(make_runtime(llm=ollama(server.url)))
    assert fn.workflow is None
    assert fn.counters == {
        "model_calls": 0,
        "cache_hits": 0,
        "plannings": 0,
        "runs": 0,
        "tool_calls": 0,
        "prompt_chars": 0,
    }

    fn({"city": "Paris"})
    fn({"city": "Oslo"})
    text = str(fn.workflow)
    assert "w = get_weather(city=input.city)" in text
    assert "s = summarize(city=w.city, temp_c=w.temp_c, condition=w.condition)" in text
    assert "summary=s.summary" in text
    assert fn.counters == {
        "model_calls": 1,
        "cache_hits": 1,
        "plannings": 1,
        "runs": 2,
        "tool_calls": 4,
        "prompt_chars": sum(len(m["content"]) for m in server.requests[0].json["messages"]),
    }


@pytest.mark.parametrize("planner", ["model", "schema"])
def test_plan_is_a_dry_run(
    planner: str, server: LoopbackServer, make_runtime, tmp_path: Path
) -> None:
    server.set_default(OLLAMA, plan_reply(PLAN))
    runtime = make_runtime(llm=ollama(server.url) if planner == "model" else None, storage=tmp_path)
    fn = city_report_function(runtime)

    planned = fn.plan()
    assert isinstance(planned, Workflow)
    assert planned.tool_names() == ["get_weather", "summarize"]
    assert fn.counters["tool_calls"] == 0 and fn.counters["runs"] == 0
    assert fn.workflow is None and stored_files(tmp_path) == []
    assert len(server.requests) == (1 if planner == "model" else 0)

    assert fn({"city": "Lima"}) == report("Lima")
    assert fn.counters["plannings"] == 1  # the reviewed plan is the one that ran (issue 15)
    assert fn.workflow == planned and len(stored_files(tmp_path)) == 1
    assert fn.plan() == planned  # now the cached one, without planning
    assert fn.counters["plannings"] == 1
    assert len(server.requests) == (1 if planner == "model" else 0)


def test_invalidate_makes_the_next_call_replan(
    server: LoopbackServer, make_runtime, tmp_path: Path
) -> None:
    server.set_default(OLLAMA, plan_reply(PLAN))
    fn = city_report_function(make_runtime(llm=ollama(server.url), storage=tmp_path))
    fn({"city": "Paris"})
    assert len(stored_files(tmp_path)) == 1
    fn.invalidate()
    assert fn.workflow is None and stored_files(tmp_path) == []
    assert fn({"city": "Paris"}) == report("Paris")
    assert fn.counters["plannings"] == 2 and len(server.requests) == 2
    assert len(stored_files(tmp_path)) == 1


def test_force_replan_override_replans_once_despite_a_stored_workflow(
    server: LoopbackServer, make_runtime, tmp_path: Path
) -> None:
    server.set_default(OLLAMA, plan_reply(PLAN))
    first = city_report_function(make_runtime(llm=ollama(server.url), storage=tmp_path))
    first({"city": "Paris"})
    assert len(server.requests) == 1

    forced = city_report_function(
        make_runtime(llm=ollama(server.url), storage=tmp_path), force_replan=True
    )
    assert forced({"city": "Oslo"}) == report("Oslo")
    assert forced.counters["plannings"] == 1 and len(server.requests) == 2
    assert forced({"city": "Lima"}) == report("Lima")
    assert forced.counters["plannings"] == 1 and forced.counters["cache_hits"] == 1
    assert len(server.requests) == 2

    plain = city_report_function(make_runtime(llm=ollama(server.url), storage=tmp_path))
    assert plain({"city": "Lima"}) == report("Lima")
    assert plain.counters["plannings"] == 0


def test_test_params_run_before_caching(make_runtime, tmp_path: Path) -> None:
    fn = city_report_function(
        make_runtime(storage=tmp_path), test_params={"inputs": [{"city": "Oslo"}, {"city": "Lima"}]}
    )
    assert fn({"city": "Paris"}) == report("Paris")
    assert fn.counters["tool_calls"] == 6  # two test inputs and the call, two tools each
    assert fn.counters["runs"] == 1
    assert len(stored_files(tmp_path)) == 1
    fn({"city": "Paris"})
    assert fn.counters["tool_calls"] == 8  # cached: no more tests


def test_a_failing_test_with_the_schema_planner_is_test_failed_and_not_cached(
    make_runtime, tmp_path: Path
) -> None:
    fn = city_report_function(
        make_runtime(storage=tmp_path),
        test_params={"inputs": [{"city": "Paris"}, {"city": "Atlantis"}]},
    )
    with pytest.raises(LlmFunctionError) as caught:
        fn({"city": "Paris"})
    assert caught.value.kind == "test_failed"
    assert "Atlantis" in str(caught.value)
    assert fn.workflow is None and stored_files(tmp_path) == []
    assert fn.counters["runs"] == 0


def test_compare_params_mismatch_is_test_failed(make_runtime, tmp_path: Path) -> None:
    good = {
        "cases": [
            {"input": {"city": "Oslo"}, "expected": {"temp_c": -3.0, "summary": "Oslo: snow, -3 C"}}
        ]
    }
    ok = city_report_function(make_runtime(storage=tmp_path / "ok"), compare_params=good)
    assert ok({"city": "Paris"}) == report("Paris")
    assert len(stored_files(tmp_path / "ok")) == 1

    bad = {"cases": [{"input": {"city": "Oslo"}, "expected": {"temp_c": 25.0}}]}
    fn = city_report_function(make_runtime(storage=tmp_path / "bad"), compare_params=bad)
    with pytest.raises(LlmFunctionError) as caught:
        fn({"city": "Paris"})
    assert caught.value.kind == "test_failed"
    assert "temp_c" in str(caught.value)
    assert fn.workflow is None and stored_files(tmp_path / "bad") == []


# ====================================================================== 7. tool failures


def test_a_tool_failing_at_call_time(server: LoopbackServer, make_runtime, tmp_path: Path) -> None:
    server.set_default(OLLAMA, plan_reply(PLAN))
    fn = city_report_function(make_runtime(llm=ollama(server.url), storage=tmp_path))

    with pytest.raises(LlmFunctionError) as caught:
        fn({"city": "Atlantis"})
    error = caught.value
    assert error.kind == "tool_failed" and error.stage == "execution"
    assert error.details["step"] == "w" and error.details["tool"] == "get_weather"
    assert "'w'" in str(error) and "get_weather" in str(error) and "Atlantis" in str(error)
    assert (
        fn.workflow is None and stored_files(tmp_path) == []
    )  # a first run that failed caches nothing

    assert fn({"city": "Paris"}) == report("Paris")
    assert fn.counters["plannings"] == 2 and len(server.requests) == 2

    # Once cached, a failing tool raises; it does not silently replan.
    with pytest.raises(LlmFunctionError) as again:
        fn({"city": "Atlantis"})
    assert again.value.kind == "tool_failed"
    assert fn.counters["plannings"] == 2 and len(server.requests) == 2
    assert fn.workflow is not None and len(stored_files(tmp_path)) == 1


# ============================================================ 8. export / import via lllm


def test_export_and_ship_a_workflow_through_an_lllm_package(
    server: LoopbackServer, make_runtime, tmp_path: Path
) -> None:
    import lllm

    server.script(OLLAMA, plan_reply(PLAN))
    dev = city_report_function(make_runtime(llm=ollama(server.url), storage=tmp_path / "dev"))
    assert dev({"city": "Paris"}) == report("Paris")

    package = tmp_path / "wfpkg"
    package.mkdir()
    (package / "lllm.toml").write_text('[package]\nname = "wfpkg"\n', encoding="utf-8")
    exported = dev.export_workflow(package)
    assert exported == package / "workflows" / "city_report.json"
    record = json.loads(exported.read_text())
    assert record["workflow"] == PLAN

    lllm_runtime = lllm.Runtime()
    lllm.load_package(package, runtime=lllm_runtime)
    assert len(list(lllm_runtime.iter_nodes("workflow"))) == 1

    with LoopbackServer() as failing:
        failing.set_default("*", Reply(500, {"error": "production must not call a model"}))
        production = make_runtime(
            llm=ollama(failing.url, max_retries=0), workflows_from=lllm_runtime
        )
        fn = city_report_function(production)
        assert fn({"city": "Oslo"}) == report("Oslo")
        assert fn({"city": "Lima"}) == report("Lima")
        assert failing.requests == []
        assert fn.counters["model_calls"] == 0 and fn.counters["plannings"] == 0
        assert fn.workflow == Workflow.model_validate(PLAN)
