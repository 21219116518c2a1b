"""Resources to and from the records of an index file.

A cached resource is four items: its key, the name of its loader, an attribute and extra
metadata. The loader is either ``PYTHON`` (a module-level object of a Python file, found by
``SectionFolder.objects_in``: ``attribute`` names it and the file is imported on first
access) or a loader the section declared (``SectionSpec.loaders``), looked up in the cached
section table, so a record names no code of its own. Paths and namespaces come from the
folder being loaded, never from the record.
"""

from __future__ import annotations

import marshal
from collections.abc import Iterable, Mapping
from typing import Any

from lllm.core.resource import PYTHON_LOADER, REFERENCE_LOADER, ResourceNode

#: The loader name of module-level Python objects (not an identifier: no declared loader has it).
PYTHON = ":python"
STANDARD_METADATA = ("file_path", "package", "section", "plugin")


def describe_node(
    node: ResourceNode, origins: Mapping[int, tuple[Any, str]], names: Mapping[str, str]
) -> tuple[Any, ...] | None:
    """``(key, loader name, attribute, extra metadata)`` for a freshly discovered node, or
    ``None`` when the node cannot be rebuilt from a record (its file is then not cached).

    ``origins`` maps ``id(object)`` to ``(file, attribute)`` for the objects discovery found
    in Python files; ``names`` maps each declared loader's reference to its name.
    """
    file = node.metadata.get("file_path")
    extra = {k: v for k, v in node.metadata.items() if k not in STANDARD_METADATA}
    if extra:
        try:
            marshal.dumps(extra)
        except ValueError:
            return None
    if not node.is_loaded:
        reference = node.loader_reference
        if reference is not None and reference in names:
            return (node.key, names[reference], None, extra or None)
        return None
    origin = origins.get(id(node.value))
    if origin is None or str(origin[0]) != file:
        return None
    return (node.key, PYTHON, origin[1], extra or None)


def add_cached_nodes(
    nodes: list[ResourceNode],
    files: Iterable[tuple[str, tuple[Any, ...] | None]],
    package_root: str,
    namespace: str,
    resource_type: str,
    base_metadata: dict[str, Any],
    loaders: Mapping[str, str],
) -> None:
    """Append to ``nodes`` the lazy nodes that cached files describe.

    ``files`` gives ``(path, resources)`` per file (four items per resource, see the module
    doc); ``loaders`` is the section's declared loaders. Anything malformed raises
    ``ValueError`` or the error its use gives (``TypeError``...): the caller then discovers
    the folder instead. Keys are checked here. Each node has its own metadata dict, as after
    discovery.
    """
    lazy = ResourceNode._lazy_unchecked
    append = nodes.append
    keys: list[str] = []
    add_key = keys.append
    references = {name: (REFERENCE_LOADER, reference) for name, reference in loaders.items()}
    for file, resources in files:
        if resources is None or len(resources) % 4:
            raise ValueError("malformed resource list")
        shared = {"file_path": file, **base_metadata}
        alone = len(resources) == 4  # a file of several resources gives each its own metadata
        items = iter(resources)
        for key, name, attribute, extra in zip(items, items, items, items, strict=True):
            if name == PYTHON and type(attribute) is str and attribute:
                loader: tuple[str, ...] = (PYTHON_LOADER, file, package_root, attribute)
            else:
                loader = references[name]  # KeyError: a loader the section does not declare
            add_key(key)
            if extra:
                if type(extra) is not dict:
                    raise ValueError("malformed metadata")
                append(lazy(key, namespace, resource_type, {**shared, **extra}, loader))
            else:
                append(
                    lazy(key, namespace, resource_type, shared if alone else dict(shared), loader)
                )
    if keys:
        _check_keys(keys)


def _check_keys(keys: list[str]) -> None:
    """``ValueError`` unless every key is valid (see ``validate_key``), checked in one pass:
    keys joined by NUL, which no valid key boundary can hide (``TypeError`` for a non-string)."""
    text = "\0" + "\0".join(keys) + "\0"
    if ":" in text or "//" in text or "\0/" in text or "/\0" in text or "\0\0" in text:
        raise ValueError("malformed key")
