"""The workflow validator: references, literals and type compatibility."""

from __future__ import annotations

import enum
from typing import Any, Optional

import pytest
from pydantic import BaseModel, ValidationError

from llm_function.tools import ToolRegistry, llm_tool
from llm_function.validation import WorkflowInvalid, compatible, validate_workflow
from llm_function.workflow import Workflow


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    city: str
    zip: str | None = None


class In(BaseModel):
    name: str
    count: int
    ratio: float
    maybe: int | None = None
    address: Address
    tags: list[str] = []
    color: Color = Color.RED


class Target(BaseModel):
    label: str
    amount: float
    exact: int
    flag: bool = False
    note: str | None = None
    color: Color = Color.BLUE
    items: list[str] = []
    extra: dict[str, Any] = {}


class Out(BaseModel):
    label: str
    amount: float


@llm_tool
def make_target(t: Target) -> Out:
    return Out(label=t.label, amount=t.amount)


TOOLS = ToolRegistry([make_target])


def plan(args: dict[str, Any], output: dict[str, Any] | None = None) -> Workflow:
    return Workflow.model_validate(
        {
            "steps": [{"id": "s1", "tool": "make_target", "args": args}],
            "output": output or {"label": {"ref": "s1.label"}, "amount": {"ref": "s1.amount"}},
        }
    )


BASE = {
    "label": {"ref": "input.name"},
    "amount": {"ref": "input.ratio"},
    "exact": {"ref": "input.count"},
}


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"amount": {"ref": "input.count"}},  # int -> float widening
        {"note": {"ref": "input.address.zip"}},  # Optional -> Optional
        {"label": {"ref": "input.address.city"}},  # nested field
        {"items": {"ref": "input.tags"}},  # list -> list
        {"color": {"ref": "input.color"}},  # enum -> same enum
        {"flag": {"value": True}},
        {"note": {"value": None}},
        {"exact": {"value": 3}},
        {"amount": {"value": 2}},  # int literal into float
        {"amount": {"value": 2.5}},
        {"color": {"value": "red"}},  # enum by value
        {"items": {"value": ["a", "b"]}},
        {"extra": {"value": {"k": [1, {"x": None}]}}},
        {"label": {"value": "fixed"}},
    ],
)
def test_valid_workflows(change: dict[str, Any]) -> None:
    validate_workflow(plan({**BASE, **change}), In, Out, TOOLS)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"exact": {"ref": "input.ratio"}}, "expects int, but input.ratio is float"),
        ({"label": {"ref": "input.count"}}, "expects str"),
        ({"exact": {"ref": "input.maybe"}}, "int | None"),  # may be None into a required int
        ({"label": {"ref": "input.nope"}}, "has no field 'nope'"),
        ({"label": {"ref": "input.address.street"}}, "has no field 'street'"),
        ({"label": {"ref": "s9.label"}}, "not the input or an earlier step"),
        (
            {"label": {"ref": "s1.label"}},
            "not the input or an earlier step",
        ),  # a step cannot use itself
        ({"exact": {"value": "5"}}, "literal '5' for argument 'exact'"),
        ({"exact": {"value": True}}, "literal True"),
        ({"exact": {"value": 1.5}}, "literal 1.5"),
        ({"flag": {"value": 1}}, "literal 1"),
        ({"label": {"value": None}}, "literal None"),
        ({"color": {"value": "green"}}, "literal 'green'"),
        ({"items": {"value": [1, 2]}}, "literal [1, 2]"),
        ({"bogus": {"value": 1}}, "has no field 'bogus'"),
    ],
)
def test_invalid_workflows_name_the_problem(change: dict[str, Any], message: str) -> None:
    with pytest.raises(WorkflowInvalid) as info:
        validate_workflow(plan({**BASE, **change}), In, Out, TOOLS)
    assert message in str(info.value)


def test_missing_required_fields_are_listed() -> None:
    with pytest.raises(WorkflowInvalid, match="exact"):
        validate_workflow(
            plan({"label": {"ref": "input.name"}, "amount": {"ref": "input.ratio"}}), In, Out, TOOLS
        )
    with pytest.raises(WorkflowInvalid, match="output: required field.*amount"):
        validate_workflow(plan(BASE, {"label": {"ref": "s1.label"}}), In, Out, TOOLS)


def test_unknown_tool_and_bad_ids() -> None:
    bad_tool = Workflow.model_validate(
        {"steps": [{"id": "s1", "tool": "nope", "args": {}}], "output": {}}
    )
    with pytest.raises(WorkflowInvalid, match="unknown tool 'nope'"):
        validate_workflow(bad_tool, In, Out, TOOLS)
    for step_id in ("input", "1x", "a-b"):
        wf = Workflow.model_validate(
            {"steps": [{"id": step_id, "tool": "make_target", "args": BASE}], "output": {}}
        )
        with pytest.raises(WorkflowInvalid, match="identifier"):
            validate_workflow(wf, In, Out, TOOLS)
    twice = Workflow.model_validate(
        {"steps": [{"id": "a", "tool": "make_target", "args": BASE}] * 2, "output": {}}
    )
    with pytest.raises(WorkflowInvalid, match="used twice"):
        validate_workflow(twice, In, Out, TOOLS)


@pytest.mark.parametrize(
    "source,target,expected",
    [
        (int, float, True),
        (float, int, False),
        (bool, int, False),
        (int, bool, False),
        (Optional[int], int, False),  # noqa: UP045 (typing.Optional on purpose)
        (int, Optional[int], True),  # noqa: UP045 (typing.Optional on purpose)
        (Optional[int], Optional[float], True),  # noqa: UP045 (typing.Optional on purpose)
        (type(None), Optional[str], True),  # noqa: UP045 (typing.Optional on purpose)
        (list[int], list[float], True),
        (list[str], list[int], False),
        (dict[str, int], dict[str, float], True),
        (Address, Address, True),
        (Address, Out, False),
        (Color, Color, True),
        (str, Color, False),
        (int, int | str, True),
        (int | str, str, False),
        (str, Any, True),
    ],
)
def test_compatibility_table(source: Any, target: Any, expected: bool) -> None:
    assert compatible(source, target) is expected


def test_workflow_json_round_trip_and_readable_steps() -> None:
    wf = plan({**BASE, "flag": {"value": True}, "extra": {"value": {"a": [1, 2.5, None, "x"]}}})
    again = Workflow.model_validate_json(wf.model_dump_json())
    assert again == wf
    assert "s1 = make_target(label=input.name" in wf.readable()
    assert "flag=true" in wf.readable()
    with pytest.raises(ValidationError, match="frozen"):
        wf.steps = ()  # type: ignore[misc]
