"""The schema planner: binding by name and type, shortest chains, precise failures."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from llm_function.errors import LlmFunctionError
from llm_function.schema_planner import SchemaPlanner, type_feasibility
from llm_function.tools import ToolRegistry, llm_tool
from llm_function.validation import validate_workflow


class CityIn(BaseModel):
    city: str


class Coords(BaseModel):
    lat: float
    lon: float


class Forecast(BaseModel):
    temp_c: float
    rain_mm: float


class ForecastIn(BaseModel):
    lat: float
    lon: float


class Summary(BaseModel):
    text: str


class SummaryIn(BaseModel):
    temp_c: float
    rain_mm: float


@llm_tool
def geocode(q: CityIn) -> Coords:
    return Coords(lat=1, lon=2)


@llm_tool
def forecast(q: ForecastIn) -> Forecast:
    return Forecast(temp_c=20, rain_mm=0)


@llm_tool
def summarize(q: SummaryIn) -> Summary:
    return Summary(text="ok")


class Shortcut(BaseModel):
    """A direct tool: city -> text; the planner must prefer it (shortest chain)."""

    text: str


@llm_tool
def direct_summary(q: CityIn) -> Shortcut:
    return Shortcut(text="direct")


TOOLS = ToolRegistry([geocode, forecast, summarize])


class Out(BaseModel):
    text: str
    temp_c: float
    city: str


def test_three_step_chain() -> None:
    wf = SchemaPlanner(TOOLS).plan(CityIn, Out)
    assert [s.tool for s in wf.steps] == ["geocode", "forecast", "summarize"]
    validate_workflow(wf, CityIn, Out, TOOLS)
    assert wf.output["city"].ref == "input.city"


def test_shortest_chain_wins() -> None:
    tools = ToolRegistry([geocode, forecast, summarize, direct_summary])

    class TextOnly(BaseModel):
        text: str

    wf = SchemaPlanner(tools).plan(CityIn, TextOnly)
    assert [s.tool for s in wf.steps] == ["direct_summary"]


def test_no_tools_needed() -> None:
    class Echo(BaseModel):
        city: str
        note: str | None = None

    wf = SchemaPlanner(TOOLS).plan(CityIn, Echo)
    assert wf.steps == () and list(wf.output) == ["city"]


def test_int_widening_and_optional_outputs() -> None:
    class CountIn(BaseModel):
        temp_c: int
        rain_mm: int

    class MaybeOut(BaseModel):
        text: str
        missing: int | None = None

    wf = SchemaPlanner(TOOLS).plan(CountIn, MaybeOut)
    assert [s.tool for s in wf.steps] == ["summarize"]
    assert "missing" not in wf.output


def test_failure_names_unbound_output_fields() -> None:
    class Impossible(BaseModel):
        humidity: float
        text: int

    with pytest.raises(LlmFunctionError) as info:
        SchemaPlanner(TOOLS).plan(CityIn, Impossible)
    err = info.value
    assert err.kind == "infeasible" and err.stage == "planning"
    assert err.details["unbound_outputs"] == ["humidity", "text"]
    assert "'humidity' (float): neither the input" in str(err)
    assert "summarize.text is str" in str(err)


def test_failure_names_unbound_tool_inputs() -> None:
    class NoCity(BaseModel):
        country: str

    class TextOut(BaseModel):
        text: str

    with pytest.raises(LlmFunctionError) as info:
        SchemaPlanner(TOOLS).plan(NoCity, TextOut)
    assert (
        "tool 'summarize' produces it but its input 'temp_c' (float), 'rain_mm' (float) cannot be bound"
        in str(info.value)
    )
    assert info.value.details["unbound_tool_inputs"] == {"summarize": ["temp_c", "rain_mm"]}


def test_type_feasibility_ignores_names() -> None:
    class Renamed(BaseModel):
        temperature: float

    class Bytes(BaseModel):
        blob: bytes

    assert type_feasibility(CityIn, Renamed, TOOLS) == []
    problems = type_feasibility(CityIn, Bytes, TOOLS)
    assert len(problems) == 1 and "'blob'" in problems[0]


def test_nested_input_fields_bind() -> None:
    class Place(BaseModel):
        city: str

    class Request(BaseModel):
        place: Place

    class TextOut(BaseModel):
        text: str

    wf = SchemaPlanner(TOOLS).plan(Request, TextOut)
    assert wf.steps[0].args["city"].ref == "input.place.city"
