"""Configuration objects: ``LlmRuntimeConfig`` (settings) and ``LlmFunctionConfig`` (settings + tools)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from llm_function.settings import LlmHandlerSettings, parse_handler

DEFAULT_MAX_RETRY = 2
DEFAULT_RESET_LOOPS = 0


#: ``"auto"``: plan when no workflow is cached; ``"never"``: only cached, shipped or pinned
#: workflows run, anything else is ``LlmFunctionError(kind="planning_disabled")``.
Planning = Literal["auto", "never"]


class TestParams(BaseModel):
    """Inputs a planned workflow must run on before it is cached.

    ``{"inputs": [<input>, ...]}``, or just the list of inputs. Each input is a dict or an
    instance of the function's input model.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class
    model_config = ConfigDict(extra="forbid")

    inputs: list[Any] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        return {"inputs": list(value)} if isinstance(value, (list, tuple)) else value


class CompareCase(BaseModel):
    """One comparison: the function's ``input`` and the ``expected`` output fields."""

    model_config = ConfigDict(extra="forbid")

    input: Any
    expected: dict[str, Any] = Field(default_factory=dict)


class CompareParams(BaseModel):
    """Cases a planned workflow's outputs must match before it is cached.

    ``cases``: ``[{"input": ..., "expected": {...}}]`` (or just that list); ``fields``: compare
    only these output fields; ``rel_tol``: relative tolerance for numbers.
    """

    model_config = ConfigDict(extra="forbid")

    cases: list[CompareCase] = Field(default_factory=list)
    fields: list[str] | None = None
    rel_tol: float = Field(default=1e-9, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        return {"cases": list(value)} if isinstance(value, (list, tuple)) else value


class UsageLimits(BaseModel):
    """Limits on what one planning may use; ``None`` is no limit.

    No model call starts once a limit is reached (a valid plan in the answer that reached it
    is still used); the planning then fails with ``budget_exceeded``. ``model_calls`` applies
    on top of the cap from ``max_retry`` and ``reset_loops``. Tokens are as the server reports
    them.
    """

    model_config = ConfigDict(extra="forbid")

    model_calls: int | None = Field(default=None, ge=1)
    total_tokens: int | None = Field(default=None, ge=1)
    prompt_tokens: int | None = Field(default=None, ge=1)
    completion_tokens: int | None = Field(default=None, ge=1)


class FunctionOverrides(BaseModel):
    """The settings a decorator may override for one function, validated like the config."""

    model_config = ConfigDict(extra="forbid")

    test_params: TestParams | None = None
    compare_params: CompareParams | None = None
    force_replan: bool | None = None
    max_retry: int | None = Field(default=None, ge=0)
    reset_loops: int | None = Field(default=None, ge=0)
    planning: Planning | None = None
    usage_limits: UsageLimits | None = None
    literal_outputs: bool | list[str] | None = None

    def given(self) -> dict[str, Any]:
        """The overrides that were set."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class LlmRuntimeConfig(BaseModel):
    """Runtime settings.

    - ``llm_handler_params``: ``None`` or ``{"llm_h_type": "schema"}`` plans with the schema
      planner (no model); ``{"llm_h_type": "ollama" | "openai", "llm_h_params": {...}}`` with a
      model; an optional ``"planning_deadline"`` (seconds) bounds one planning. Validated into
      the typed settings of ``llm_function.settings`` (``OllamaSettings``, ``OpenAISettings``…;
      unknown keys are errors: ``LlmFunctionError(kind="config_invalid")`` naming the key).
    - ``storage_path``: folder for cached workflows (``None``: memory only).
    - ``force_replan``: ignore cached workflows on a function's first call in this runtime.
    - ``planning``: ``"auto"`` (plan when needed) or ``"never"`` (only cached, shipped or
      pinned workflows run; ``force_replan`` is then ignored).
    - ``usage_limits``: ``UsageLimits`` (model calls, tokens) for one planning.
    - ``literal_outputs``: output fields a plan may fill with a constant although their type
      admits other values (``True``: all). By default only a type with one value
      (``Literal["C"]``) takes a constant: a plan must not invent what a tool should do.
    - ``max_retry``: repairs per planning conversation (default 2); ``reset_loops``: fresh
      conversations after that (default 0). The model-call cap is their product plus one each.
    - ``test_params``: ``TestParams``, ``{"inputs": [<input>, ...]}`` or a list of inputs, run
      before a workflow is cached.
    - ``compare_params``: ``CompareParams``, ``{"cases": [{"input": {...}, "expected": {...}}],
      "fields": [...], "rel_tol": 1e-9}``: outputs must match before a workflow is cached.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    llm_handler_params: LlmHandlerSettings | None = None
    storage_path: str | Path | None = None
    force_replan: bool = False
    max_retry: int | None = Field(default=None, ge=0)
    reset_loops: int | None = Field(default=None, ge=0)
    compare_params: CompareParams | None = None
    test_params: TestParams | None = None
    planning: Planning = "auto"
    usage_limits: UsageLimits | None = None
    literal_outputs: bool | list[str] = False

    @field_validator("llm_handler_params", mode="before")
    @classmethod
    def _handler(cls, value: Any) -> Any:
        return parse_handler(value)


class LlmFunctionConfig(BaseModel):
    """Everything a ``LlmFunctionRuntime`` is built from.

    ``tool_sources``: tool sources or plain tool functions; ``tool_registry``: an existing
    ``ToolRegistry`` whose tools come first; ``workflows_from``: an lllm ``Runtime`` (or
    ``True`` for lllm's default runtime) whose ``workflows`` section seeds the cache.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    runtime: LlmRuntimeConfig = Field(default_factory=LlmRuntimeConfig)
    tool_sources: list[Any] | None = None
    tool_registry: Any = None
    workflows_from: Any = None
