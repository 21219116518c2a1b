"""What the framework's agent loop uses around a prompt: ``DefaultSimpleHandler`` (the
messages sent back to a model after an error or between rounds of tool calls), the record of
an agent call (``AgentCallState``, also named ``AgentCallSession``) and ``AgentException``.
lllm stores and builds these; it runs no agent loop. ``BaseHandler``, whose methods take and
return a ``Prompt``, is defined beside ``Prompt`` in ``lllm.core.prompt``.

Public names are imported from ``lllm.core.prompt``, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "AgentCallSession",
    "AgentCallState",
    "AgentException",
    "DefaultSimpleHandler",
]


@attrs.define(slots=True)
class DefaultSimpleHandler:
    """The messages sent back to a model after an error or between rounds of function calls.

    Each template is a ``str.format`` string: ``exception_msg`` takes ``{error_message}``,
    ``interrupt_msg`` takes ``{call_results}``, ``interrupt_final_msg`` takes nothing.
    """

    exception_msg: str = "Error: {error_message}. Please fix the problem and answer again."
    interrupt_msg: str = (
        "Here are the results of your function calls:\n{call_results}\n"
        "Continue your task; call more functions if you need to."
    )
    interrupt_final_msg: str = (
        "You have made all the function calls you can. Give your final answer now."
    )

    def on_exception(self, error_message: str) -> str:
        """The message asking the model to fix the error described by ``error_message``."""
        return self.exception_msg.format(error_message=error_message)

    def on_interrupt(self, call_results: str) -> str:
        """The message returning ``call_results`` to the model."""
        return self.interrupt_msg.format(call_results=call_results)

    def on_interrupt_final(self) -> str:
        """The message telling the model to stop calling functions and answer."""
        return self.interrupt_final_msg.format()


class AgentException(Exception):
    """An error inside an agent call (the framework's agent loop raises it); ``message`` and
    ``detail`` are kept as given."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


def _total(records: Mapping[Any, list[Any]]) -> int:
    return sum(len(items) for items in records.values())


@attrs.define(slots=True)
class AgentCallState:
    """The record of one agent call that the framework hands to handlers: its limits and what
    happened at each step (``exception_retries``, ``interrupts`` and ``llm_recalls`` map a
    step to a list). lllm runs no agent calls; handler code that reads one type-checks and
    can be tested with a state it builds."""

    agent_name: str
    max_exception_retry: int
    max_interrupt_steps: int
    max_llm_recall: int
    exception_retries: dict[Any, list[Any]] = attrs.field(factory=dict)
    interrupts: dict[Any, list[Any]] = attrs.field(factory=dict)
    llm_recalls: dict[Any, list[Any]] = attrs.field(factory=dict)
    state: str = "initial"

    @property
    def exception_retries_count(self) -> int:
        """How many exceptions were recorded, over all steps."""
        return _total(self.exception_retries)

    @property
    def llm_recalls_count(self) -> int:
        """How many model recalls were recorded, over all steps."""
        return _total(self.llm_recalls)

    @property
    def reach_max_exception_retry(self) -> bool:
        """Whether the exception budget is spent."""
        return self.exception_retries_count >= self.max_exception_retry

    @property
    def reach_max_llm_recall(self) -> bool:
        """Whether the recall budget is spent."""
        return self.llm_recalls_count >= self.max_llm_recall

    @property
    def reach_max_interrupt_steps(self) -> bool:
        """Whether as many tool-call steps as allowed were taken."""
        return len(self.interrupts) >= self.max_interrupt_steps


#: The name later framework versions give ``AgentCallState``.
AgentCallSession = AgentCallState
