"""The ``datasets`` section, registered through lllm's ``lllm.plugins`` entry point.

``datasets`` (type ``dataset``, default folder ``datasets/``): every ``.csv`` and ``.jsonl``
file of the folder, at any depth (hidden and ``_`` names skipped), is one lazy resource whose
key is the file's path without its suffix (``datasets/nested/events.jsonl`` →
``nested/events``, after any ``[datasets] paths`` prefix). Discovery reads no file content.

Metadata: the standard ``file_path``, ``package``, ``section`` and ``plugin``, plus ``format``
(``"csv"`` or ``"jsonl"``) from discovery, and ``rows`` and ``columns``, filled in when the
value is first loaded (absent before).
"""

from __future__ import annotations

from typing import Any

from lllm.plugin import ResourceNode, SectionFolder, SectionSpec, hookimpl
from lllm_datasets.readers import FORMATS, format_of


def discover_datasets(folder: SectionFolder) -> list[ResourceNode]:
    """One lazy ``dataset`` node per ``.csv``/``.jsonl`` file of ``folder``, in walk order.

    A file whose path is not a valid key (``a:b.csv``) is reported and skipped, so the
    folder's other files still load.
    """
    nodes: list[ResourceNode] = []
    for file in folder.files(suffixes=tuple(FORMATS)):
        try:
            nodes.append(
                folder.lazy(folder.file_key(file), "records", file, format=format_of(file))
            )
        except ValueError as exc:
            folder.report(f"{file}: skipped: {exc}", file)
    return nodes


#: The section this plugin provides. Its one loader, ``records``, is named here so that
#: lllm's index cache can keep the section: warm starts rebuild its nodes without importing
#: this plugin, and the loader is imported on first access of a value.
SECTION = SectionSpec(
    name="datasets",
    resource_type="dataset",
    discover=discover_datasets,
    default_folder="datasets",
    description="records of .csv and .jsonl files",
    cacheable=True,
    loaders={"records": "lllm_datasets.readers:load_dataset_node"},
)


@hookimpl
def lllm_sections() -> list[SectionSpec]:
    """Declare the ``datasets`` section."""
    return [SECTION]


#: How many records ``lllm show`` prints of a dataset.
PREVIEW_RECORDS = 5


@hookimpl
def lllm_describe(node: ResourceNode) -> dict[str, Any] | None:
    """What ``lllm show`` prints of a dataset (its format, size and first records) and
    ``lllm ls --json`` lists (its format; rows and columns once loaded)."""
    if node.resource_type != SECTION.resource_type:
        return None
    described: dict[str, Any] = {"format": node.metadata.get("format")}
    if node.is_loaded:
        records = node.value
        described["rows"] = len(records)
        described["columns"] = node.metadata.get("columns")
        described["first records"] = records[:PREVIEW_RECORDS]
    return described
