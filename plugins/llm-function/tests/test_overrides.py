"""Test and compare parameters, typed (issue 15, bug 6): the original package's list shape
works, and decorator overrides are validated like the configuration, with errors naming
the field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from llm_function import LlmFunctionConfig, LlmFunctionError, LlmRuntimeConfig, llm_function
from llm_function.config import CompareParams, TestParams


class Pair(BaseModel):
    a: int
    b: int


class Total(BaseModel):
    total: int


seen: list[tuple[int, int]] = []


def add(pair: Pair) -> Total:
    """Add two numbers."""
    seen.append((pair.a, pair.b))
    return Total(total=pair.a + pair.b)


def adder(**overrides: Any):
    @llm_function(tools=[add], **overrides)
    def total(pair: Pair) -> Total:
        """Add a and b."""

    return total


@pytest.mark.parametrize(
    "test_params",
    [[{"a": 1, "b": 2}, Pair(a=3, b=4)], {"inputs": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}],
    ids=["list", "dict"],
)
def test_test_params_as_a_list_or_a_dict_run_before_caching(test_params: Any) -> None:
    seen.clear()
    total = adder(test_params=test_params)
    assert total({"a": 10, "b": 20}) == Total(total=30)
    assert seen == [(1, 2), (3, 4), (10, 20)]  # the tests first, then the call
    assert total.counters["tool_calls"] == 3
    total.runtime.close()


def test_test_params_as_a_list_in_the_runtime_config() -> None:
    config = LlmRuntimeConfig(test_params=[{"a": 1, "b": 1}])
    assert config.test_params == TestParams(inputs=[{"a": 1, "b": 1}])
    seen.clear()

    @llm_function(config=LlmFunctionConfig(runtime=config, tool_sources=[add]))
    def total(pair: Pair) -> Total:
        """Add a and b."""

    assert total({"a": 2, "b": 2}).total == 4
    assert seen == [(1, 1), (2, 2)]
    total.runtime.close()


def test_compare_params_as_a_list_of_cases() -> None:
    good = adder(compare_params=[{"input": {"a": 1, "b": 2}, "expected": {"total": 3}}])
    assert good({"a": 5, "b": 5}).total == 10
    good.runtime.close()
    bad = adder(compare_params=[{"input": {"a": 1, "b": 2}, "expected": {"total": 4}}])
    with pytest.raises(LlmFunctionError) as caught:
        bad({"a": 5, "b": 5})
    assert caught.value.kind == "test_failed" and caught.value.details["field"] == "total"
    bad.runtime.close()


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"test_params": {"inputz": []}}, "inputz"),
        ({"test_params": "a, b"}, "test_params"),
        ({"compare_params": {"cases": [{"input": {}, "expectd": {}}]}}, "expectd"),
        ({"compare_params": {"rel_tol": -1}}, "rel_tol"),
        ({"max_retry": -1}, "max_retry"),
        ({"reset_loops": "many"}, "reset_loops"),
        ({"force_replan": "sometimes"}, "force_replan"),
    ],
)
def test_bad_decorator_overrides_are_errors_naming_the_field(
    overrides: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        adder(**overrides)
    assert named in str(caught.value)
    with pytest.raises(ValidationError) as caught_config:
        LlmRuntimeConfig(**overrides)
    assert named in str(caught_config.value)


def test_typed_params_objects_are_accepted() -> None:
    seen.clear()
    total = adder(
        test_params=TestParams(inputs=[{"a": 0, "b": 1}]),
        compare_params=CompareParams(cases=[{"input": {"a": 2, "b": 2}, "expected": {"total": 4}}]),
    )
    assert total({"a": 1, "b": 1}).total == 2
    assert seen == [(0, 1), (2, 2), (1, 1)]
    total.runtime.close()
