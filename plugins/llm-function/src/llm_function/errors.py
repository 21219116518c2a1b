"""``LlmFunctionError``: every failure of planning or execution."""

from __future__ import annotations

from typing import Any

#: The kinds of failure, for ``LlmFunctionError.kind``.
KINDS = (
    "infeasible",  # no workflow can produce the output from the input and tools
    "plan_invalid",  # the planner's workflow failed validation (after repairs)
    "tool_failed",  # a tool raised or returned something its output model rejects
    "llm_unavailable",  # the model could not be reached or answered garbage, after retries
    "budget_exceeded",  # the model-call cap or the planning deadline was reached
    "test_failed",  # the workflow failed the function's test_params / compare_params
    "config_invalid",  # the runtime or decorator configuration is wrong
    "planning_disabled",  # planning="never" and no cached, shipped or pinned workflow
    "timeout",  # a call's own timeout passed while it waited (planning or an async tool)
)


class LlmFunctionError(RuntimeError):
    """A planned function failed.

    ``kind`` says what went wrong (see ``KINDS``), ``stage`` where (``"planning"``,
    ``"validation"``, ``"execution"``, ``"testing"``, ``"configuration"``), ``details`` is a
    dict of facts (the tool, the step, the field, the model's answer…) and ``workflow_error``
    the validator's or executor's message when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        stage: str,
        details: dict[str, Any] | None = None,
        workflow_error: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.stage = stage
        self.details = dict(details or {})
        self.workflow_error = workflow_error

    def __reduce__(self) -> Any:
        return (_rebuild, (str(self), self.kind, self.stage, self.details, self.workflow_error))


def _rebuild(
    message: str, kind: str, stage: str, details: dict[str, Any], workflow_error: str | None
) -> LlmFunctionError:
    return LlmFunctionError(
        message, kind=kind, stage=stage, details=details, workflow_error=workflow_error
    )


class ToolConflictError(ValueError):
    """Two different tools share one name; the message names both origins."""
