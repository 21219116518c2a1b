"""llm_function benchmarks (issues 5 and 15).

Run: ``python bench/llm_function_bench.py`` (``--json PATH`` also writes the figures).

1. A cached call of a two-tool workflow against calling the same tools directly in plain
   Python, printed as a ratio: with trivial tools (budget <= 3), with tools that each take
   ~1 ms (budget <= 1.1), and for an async function with async tools awaited in the caller's
   loop (no thread hop; budget <= 3).
2. Tools that block (two of 20 ms each), 64 calls from 16 threads: wall time directly and
   through llm_function (sync tools run in the callers' threads, so they overlap).
3. Planning time of the schema planner on a catalogue of tasks. Budget: each < 10 ms.
4. The planner that needs no model on the catalog of ``plugins/llm-function/bench/catalog.py``
   (issue 16): each plan is validated and run on the task's sample inputs, and its outputs
   compared with those computed by calling the tools directly. Printed: solved, refused and
   wrongly solved counts, and planning times. Targets: at least half of the solvable tasks
   solved, no wrong result, every impossible task refused, planning <= 10 ms per task.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import statistics
import sys
import time
from pathlib import Path

from pydantic import BaseModel

from llm_function import InMemoryToolSource, LlmFunctionConfig, LlmFunctionRuntime, llm_function
from llm_function.errors import LlmFunctionError
from llm_function.executor import CompiledWorkflow
from llm_function.schema_planner import SchemaPlanner
from llm_function.tools import ToolRegistry
from llm_function.validation import validate_workflow

#: How long each tool works, in seconds (set by each measurement).
TOOL_SECONDS = 0.001
#: Whether the tools block (sleep, like I/O) instead of spinning.
BLOCKING = False


def busy(seconds: float) -> None:
    """Spin for ``seconds`` (sleep is too coarse for 1 ms), or sleep when ``BLOCKING``."""
    if seconds <= 0:
        return
    if BLOCKING:
        time.sleep(seconds)
        return
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class CityIn(BaseModel):
    city: str
    email: str


class WeatherIn(BaseModel):
    city: str


class Weather(BaseModel):
    city: str
    temp_c: float
    conditions: str


class ReportIn(BaseModel):
    city: str
    temp_c: float
    conditions: str
    email: str


class Report(BaseModel):
    summary: str
    sent: bool


class CityOut(BaseModel):
    summary: str
    temp_c: float
    sent: bool


def get_weather(query: WeatherIn) -> Weather:
    """Current weather for a city."""
    busy(TOOL_SECONDS)
    return Weather(city=query.city, temp_c=21.5, conditions="sunny")


def send_report(report: ReportIn) -> Report:
    """Email a weather report."""
    busy(TOOL_SECONDS)
    return Report(summary=f"{report.city}: {report.temp_c} C", sent=True)


async def get_weather_async(query: WeatherIn) -> Weather:
    """Current weather for a city."""
    return Weather(city=query.city, temp_c=21.5, conditions="sunny")


async def send_report_async(report: ReportIn) -> Report:
    """Email a weather report."""
    return Report(summary=f"{report.city}: {report.temp_c} C", sent=True)


def direct(inputs: CityIn) -> CityOut:
    """The same work written by hand."""
    weather = get_weather(WeatherIn(city=inputs.city))
    report = send_report(
        ReportIn(
            city=weather.city,
            temp_c=weather.temp_c,
            conditions=weather.conditions,
            email=inputs.email,
        )
    )
    return CityOut(summary=report.summary, temp_c=weather.temp_c, sent=report.sent)


async def direct_async(inputs: CityIn) -> CityOut:
    """The async work written by hand."""
    weather = await get_weather_async(WeatherIn(city=inputs.city))
    report = await send_report_async(
        ReportIn(
            city=weather.city,
            temp_c=weather.temp_c,
            conditions=weather.conditions,
            email=inputs.email,
        )
    )
    return CityOut(summary=report.summary, temp_c=weather.temp_c, sent=report.sent)


def _function(tools: list, is_async: bool = False):
    runtime = LlmFunctionRuntime(LlmFunctionConfig(tool_sources=[InMemoryToolSource(tools)]))
    if is_async:

        @llm_function(runtime=runtime)
        async def city_report(inputs: CityIn) -> CityOut:
            """Get the weather for the city and email a report."""

    else:

        @llm_function(runtime=runtime)
        def city_report(inputs: CityIn) -> CityOut:
            """Get the weather for the city and email a report."""

    return city_report


def _figures(direct_s: float, cached_s: float) -> dict[str, float]:
    return {
        "direct_us": direct_s * 1e6,
        "cached_us": cached_s * 1e6,
        "overhead_us": (cached_s - direct_s) * 1e6,
        "ratio": cached_s / direct_s,
    }


def measure_overhead(calls: int, tool_seconds: float) -> dict[str, float]:
    """Median time of a cached sync call against the direct calls."""
    global TOOL_SECONDS
    TOOL_SECONDS = tool_seconds
    city_report = _function([get_weather, send_report])
    sample = CityIn(city="Paris", email="a@b.c")
    assert city_report(sample) == direct(sample)  # plans and caches

    def timed(fn) -> float:
        samples = []
        for _ in range(calls):
            start = time.perf_counter()
            fn(sample)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    timed(direct)
    timed(city_report)
    direct_s, cached_s = timed(direct), timed(city_report)
    city_report.runtime.close()
    return _figures(direct_s, cached_s)


def measure_async_overhead(calls: int) -> dict[str, float]:
    """Median time of a cached async call (async tools) against awaiting the tools directly."""
    city_report = _function([get_weather_async, send_report_async], is_async=True)
    sample = CityIn(city="Paris", email="a@b.c")

    async def timed(fn) -> float:
        samples = []
        for _ in range(calls):
            start = time.perf_counter()
            await fn(sample)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    async def main() -> tuple[float, float]:
        assert await city_report(sample) == await direct_async(sample)
        await timed(direct_async)
        await timed(city_report)
        return await timed(direct_async), await timed(city_report)

    direct_s, cached_s = asyncio.run(main())
    city_report.runtime.close()
    return _figures(direct_s, cached_s)


def measure_blocking_threads(calls: int = 64, threads: int = 16) -> dict[str, float]:
    """Wall time of ``calls`` calls from ``threads`` threads, tools blocking 20 ms each."""
    global TOOL_SECONDS, BLOCKING
    TOOL_SECONDS, BLOCKING = 0.02, True
    try:
        city_report = _function([get_weather, send_report])
        sample = CityIn(city="Paris", email="a@b.c")
        city_report(sample)

        def wall(fn) -> float:
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda _: fn(sample), range(calls)))
            return time.perf_counter() - start

        direct_s, through_s = wall(direct), wall(city_report)
        city_report.runtime.close()
    finally:
        TOOL_SECONDS, BLOCKING = 0.001, False
    return {"direct_s": direct_s, "llm_function_s": through_s, "ratio": through_s / direct_s}


# --------------------------------------------------------------------- planning catalogue


def _model(model_name: str, /, **fields: type) -> type[BaseModel]:
    annotations = dict(fields)
    return type(model_name, (BaseModel,), {"__annotations__": annotations})


def _tool(name: str, inputs: type[BaseModel], outputs: type[BaseModel]):
    def tool(arg):  # noqa: ANN001 - annotated below
        return outputs.model_construct()

    tool.__name__ = name
    tool.__doc__ = f"Tool {name}."
    tool.__annotations__ = {"arg": inputs, "return": outputs}
    return tool


def catalogue() -> tuple[ToolRegistry, list[tuple[str, type[BaseModel], type[BaseModel]]]]:
    """20 tools and 24 tasks over a small business domain."""
    M = _model
    tools = [
        _tool("geocode", M("GeoIn", city=str), M("GeoOut", lat=float, lon=float, country=str)),
        _tool(
            "forecast",
            M("FcIn", lat=float, lon=float),
            M("FcOut", temp_c=float, rain_mm=float, wind_kmh=float),
        ),
        _tool("air_quality", M("AqIn", lat=float, lon=float), M("AqOut", aqi=int)),
        _tool("timezone", M("TzIn", lat=float, lon=float), M("TzOut", tz=str, utc_offset=float)),
        _tool("currency_of", M("CurIn", country=str), M("CurOut", currency=str)),
        _tool("fx_rate", M("FxIn", currency=str), M("FxOut", rate=float)),
        _tool("convert_price", M("CpIn", amount=float, rate=float), M("CpOut", converted=float)),
        _tool(
            "customer",
            M("CuIn", customer_id=int),
            M("CuOut", name=str, email=str, city=str, tier=str),
        ),
        _tool("orders", M("OrIn", customer_id=int), M("OrOut", order_count=int, total=float)),
        _tool("discount", M("DiIn", tier=str, total=float), M("DiOut", discount=float)),
        _tool(
            "send_email",
            M("EmIn", email=str, subject=str, body=str),
            M("EmOut", sent=bool, message_id=str),
        ),
        _tool("compose", M("CoIn", name=str, temp_c=float), M("CoOut", subject=str, body=str)),
        _tool("translate", M("TrIn", body=str, language=str), M("TrOut", translated=str)),
        _tool("language_of", M("LaIn", country=str), M("LaOut", language=str)),
        _tool("stock", M("StIn", sku=str), M("StOut", quantity=int, warehouse=str)),
        _tool("warehouse_city", M("WcIn", warehouse=str), M("WcOut", city=str)),
        _tool("shipping", M("ShIn", city=str, quantity=int), M("ShOut", days=int, cost=float)),
        _tool("sentiment", M("SeIn", body=str), M("SeOut", score=float)),
        _tool("summarize", M("SuIn", body=str), M("SuOut", summary=str)),
        _tool("holiday", M("HoIn", country=str), M("HoOut", is_holiday=bool)),
    ]
    registry = ToolRegistry(tools)
    tasks = [
        ("weather by city", M("T1In", city=str), M("T1Out", temp_c=float, rain_mm=float)),
        ("air by city", M("T2In", city=str), M("T2Out", aqi=int)),
        ("local time", M("T3In", city=str), M("T3Out", tz=str, utc_offset=float)),
        ("currency by city", M("T4In", city=str), M("T4Out", currency=str)),
        ("fx by city", M("T5In", city=str), M("T5Out", rate=float, currency=str)),
        ("price abroad", M("T6In", city=str, amount=float), M("T6Out", converted=float)),
        ("customer profile", M("T7In", customer_id=int), M("T7Out", name=str, email=str)),
        ("customer spend", M("T8In", customer_id=int), M("T8Out", total=float, order_count=int)),
        ("customer discount", M("T9In", customer_id=int), M("T9Out", discount=float)),
        ("customer weather", M("T10In", customer_id=int), M("T10Out", temp_c=float)),
        ("weather email", M("T11In", customer_id=int), M("T11Out", sent=bool)),
        ("customer currency", M("T12In", customer_id=int), M("T12Out", currency=str)),
        ("translated note", M("T13In", body=str, country=str), M("T13Out", translated=str)),
        ("stock check", M("T14In", sku=str), M("T14Out", quantity=int)),
        ("ship estimate", M("T15In", sku=str), M("T15Out", days=int, cost=float)),
        ("review sentiment", M("T16In", body=str), M("T16Out", score=float, summary=str)),
        ("holiday by city", M("T17In", city=str), M("T17Out", is_holiday=bool)),
        ("wind and air", M("T18In", city=str), M("T18Out", wind_kmh=float, aqi=int)),
        ("customer holiday", M("T19In", customer_id=int), M("T19Out", is_holiday=bool)),
        ("customer language", M("T20In", customer_id=int), M("T20Out", language=str)),
        ("echo", M("T21In", city=str), M("T21Out", city=str)),
        ("customer fx", M("T22In", customer_id=int), M("T22Out", rate=float)),
        ("warehouse weather", M("T23In", sku=str), M("T23Out", temp_c=float)),
        (
            "full report",
            M("T24In", customer_id=int),
            M("T24Out", name=str, temp_c=float, aqi=int, discount=float, currency=str),
        ),
    ]
    return registry, tasks


def measure_planning(repeats: int) -> list[dict[str, object]]:
    registry, tasks = catalogue()
    planner = SchemaPlanner(registry)
    rows = []
    for name, input_model, output_model in tasks:
        times = []
        steps = None
        for _ in range(repeats):
            start = time.perf_counter()
            workflow = planner.plan(input_model, output_model)
            times.append(time.perf_counter() - start)
            steps = len(workflow.steps)
        rows.append(
            {
                "task": name,
                "steps": steps,
                "median_ms": statistics.median(times) * 1000,
                "max_ms": max(times) * 1000,
            }
        )
    return rows


def measure_catalog(repeats: int) -> dict[str, object]:
    """Plan every catalog task with no model; check each plan against the reference outputs."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins/llm-function/bench"))
    from catalog import TASKS

    rows = []
    for task in TASKS:
        registry = ToolRegistry(list(task.tools))
        planner = SchemaPlanner(registry)
        times = []
        outcome, detail = "", ""
        for _ in range(repeats):
            start = time.perf_counter()
            try:
                workflow = planner.plan(task.input_model, task.output_model)
            except LlmFunctionError as error:
                workflow, detail = None, str(error).splitlines()[-1].strip()
            times.append(time.perf_counter() - start)
        if workflow is None:
            outcome = "refused"
        elif task.reference is None:
            outcome, detail = "wrong", "planned an impossible task"
        else:
            validate_workflow(workflow, task.input_model, task.output_model, registry)
            compiled = CompiledWorkflow(workflow, task.output_model, registry)
            outcome = "solved"
            for sample in task.inputs:
                inputs = task.input_model.model_validate(sample)
                expected = task.reference(inputs)
                try:
                    produced = compiled.run_sync(inputs, asyncio.run)
                except LlmFunctionError as error:
                    outcome, detail = "wrong", f"failed: {error}"
                    break
                if produced != expected:
                    outcome, detail = "wrong", f"{produced!r} != {expected!r}"
                    break
        rows.append(
            {
                "task": task.name,
                "possible": task.reference is not None,
                "outcome": outcome,
                "detail": detail,
                "median_ms": statistics.median(times) * 1000,
                "max_ms": max(times) * 1000,
            }
        )
    solvable = [r for r in rows if r["possible"]]
    impossible = [r for r in rows if not r["possible"]]
    return {
        "rows": rows,
        "solvable": len(solvable),
        "impossible": len(impossible),
        "solved": sum(r["outcome"] == "solved" for r in solvable),
        "refused_solvable": sum(r["outcome"] == "refused" for r in solvable),
        "refused_impossible": sum(r["outcome"] == "refused" for r in impossible),
        "wrong": sum(r["outcome"] == "wrong" for r in rows),
        "median_ms": statistics.median(r["median_ms"] for r in rows),
        "worst_ms": max(r["max_ms"] for r in rows),
    }


