"""The plan language: objects, lists, templates, a tool used twice, constants in the output."""

from __future__ import annotations

import enum
from typing import Literal

import pytest
from pydantic import BaseModel

from llm_function.executor import CompiledWorkflow
from llm_function.tools import ToolRegistry, llm_tool
from llm_function.validation import WorkflowInvalid, validate_workflow, workflow_errors
from llm_function.workflow import Workflow


class Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Address(BaseModel):
    street: str
    zip: str


class Customer(BaseModel):
    name: str
    phone: str
    address: Address
    nickname: str | None = None


class OrderIn(BaseModel):
    customer: Customer
    amount_eur: float
    level: Level = Level.LOW


class Recipient(BaseModel):
    phone: str
    name: str


class SmsIn(BaseModel):
    recipients: list[Recipient]
    body: str


class SmsOut(BaseModel):
    delivered: bool
    count: int


class ConvertIn(BaseModel):
    amount: float
    currency: str


class ConvertOut(BaseModel):
    converted: float


SENT: list[SmsIn] = []


@llm_tool
def send_sms(request: SmsIn) -> SmsOut:
    """Send an SMS to every recipient."""
    SENT.append(request)
    return SmsOut(delivered=True, count=len(request.recipients))


RATES = {"USD": 1.1, "GBP": 0.85}


@llm_tool
def convert(request: ConvertIn) -> ConvertOut:
    """Convert euros into another currency."""
    return ConvertOut(converted=round(request.amount * RATES[request.currency], 2))


TOOLS = ToolRegistry([send_sms, convert])


class Notice(BaseModel):
    sms_sent: bool
    usd: float
    gbp: float
    label: str


def notice_plan(**changes: object) -> Workflow:
    data: dict = {
        "steps": [
            {
                "id": "sms",
                "tool": "send_sms",
                "args": {
                    "recipients": {
                        "list": [
                            {
                                "object": {
                                    "phone": {"ref": "input.customer.phone"},
                                    "name": {"ref": "input.customer.name"},
                                }
                            }
                        ]
                    },
                    "body": {
                        "template": "Dear {input.customer.name}, {input.amount_eur} EUR ({input.level}) {{ok}}"
                    },
                },
            },
            {
                "id": "usd",
                "tool": "convert",
                "args": {"amount": {"ref": "input.amount_eur"}, "currency": {"value": "USD"}},
            },
            {
                "id": "gbp",
                "tool": "convert",
                "args": {"amount": {"ref": "input.amount_eur"}, "currency": {"value": "GBP"}},
            },
        ],
        "output": {
            "sms_sent": {"ref": "sms.delivered"},
            "usd": {"ref": "usd.converted"},
            "gbp": {"ref": "gbp.converted"},
            "label": {"template": "{input.customer.address.zip}: {sms.count} sent"},
        },
    }
    data.update(changes)
    return Workflow.model_validate(data)


ORDER = OrderIn(
    customer=Customer(name="Ada", phone="+44 1", address=Address(street="Main", zip="N1")),
    amount_eur=100.0,
    level=Level.HIGH,
)


def test_objects_lists_templates_and_a_tool_used_twice_validate_and_run() -> None:
    workflow = notice_plan()
    validate_workflow(workflow, OrderIn, Notice, TOOLS)
    SENT.clear()
    result = CompiledWorkflow(workflow, Notice, TOOLS).run_sync(ORDER, lambda c: None)
    assert result == Notice(sms_sent=True, usd=110.0, gbp=85.0, label="N1: 1 sent")
    assert SENT == [
        SmsIn(
            recipients=[Recipient(phone="+44 1", name="Ada")],
            body="Dear Ada, 100.0 EUR (high) {ok}",
        )
    ]
    assert workflow.tool_names() == ["send_sms", "convert"]
    again = Workflow.model_validate_json(workflow.model_dump_json())
    assert again == workflow
    assert 'body=f"Dear {input.customer.name}' in workflow.readable()


def _one_step_with(args: dict) -> Workflow:
    return Workflow.model_validate(
        {
            "steps": [{"id": "sms", "tool": "send_sms", "args": args}],
            "output": {
                "sms_sent": {"ref": "sms.delivered"},
                "usd": {"ref": "input.amount_eur"},
                "gbp": {"ref": "input.amount_eur"},
                "label": {"ref": "input.customer.name"},
            },
        }
    )


GOOD_RECIPIENTS = {"list": [{"ref": "input.customer"}]}


