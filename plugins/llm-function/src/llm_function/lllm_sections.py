"""The lllm sections this distribution adds, through lllm's ``lllm.plugins`` entry point.

- ``tools`` (type ``tool``): functions marked with ``@llm_tool`` (or ``Tool`` objects) defined
  in the ``.py`` files of a package's ``tools/`` folder; key ``<file path>/<tool name>``.
- ``workflows`` (type ``workflow``): ``.json`` workflow records written by
  ``export_workflow``, read lazily; key = the file path without ``.json``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from lllm.plugin import ResourceNode, SectionFolder, SectionSpec, hookimpl

# The tool machinery (pydantic) is imported only when a package has a tools folder: lllm
# loads this plugin for every package.


def _read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def discover_workflows(folder: SectionFolder) -> list[ResourceNode]:
    """One lazy node per ``.json`` workflow record of the folder."""
    return [
        folder.lazy(folder.file_key(file), functools.partial(_read_json, file), file)
        for file in folder.files(suffixes=(".json",))
    ]


#: Why a file of a ``tools`` folder gives no resource: ``[tools]`` is a common table name
#: (the LLLM framework's ``@tool`` functions and colocated files live there), so a package
#: written for something else must not lose its files without a word.
IGNORED = (
    "{file}: ignored: the [tools] section belongs to the llm_function plugin, which reads "
    "only @llm_tool functions of .py files ({why}); to keep this file, move it to another "
    "section, or load without the plugin (LLLM_DISABLE_PLUGINS=llm_function)"
)


def discover_tools(folder: SectionFolder) -> list[ResourceNode]:
    """One eager node per tool defined in the folder's ``.py`` files; every other file, and
    a ``.py`` file without tools, is reported as ignored."""
    from llm_function.tools import Tool, is_tool

    nodes: list[ResourceNode] = []
    for file in folder.files():
        if file.suffix.lower() != ".py":
            folder.report(IGNORED.format(file=file, why="this is not Python code"), file)
            continue
        tools = folder.objects_in(file, is_tool)
        if not tools:
            folder.report(IGNORED.format(file=file, why="it defines none"), file)
        for function in tools:
            tool = Tool.from_function(function, origin=f"{folder.namespace} ({file})")
            nodes.append(folder.eager(folder.module_key(file, tool.name), tool, file))
    return nodes


@hookimpl
def lllm_sections() -> list[SectionSpec]:
    """Declare the ``tools`` and ``workflows`` sections."""
    return [
        SectionSpec(
            name="tools",
            resource_type="tool",
            discover=discover_tools,
            description="llm_function tools",
        ),
        SectionSpec(
            name="workflows",
            resource_type="workflow",
            discover=discover_workflows,
            description="llm_function workflow records",
        ),
    ]


@hookimpl
def lllm_describe(node: ResourceNode) -> dict[str, Any] | None:
    """What ``lllm show`` prints of a tool: its name, description and input and output
    fields (a tool is built at discovery, so describing it loads nothing)."""
    if node.resource_type != "tool" or not node.is_loaded:
        return None
    tool = node.value
    return {
        "tool": tool.name,
        "description": tool.description or "(none)",
        "input": _fields(tool.input_model),
        "output": _fields(tool.output_model),
    }


def _fields(model: Any) -> dict[str, str]:
    return {
        name: getattr(field.annotation, "__name__", None) or str(field.annotation)
        for name, field in model.model_fields.items()
    }
