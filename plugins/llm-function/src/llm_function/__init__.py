"""llm_function: typed, body-less functions assembled from tools into cached workflows.

    @llm_function(runtime=shared_runtime)
    def get_city_weather(input: WfInputs) -> WfOutputs:
        \"\"\"Get weather for the provided city and prepare a short summary.\"\"\"

Public names are imported on first use: importing the package (which lllm does to reach its
``tools`` and ``workflows`` sections) costs nothing until a name is used.
"""

from __future__ import annotations

__version__ = "0.1.0"

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

__all__ = sorted(_EXPORTS)


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
