"""Sections whose resources are classes defined in Python files (proxies, tactics, …)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lllm._discovery import SectionFolder
from lllm.core.resource import ResourceNode


def class_nodes(
    folder: SectionFolder,
    is_wanted: Callable[[Any], bool],
    key_of: Callable[[Path, type], str],
    kind: str,
) -> list[ResourceNode]:
    """Eager nodes for the wanted classes defined in the folder's ``.py`` files, in walk order.

    ``key_of(file, cls)`` gives each key; a class whose key is invalid is reported (naming
    the file, the ``kind`` of resource and the class) and skipped.
    """
    nodes: list[ResourceNode] = []
    for file in folder.files(suffixes=(".py",)):
        for cls in folder.objects_in(
            file, lambda value: isinstance(value, type) and is_wanted(value)
        ):
            try:
                nodes.append(folder.eager(key_of(file, cls), cls, file))
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a class's own attributes may raise anything
                folder.report(
                    f"{file}: {kind} {type.__getattribute__(cls, '__name__')} skipped: {type(exc).__name__}: {exc}",
                    file,
                )
    return nodes
