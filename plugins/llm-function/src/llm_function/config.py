"""Configuration objects: ``LlmRuntimeConfig`` (settings) and ``LlmFunctionConfig`` (settings + tools)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MAX_RETRY = 2
DEFAULT_RESET_LOOPS = 0


class LlmRuntimeConfig(BaseModel):
    """Runtime settings.

    - ``llm_handler_params``: ``None`` or ``{"llm_h_type": "schema"}`` plans with the schema
      planner (no model); ``{"llm_h_type": "ollama" | "openai", "llm_h_params": {...}}`` with a
      model (see ``llm_function.clients.make_client``); an optional ``"planning_deadline"``
      (seconds) bounds one planning.
    - ``storage_path``: folder for cached workflows (``None``: memory only).
    - ``force_replan``: ignore cached workflows on a function's first call in this runtime.
    - ``max_retry``: repairs per planning conversation (default 2); ``reset_loops``: fresh
      conversations after that (default 0). The model-call cap is their product plus one each.
    - ``test_params``: ``{"inputs": [<input dict>, ...]}`` run before a workflow is cached.
    - ``compare_params``: ``{"cases": [{"input": {...}, "expected": {...}}], "fields": [...],
      "rel_tol": 1e-9}``: outputs must match before a workflow is cached.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    llm_handler_params: dict[str, Any] | None = None
    storage_path: str | Path | None = None
    force_replan: bool = False
    max_retry: int | None = Field(default=None, ge=0)
    reset_loops: int | None = Field(default=None, ge=0)
    compare_params: dict[str, Any] | None = None
    test_params: dict[str, Any] | None = None


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
