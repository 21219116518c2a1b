"""The LLM planner: asks a model for a workflow in JSON, validates it, repairs it.

The model receives the task, the input and output JSON schemas, the tools the task can use
(name, description, input and output schemas; ``title`` keys dropped), the plan format (see
``llm_function.workflow``) and, when the schema planner found one, a candidate plan to
check. Its answer is constrained by the plan's JSON schema (``llm_function.plan_schema``)
when the client takes one. It answers with one JSON object: a workflow, or
``{"impossible": "<reason>"}``. A plan that does not parse, does not validate or fails the
function's tests is sent back with every error found. The number of
model calls per planning is capped at ``(max_retry + 1) * (reset_loops + 1)``: ``max_retry``
repairs per conversation, ``reset_loops`` fresh conversations; an optional deadline bounds
the time.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from llm_function.config import UsageLimits
from llm_function.errors import LlmFunctionError
from llm_function.feasibility import usable_tools
from llm_function.plan_schema import plan_json_schema, strip_nulls
from llm_function.tools import Tool, ToolRegistry
from llm_function.validation import LiteralOutputs, WorkflowInvalid, validate_workflow
from llm_function.workflow import Workflow

SYSTEM_PROMPT = """You assemble workflows of tool calls that implement a typed function.
Answer with ONE JSON object and nothing else, in this form:
{"steps": [{"id": "<identifier>", "tool": "<tool name>", "args": {"<tool input field>": <argument>}}],
 "output": {"<output field>": <argument>}}