def print_catalog(result: dict[str, object]) -> None:
    rows = result["rows"]
    assert isinstance(rows, list)
    print(f"planning with no model, catalog of {len(rows)} tasks (plans run on sample inputs)")
    for row in rows:
        kind = "" if row["possible"] else " (impossible)"
        print(
            f"  {row['task']:<24} {row['outcome']:<8}{kind:<13} median {row['median_ms']:5.2f} ms"
            f"  max {row['max_ms']:5.2f} ms  {row['detail'][:90]}"
        )
    solvable, solved = result["solvable"], result["solved"]
    print(
        f"  solved {solved} of {solvable} solvable ({solved / solvable:.0%}; target >= 50%), "
        f"refused {result['refused_solvable']} solvable, "
        f"refused {result['refused_impossible']} of {result['impossible']} impossible (target all), "
        f"wrong {result['wrong']} (target 0)"
    )
    print(
        f"  planning median {result['median_ms']:.2f} ms, worst {result['worst_ms']:.2f} ms "
        f"(target <= 10 ms, ratio {result['worst_ms'] / 10:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument(
        "--catalog-only", action="store_true", help="only the no-model planner's catalog"
    )
    args = parser.parse_args()
    if args.catalog_only:
        print_catalog(measure_catalog(args.repeats))
        return

    figures: dict[str, object] = {}
    print(f"cached call vs the same two tools called directly, median of {args.calls} calls")
    for name, label, budget, measure in (
        ("trivial", "sync, trivial tools", 3.0, lambda: measure_overhead(args.calls, 0.0)),
        (
            "tools_1ms",
            "sync, tools of ~1 ms",
            1.1,
            lambda: measure_overhead(args.calls // 5, 0.001),
        ),
        ("async_trivial", "async, async tools", 3.0, lambda: measure_async_overhead(args.calls)),
    ):
        row = measure()
        figures[name] = row
        print(
            f"  {label:<22} direct {row['direct_us']:8.1f} us  llm_function {row['cached_us']:8.1f} us"
            f"  overhead {row['overhead_us']:6.1f} us  ratio {row['ratio']:.2f} (budget <= {budget:g})"
        )
    blocking = measure_blocking_threads()
    figures["blocking_threads"] = blocking
    print(
        "two tools blocking 20 ms each, 64 calls from 16 threads: "
        f"direct {blocking['direct_s']:.2f} s, llm_function {blocking['llm_function_s']:.2f} s, "
        f"ratio {blocking['ratio']:.2f}"
    )
    rows = measure_planning(args.repeats)
    figures["planning"] = rows
    print(
        f"schema planner, {len(rows)} tasks over 20 tools (median and max of {args.repeats} runs; budget < 10 ms each)"
    )
    for row in rows:
        print(
            f"  {row['task']:<20} steps={row['steps']}  median {row['median_ms']:.2f} ms  max {row['max_ms']:.2f} ms"
        )
    worst = max(row["max_ms"] for row in rows)
    print(f"  worst {worst:.2f} ms, ratio to budget {worst / 10:.2f}")
    catalog = measure_catalog(args.repeats)
    figures["catalog"] = catalog
    print_catalog(catalog)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