@pytest.mark.parametrize(
    "args,message",
    [
        (
            {
                "recipients": {"object": {"phone": {"ref": "input.customer.phone"}}},
                "body": {"value": "x"},
            },
            "expects list[Recipient]; an object builds a model or a dict",
        ),
        (
            {
                "recipients": {"list": [{"object": {"phone": {"ref": "input.customer.phone"}}}]},
                "body": {"value": "x"},
            },
            "required field(s) name of Recipient not provided",
        ),
        (
            {
                "recipients": {
                    "list": [
                        {"object": {"phone": {"ref": "input.amount_eur"}, "name": {"value": "a"}}}
                    ]
                },
                "body": {"value": "x"},
            },
            "argument 'phone' expects str, but input.amount_eur is float",
        ),
        (
            {"recipients": GOOD_RECIPIENTS, "body": {"template": "Hi {input.customer.nickname}"}},
            "{input.customer.nickname} is str | None",
        ),
        (
            {"recipients": GOOD_RECIPIENTS, "body": {"template": "Hi {input.customer}"}},
            "{input.customer} is Customer",
        ),
        (
            {"recipients": GOOD_RECIPIENTS, "body": {"template": "Hi {input.customer.name"}},
            "unpaired or empty brace",
        ),
        (
            {"recipients": GOOD_RECIPIENTS, "body": {"list": [{"value": "x"}]}},
            "argument 'body' expects str; a list builds a list",
        ),
        (
            {"recipients": GOOD_RECIPIENTS, "body": {"template": "Hi {nowhere.name}"}},
            "'nowhere' is not the input or an earlier step",
        ),
    ],
)
def test_built_arguments_are_checked_part_by_part(args: dict, message: str) -> None:
    # A Customer is not a Recipient, so the list must be built field by field.
    assert "expects Recipient, but input.customer is Customer" in "\n".join(
        workflow_errors(
            _one_step_with({"recipients": GOOD_RECIPIENTS, "body": {"value": "x"}}),
            OrderIn,
            Notice,
            TOOLS,
        )
    )
    errors = workflow_errors(_one_step_with(args), OrderIn, Notice, TOOLS)
    assert any(message in error for error in errors), errors


def test_every_problem_is_reported_at_once() -> None:
    workflow = Workflow.model_validate(
        {
            "steps": [
                {"id": "a", "tool": "nope", "args": {}},
                {"id": "b", "tool": "convert", "args": {"amount": {"ref": "input.customer.name"}}},
            ],
            "output": {"usd": {"ref": "a.converted"}, "gbp": {"ref": "b.converted"}},
        }
    )
    with pytest.raises(WorkflowInvalid) as info:
        validate_workflow(workflow, OrderIn, Notice, TOOLS)
    text = str(info.value)
    assert text.startswith("4 problems:\n- ")
    for part in (
        "unknown tool 'nope'",
        "argument 'amount' expects float, but input.customer.name is str",
        "required field(s) currency of ConvertIn not provided",
        "output: required field(s) sms_sent, label of Notice not provided",
    ):
        assert part in text
    assert "a.converted" not in text  # a step of an unknown tool is reported once, not per use


class Sent(BaseModel):
    sms_sent: bool


class Weather(BaseModel):
    temp_c: float
    unit: Literal["C"]


class One(enum.Enum):
    ONLY = "only"


class Tagged(BaseModel):
    tag: One
    nothing: None = None


def test_a_constant_output_needs_a_single_valued_type_or_consent() -> None:
    all_literal = Workflow.model_validate({"steps": [], "output": {"sms_sent": {"value": True}}})
    with pytest.raises(WorkflowInvalid, match="field 'sms_sent' is a constant"):
        validate_workflow(all_literal, OrderIn, Sent, TOOLS)
    # Built constants are constants too.
    built = Workflow.model_validate(
        {"steps": [], "output": {"sms_sent": {"value": True}, "label": {"template": "done"}}}
    )
    assert len(workflow_errors(built, OrderIn, Notice, TOOLS, literal_outputs=["sms_sent"])) == 2
    validate_workflow(all_literal, OrderIn, Sent, TOOLS, literal_outputs=True)
    validate_workflow(all_literal, OrderIn, Sent, TOOLS, literal_outputs=["sms_sent"])
    # The README's {"unit": {"value": "C"}}: its type admits one value.
    readme = Workflow.model_validate(
        {
            "steps": [
                {
                    "id": "c",
                    "tool": "convert",
                    "args": {"amount": {"ref": "input.amount_eur"}, "currency": {"value": "USD"}},
                }
            ],
            "output": {"temp_c": {"ref": "c.converted"}, "unit": {"value": "C"}},
        }
    )
    validate_workflow(readme, OrderIn, Weather, TOOLS)
    single = Workflow.model_validate(
        {"steps": [], "output": {"tag": {"value": "only"}, "nothing": {"value": None}}}
    )
    validate_workflow(single, OrderIn, Tagged, TOOLS)
