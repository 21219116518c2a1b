"""The planner that needs no model, on meaning: words shared by names, descriptions, tools."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from llm_function import (
    LlmFunctionConfig,
    LlmFunctionError,
    LlmFunctionRuntime,
    LlmRuntimeConfig,
    llm_function,
)
from llm_function.clients import ScriptedClient
from llm_function.schema_planner import SchemaPlanner
from llm_function.tools import ToolRegistry


class Query(BaseModel):
    city_name: str


class Forecast(BaseModel):
    temperature_celsius: float
    wind_kph: float


def weather_lookup(query: Query) -> Forecast:
    """Current weather forecast for a city."""
    return Forecast(temperature_celsius=18.5, wind_kph=12.0)


class Sms(BaseModel):
    phone_number: str
    message: str


class Receipt(BaseModel):
    delivered: bool


def send_sms(request: Sms) -> Receipt:
    """Send a text message (SMS)."""
    return Receipt(delivered=True)


def send_fax(request: Sms) -> Receipt:
    """Send a fax."""
    return Receipt(delivered=True)


class CityIn(BaseModel):
    city: str


class Temp(BaseModel):
    temperature: float


class Sent(BaseModel):
    sent: bool


def test_names_that_differ_are_bound_by_shared_words() -> None:
    tools = ToolRegistry([weather_lookup, send_sms])
    workflow = SchemaPlanner(tools).plan(CityIn, Temp)
    assert workflow.to_json_dict() == {
        "steps": [
            {
                "id": "weather_lookup",
                "tool": "weather_lookup",
                "args": {"city_name": {"ref": "input.city"}},
            }
        ],
        "output": {"temperature": {"ref": "weather_lookup.temperature_celsius"}},
    }


def test_two_close_candidates_are_refused_with_both_named_and_given_as_the_hint() -> None:
    tools = ToolRegistry([send_sms, send_fax])
    with pytest.raises(LlmFunctionError) as caught:
        SchemaPlanner(tools).plan(CityIn, Sent)
    assert caught.value.kind == "infeasible"
    assert caught.value.details["ambiguities"] == [
        "output field 'sent': send_fax().delivered and send_sms().delivered fit equally well (score 3)."
    ]
    handler = {"llm_h_type": "scripted", "llm_h_params": {"replies": [{"impossible": "which?"}]}}
    runtime = LlmFunctionRuntime(
        LlmFunctionConfig(
            runtime=LlmRuntimeConfig(llm_handler_params=handler), tool_sources=[send_sms, send_fax]
        )
    )
    client = runtime.client
    assert isinstance(client, ScriptedClient)

    @llm_function(runtime=runtime)
    def notify(where: CityIn) -> Sent:
        """Tell someone in the city."""

    with pytest.raises(LlmFunctionError):
        notify({"city": "Oslo"})
    prompt = client.calls[0][-1]["content"]
    assert (
        "Left open by that matching:\n- output field 'sent': send_fax().delivered and send_sms().delivered"
        in prompt
    )


def test_a_field_with_no_shared_word_is_never_bound() -> None:
    class Humidity(BaseModel):
        humidity: float

    with pytest.raises(LlmFunctionError) as caught:
        SchemaPlanner(ToolRegistry([weather_lookup])).plan(CityIn, Humidity)
    assert caught.value.details["partial_plan"] == {"steps": [], "output": {}}
    assert "'humidity': no input field or tool output" in str(caught.value)
