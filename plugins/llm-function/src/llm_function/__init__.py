"""llm_function: typed, body-less functions assembled from tools into cached workflows.

    @llm_function(runtime=shared_runtime)
    def get_city_weather(input: WfInputs) -> WfOutputs:
        \"\"\"Get weather for the provided city and prepare a short summary.\"\"\"
"""

__version__ = "0.1.0"

from llm_function.config import LlmFunctionConfig, LlmRuntimeConfig  # noqa: E402
from llm_function.decorator import AsyncLlmFunction, LlmFunction, llm_function  # noqa: E402
from llm_function.errors import LlmFunctionError, ToolConflictError  # noqa: E402
from llm_function.runtime import LlmFunctionRuntime  # noqa: E402
from llm_function.sources import (  # noqa: E402
    EntryPointToolSource,
    InMemoryToolSource,
    PythonFileToolSource,
    PythonModuleToolSource,
    RuntimeToolSource,
    ToolSource,
)
from llm_function.tools import Tool, ToolRegistry, llm_tool  # noqa: E402
from llm_function.workflow import Workflow  # noqa: E402

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
