"""llm_function: typed, body-less functions assembled from tools into cached workflows.

    @llm_function(runtime=shared_runtime)
    def get_city_weather(input: WfInputs) -> WfOutputs:
        \"\"\"Get weather for the provided city and prepare a short summary.\"\"\"

Public names are imported on first use: importing the package (which lllm does to reach its
``tools`` and ``workflows`` sections) costs nothing until a name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:  # what type checkers see; at run time the names load on first use
    from llm_function.config import LlmFunctionConfig, LlmRuntimeConfig
    from llm_function.decorator import AsyncLlmFunction, LlmFunction, llm_function
    from llm_function.errors import LlmFunctionError, ToolConflictError
    from llm_function.runtime import LlmFunctionRuntime
    from llm_function.sources import (
        EntryPointToolSource,
        InMemoryToolSource,
        PythonFileToolSource,
        PythonModuleToolSource,
        RuntimeToolSource,
        ToolSource,
    )
    from llm_function.tools import Tool, ToolRegistry, llm_tool
    from llm_function.workflow import Workflow

_EXPORTS: dict[str, str] = {
    "LlmFunctionConfig": "llm_function.config",
    "LlmRuntimeConfig": "llm_function.config",
    "AsyncLlmFunction": "llm_function.decorator",
    "LlmFunction": "llm_function.decorator",
    "llm_function": "llm_function.decorator",
    "LlmFunctionError": "llm_function.errors",
    "ToolConflictError": "llm_function.errors",
    "LlmFunctionRuntime": "llm_function.runtime",
    "EntryPointToolSource": "llm_function.sources",
    "InMemoryToolSource": "llm_function.sources",
    "PythonFileToolSource": "llm_function.sources",
    "PythonModuleToolSource": "llm_function.sources",
    "RuntimeToolSource": "llm_function.sources",
    "ToolSource": "llm_function.sources",
    "Tool": "llm_function.tools",
    "ToolRegistry": "llm_function.tools",
    "llm_tool": "llm_function.tools",
    "Workflow": "llm_function.workflow",
}

__all__ = [
    "AsyncLlmFunction",
    "EntryPointToolSource",
    "InMemoryToolSource",
    "LlmFunction",
    "LlmFunctionConfig",
    "LlmFunctionError",
    "LlmFunctionRuntime",
    "LlmRuntimeConfig",
    "PythonFileToolSource",
    "PythonModuleToolSource",
    "RuntimeToolSource",
    "Tool",
    "ToolConflictError",
    "ToolRegistry",
    "ToolSource",
    "Workflow",
    "llm_function",
    "llm_tool",
]


def __getattr__(name: str) -> object:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'llm_function' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