An <argument> is one of:
{"ref": "input.<field>"} (a field of the function's input, dotted for nested fields),
{"ref": "<step id>.<field>"} (a field of an earlier step's output),
{"value": <JSON literal>} (a constant),
{"object": {"<field>": <argument>, ...}} (an object built field by field),
{"list": [<argument>, ...]} (a list built item by item),
{"template": "text with {input.<field>} or {<step id>.<field>} in braces"} (a string).
Steps run in order; a step may only refer to the input and to earlier steps; a tool may be
used by several steps with different ids. Provide every required field of every tool input
and of the output; types must match (an int may feed a float; a value that may be null only
feeds an optional field). An output field must come from the input or the tools: never
invent a result with a constant, unless the field's type allows a single value.
If the tools cannot implement the function, answer {"impossible": "<one-sentence reason>"}."""

Tester = Callable[[Workflow], Awaitable[None]]

logger = logging.getLogger("llm_function.planning")


class PlanCounters:
    """Model calls, tokens and prompt size of one planning (the calls are added to the
    function's counters, the prompt size replaces its ``prompt_chars``)."""

    __slots__ = ("model_calls", "prompt_tokens", "completion_tokens", "prompt_chars")

    def __init__(self) -> None:
        self.model_calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.prompt_chars = 0

    @property
    def total_tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens

    def reached(self, limits: UsageLimits | None) -> tuple[str, int, int] | None:
        """The first limit reached, as (name, limit, used), or ``None``."""
        if limits is None:
            return None
        for name in ("model_calls", "total_tokens", "prompt_tokens", "completion_tokens"):
            limit = getattr(limits, name)
            used = getattr(self, name)
            if limit is not None and used >= limit:
                return name, limit, used
        return None


def _without_titles(schema: Any) -> Any:
    """A JSON schema without its ``title`` keys (field names keep theirs)."""
    if isinstance(schema, list):
        return [_without_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    cleaned = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            cleaned[key] = {name: _without_titles(item) for name, item in value.items()}
        else:
            cleaned[key] = _without_titles(value)
    return cleaned


def _schema(model: type[BaseModel]) -> str:
    return json.dumps(
        _without_titles(model.model_json_schema()), separators=(",", ":"), sort_keys=True
    )


def planning_request(
    task: str,
    input_model: type[BaseModel],
    output_model: type[BaseModel],
    tools: Iterable[Tool],
    hint: Workflow | None,
    notes: Sequence[str] = (),
) -> str:
    """The user message asking for a plan; ``tools`` are the ones the task can use, and
    ``hint`` (a plan, possibly partial) and ``notes`` come from the schema planner."""
    lines = [
        f"Function task:\n{task}",
        f"Input schema: {_schema(input_model)}",
        f"Output schema: {_schema(output_model)}",
        "Tools:",
    ]
    for tool in sorted(tools, key=lambda t: t.name):
        lines.append(
            f"- {tool.name}: {tool.description or '(no description)'}\n"
            f"  input schema: {_schema(tool.input_model)}\n  output schema: {_schema(tool.output_model)}"
        )
    if hint is not None and not notes:
        lines.append(
            "A candidate plan found by matching field names and meanings (return it unchanged if it "
            f"does the task, otherwise correct it): {json.dumps(hint.to_json_dict(), separators=(',', ':'))}"
        )
    elif hint is not None:
        lines.append(
            "A partial plan found by matching field names and meanings (complete it, and correct "
            f"it where it is wrong): {json.dumps(hint.to_json_dict(), separators=(',', ':'))}"
        )
    if notes:
        lines.append("Left open by that matching:\n" + "\n".join(f"- {note}" for note in notes))
    return "\n".join(lines)


def parse_reply(text: str) -> dict[str, Any]:
    """The JSON object in a model reply (tolerating a Markdown code fence around it)."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    start, end = stripped.find("{"), stripped.rfind("}")
    if start < 0 or end < start:
        raise ValueError("the answer contains no JSON object")
    data = json.loads(stripped[start : end + 1])
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    return data


class LlmPlanner:
    """Plans with a model; see the module docstring."""

    def __init__(
        self,
        client: Any,
        tools: ToolRegistry,
        *,
        max_retry: int = 2,
        reset_loops: int = 0,
        deadline: float | None = None,
        limits: UsageLimits | None = None,
    ) -> None:
        if max_retry < 0 or reset_loops < 0:
            raise LlmFunctionError(
                "max_retry and reset_loops must be >= 0",
                kind="config_invalid",
                stage="configuration",
            )
        self.client = client
        self.tools = tools
        self.max_retry = max_retry
        self.reset_loops = reset_loops
        self.deadline = deadline
        self.limits = limits

    @property
    def max_model_calls(self) -> int:
        """The hard cap on model calls for one planning."""
        return (self.max_retry + 1) * (self.reset_loops + 1)

    async def plan(
        self,
        task: str,
        input_model: type[BaseModel],
        output_model: type[BaseModel],
        *,
        hint: Workflow | None = None,
        notes: Sequence[str] = (),
        tester: Tester | None = None,
        counters: PlanCounters | None = None,
        literal_outputs: LiteralOutputs = False,
    ) -> Workflow:
        """A validated (and, with ``tester``, tested) workflow, or ``LlmFunctionError``."""
        counters = counters or PlanCounters()
        started = time.monotonic()
        calls = 0
        last_error = "no answer"
        last_reply = ""
        offered = usable_tools(input_model, output_model, self.tools)
        request = planning_request(task, input_model, output_model, offered, hint, notes)
        counters.prompt_chars = len(SYSTEM_PROMPT) + len(request)
        schema = plan_json_schema(input_model, output_model, offered)
        extra: dict[str, Any] = {"schema": schema} if _takes_schema(self.client) else {}
        for _loop in range(self.reset_loops + 1):
            messages: list[dict[str, str]] = [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": request},
            ]
            for _attempt in range(self.max_retry + 1):
                if self.deadline is not None and time.monotonic() - started > self.deadline:
                    raise LlmFunctionError(
                        f"Planning took longer than the deadline of {self.deadline} s.",
                        kind="budget_exceeded",
                        stage="planning",
                        details={
                            "deadline": self.deadline,
                            "model_calls": calls,
                            "last_error": last_error,
                        },
                        workflow_error=last_error,
                    )
                reached = counters.reached(self.limits)
                if reached is not None:
                    name, limit, used = reached
                    raise LlmFunctionError(
                        f"Planning reached its usage limit {name}={limit} ({used} used); last error: {last_error}",
                        kind="budget_exceeded",
                        stage="planning",
                        details={
                            "limit": name,
                            "allowed": limit,
                            "used": used,
                            "model_calls": calls,
                        },
                        workflow_error=last_error,
                    )
                calls += 1
                counters.model_calls += 1
                reply = await self.client.chat(messages, json_mode=True, **extra)
                counters.prompt_tokens += reply.prompt_tokens or 0
                counters.completion_tokens += reply.completion_tokens or 0
                logger.info(
                    "model call %d: %s, %s prompt + %s completion tokens, %d attempt(s)",
                    calls,
                    reply.model or getattr(self.client, "model_name", "?"),
                    reply.prompt_tokens,
                    reply.completion_tokens,
                    reply.attempts,
                )
                last_reply = reply.text
                try:
                    workflow = await self._check(
                        reply.text, input_model, output_model, tester, literal_outputs
                    )
                except _Impossible as exc:
                    raise LlmFunctionError(
                        f"The model says the task is impossible with these tools: {exc}",
                        kind="infeasible",
                        stage="planning",
                        details={"reason": str(exc), "model_calls": calls},
                    ) from None
                except (ValueError, WorkflowInvalid, ValidationError, _TestFailed) as exc:
                    last_error = str(exc)
                    logger.info(
                        "model call %d: the plan is not valid, asking again: %s", calls, exc
                    )
                    messages.append({"role": "assistant", "content": reply.text})
                    messages.append(
                        {
                            "role": "user",
                            "content": f"That plan is not valid: {last_error}\nAnswer with the corrected plan, as one JSON object in the same format.",
                        }
                    )
                    continue
                return workflow
        raise LlmFunctionError(
            f"The model gave no valid plan in {calls} call(s) (the cap is {self.max_model_calls}); last error: {last_error}",
            kind="plan_invalid",
            stage="validation",
            details={
                "model_calls": calls,
                "max_model_calls": self.max_model_calls,
                "last_reply": last_reply,
            },
            workflow_error=last_error,
        )

    async def _check(
        self,
        text: str,
        input_model: type[BaseModel],
        output_model: type[BaseModel],
        tester: Tester | None,
        literal_outputs: LiteralOutputs = False,
    ) -> Workflow:
        try:
            data = parse_reply(text)
        except (ValueError, json.JSONDecodeError) as exc:
            raise ValueError(f"the answer is not valid JSON ({exc})") from None
        data = strip_nulls(data)
        if isinstance(data.get("impossible"), str) and data["impossible"].strip():
            raise _Impossible(data["impossible"])
        data.pop("impossible", None)
        workflow = Workflow.model_validate(data)
        validate_workflow(
            workflow, input_model, output_model, self.tools, literal_outputs=literal_outputs
        )
        if tester is not None:
            try:
                await tester(workflow)
            except LlmFunctionError as exc:
                raise _TestFailed(
                    f"running it on the function's test inputs failed: {exc}"
                ) from None
        return workflow


def _takes_schema(client: Any) -> bool:
    """Whether ``client.chat`` accepts a ``schema`` keyword (a custom client may not)."""
    try:
        parameters = inspect.signature(client.chat).parameters
    except (TypeError, ValueError):
        return False
    return "schema" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


class _Impossible(Exception):
    pass


class _TestFailed(Exception):
    pass
