"""The LLM planner against a real HTTP server: the plan's JSON schema, the fallback to plain
JSON mode, every error in one repair, constant outputs, the type pre-check, the prompt size."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from loopback import CHAT_PATHS, LoopbackServer, chat_reply
from pydantic import BaseModel, Field

from llm_function import LlmFunctionConfig, LlmFunctionError, LlmFunctionRuntime, LlmRuntimeConfig
from llm_function import llm_function as llm_function_decorator
from llm_function.plan_schema import plan_json_schema, strip_nulls
from llm_function.workflow import Workflow

PROTOCOLS = ["ollama", "openai"]


class Address(BaseModel):
    street: str
    zip: str


class Customer(BaseModel):
    name: str
    address: Address


class Order(BaseModel):
    customer: Customer
    phone: str


class SmsIn(BaseModel):
    phone: str
    body: str
    sender: str | None = None


class SmsOut(BaseModel):
    delivered: bool


def send_sms(request: SmsIn) -> SmsOut:
    """Send an SMS."""
    return SmsOut(delivered=True)


class ZipIn(BaseModel):
    zip: str


class Region(BaseModel):
    region: str = Field(description="The sales region of a postcode.")


def region_of(request: ZipIn) -> Region:
    """The sales region of a postcode."""
    return Region(region="north" if request.zip.startswith("N") else "south")


class Picture(BaseModel):
    pixels: list[list[int]]


def render_map(request: ZipIn) -> Picture:
    """A map of a postcode (nothing the functions below can use)."""
    return Picture(pixels=[[0]])


class Notice(BaseModel):
    sms_sent: bool


class Deep(BaseModel):
    zip: str


class Located(BaseModel):
    region: str
    unit: Literal["C"]


def runtime_for(protocol: str, url: str, **settings: Any) -> LlmFunctionRuntime:
    params = {"connection_string": url, "model_name": "m", "timeout": 2.0, "max_retries": 0}
    return LlmFunctionRuntime(
        LlmFunctionConfig(
            runtime=LlmRuntimeConfig(
                llm_handler_params={"llm_h_type": protocol, "llm_h_params": params}, **settings
            ),
            tool_sources=[send_sms, region_of, render_map],
        )
    )


def content(protocol: str, request: Any) -> str:
    return request.json["messages"][-1]["content"]


NOTICE_PLAN = {
    "steps": [
        {
            "id": "send_sms",
            "tool": "send_sms",
            "args": {
                "phone": {"ref": "input.phone"},
                "body": {"template": "Hello {input.customer.name}"},
                "sender": None,
            },
        }
    ],
    "output": {"sms_sent": {"ref": "send_sms.delivered"}},
    "impossible": None,
}


def _walk(schema: Any, seen: list[dict]) -> None:
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            seen.append(schema)
        for value in schema.values():
            _walk(value, seen)
    elif isinstance(schema, list):
        for item in schema:
            _walk(item, seen)


def test_the_plan_schema_names_tools_fields_and_paths_and_is_strict() -> None:
    runtime = LlmFunctionRuntime(LlmFunctionConfig(tool_sources=[send_sms, region_of]))
    schema = plan_json_schema(Order, Notice, sorted(runtime.tools, key=lambda t: t.name))
    objects: list[dict] = []
    _walk(schema, objects)
    assert objects and all(
        o["additionalProperties"] is False and o["required"] == list(o["properties"])
        for o in objects
    )
    region_step, sms_step = schema["properties"]["steps"]["items"]["anyOf"]
    assert sms_step["properties"]["tool"] == {"type": "string", "enum": ["send_sms"]}
    assert sms_step["properties"]["id"]["enum"] == ["send_sms", "send_sms_2"]
    args = sms_step["properties"]["args"]
    assert list(args["properties"]) == ["phone", "body", "sender"]
    assert "anyOf" in args["properties"]["sender"]  # optional: null allowed
    assert list(schema["properties"]["output"]["properties"]) == ["sms_sent"]
    phone = schema["$defs"][args["properties"]["phone"]["$ref"].split("/")[-1]]
    ref = next(o for o in phone["anyOf"] if "ref" in o["properties"])["properties"]["ref"]
    # Every str reachable at any depth, from the input and from each id of each tool.
    assert ref["enum"] == [
        "input.customer.name",
        "input.customer.address.street",
        "input.customer.address.zip",
        "input.phone",
        "region_of.region",
        "region_of_2.region",
    ]
    kinds = {next(iter(o["properties"])) for o in phone["anyOf"]}
    assert kinds == {"ref", "value", "template"}
    reply = strip_nulls(NOTICE_PLAN)
    assert "impossible" not in reply and "sender" not in reply["steps"][0]["args"]
    Workflow.model_validate(reply)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_schema_is_sent_and_a_refusal_falls_back_to_plain_json(protocol: str) -> None:
    path = CHAT_PATHS[protocol]
    with LoopbackServer() as server:
        server.script(
            path,
            (400, {"error": "invalid schema for response_format"}),
            chat_reply(protocol, NOTICE_PLAN),
            chat_reply(protocol, {"steps": [], "output": {"region": {"value": "x"}}}),
        )
        runtime = runtime_for(protocol, server.url, max_retry=0)

        @llm_function_decorator(runtime=runtime)
        def notify(order: Order) -> Notice:
            """Text the customer that the order shipped."""

        assert notify(
            {"customer": {"name": "Ada", "address": {"street": "s", "zip": "N1"}}, "phone": "1"}
        ) == Notice(sms_sent=True)
        first, second = (r.json for r in server.requests_to(path))
        schema = plan_json_schema(
            Order, Notice, [runtime.tools.get("region_of"), runtime.tools.get("send_sms")]
        )
        if protocol == "ollama":
            assert first["format"] == schema and second["format"] == "json"
        else:
            assert first["response_format"] == {
                "type": "json_schema",
                "json_schema": {"name": "plan", "strict": True, "schema": schema},
            }
            assert second["response_format"] == {"type": "json_object"}
        assert first["messages"] == second["messages"]
        assert runtime.client.usage["schema_fallbacks"] == 1
        assert runtime.client.schema_refused.startswith("HTTP 400")

        @llm_function_decorator(runtime=runtime)
        def locate(order: Order) -> Located:
            """The sales region of the customer."""

        with pytest.raises(LlmFunctionError):
            locate(
                {"customer": {"name": "Ada", "address": {"street": "s", "zip": "N1"}}, "phone": "1"}
            )
        third = server.requests_to(path)[2].json
        # Remembered: no second refusal, plain JSON mode at once.
        assert third.get("format", "json") == "json"
        assert third.get("response_format", {"type": "json_object"}) == {"type": "json_object"}
        assert runtime.client.usage["schema_fallbacks"] == 1


def test_every_error_goes_back_in_one_repair_and_constant_outputs_are_refused() -> None:
    path = CHAT_PATHS["ollama"]
    three_mistakes = {
        "steps": [
            {"id": "s", "tool": "send_sms", "args": {"phone": {"ref": "input.customer"}}},
            {"id": "r", "tool": "no_such_tool", "args": {}},
        ],
        "output": {"sms_sent": {"ref": "s.delivered"}},
    }
    lie = {"steps": [], "output": {"sms_sent": {"value": True}}}
    with LoopbackServer() as server:
        server.script(
            path,
            chat_reply("ollama", three_mistakes),
            chat_reply("ollama", lie),
            chat_reply("ollama", NOTICE_PLAN),
        )
        runtime = runtime_for("ollama", server.url)

        @llm_function_decorator(runtime=runtime)
        def notify(order: Order) -> Notice:
            """Text the customer that the order shipped."""

        order = {"customer": {"name": "Ada", "address": {"street": "s", "zip": "N1"}}, "phone": "1"}
        assert notify(order) == Notice(sms_sent=True)
        requests = server.requests_to(path)
        assert len(requests) == 3
        first_repair = content("ollama", requests[1])
        assert first_repair.startswith("That plan is not valid: 3 problems:\n- ")
        for part in (
            "argument 'phone' expects str, but input.customer is Customer",
            "required field(s) body of SmsIn not provided",
            "unknown tool 'no_such_tool'",
        ):
            assert part in first_repair
        second_repair = content("ollama", requests[2])
        assert "field 'sms_sent' is a constant (true)" in second_repair
        assert notify.workflow is not None and notify.workflow.steps


def test_the_pre_check_lets_deep_fields_and_single_values_through() -> None:
    """Before: ``input.customer.address.zip`` (two levels down) and ``unit: Literal["C"]``
    made the task 'infeasible' without asking the model."""
    path = CHAT_PATHS["ollama"]
    plan = {
        "steps": [
            {"id": "r", "tool": "region_of", "args": {"zip": {"ref": "input.customer.address.zip"}}}
        ],
        "output": {"region": {"ref": "r.region"}, "unit": {"value": "C"}},
    }

    with LoopbackServer() as server:
        server.script(path, chat_reply("ollama", plan))
        runtime = runtime_for("ollama", server.url)

        @llm_function_decorator(runtime=runtime)
        def locate(order: Order) -> Located:
            """The sales region of the customer."""

        order = {"customer": {"name": "Ada", "address": {"street": "s", "zip": "N1"}}, "phone": "1"}
        assert locate(order) == Located(region="north", unit="C")
        server.script(
            path,
            chat_reply(
                "ollama", {"steps": [], "output": {"zip": {"ref": "input.customer.address.zip"}}}
            ),
        )

        @llm_function_decorator(runtime=runtime)
        def postcode(order: Order) -> Deep:
            """The customer's postcode."""

        assert postcode(order) == Deep(zip="N1")
        assert len(server.requests_to(path)) == 2


def test_the_prompt_offers_only_usable_tools_without_titles_and_counts_its_size() -> None:
    path = CHAT_PATHS["openai"]
    with LoopbackServer() as server:
        server.script(path, chat_reply("openai", NOTICE_PLAN))
        runtime = runtime_for("openai", server.url)

        @llm_function_decorator(runtime=runtime)
        def notify(order: Order) -> Notice:
            """Text the customer that the order shipped."""

        notify({"customer": {"name": "Ada", "address": {"street": "s", "zip": "N1"}}, "phone": "1"})
        messages = server.requests_to(path)[0].json["messages"]
        text = "\n".join(m["content"] for m in messages)
        assert "- send_sms:" in text and "- region_of:" in text
        assert "render_map" not in text  # its output (a picture) feeds nothing here
        assert '"title"' not in text
        assert notify.counters["prompt_chars"] == sum(len(m["content"]) for m in messages)
        assert json.loads(text.split("Output schema: ")[1].split("\n")[0]) == {
            "properties": {"sms_sent": {"type": "boolean"}},
            "required": ["sms_sent"],
            "type": "object",
        }
