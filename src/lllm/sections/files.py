"""Helpers shared by the file-based sections (assets, configs and generic file sections).

Not a plugin: ``assets`` and the loader's generic file sections use ``file_nodes``; ``configs``
uses ``load_file_value``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from lllm._discovery import SectionFolder
from lllm.core.resource import ResourceNode
from lllm.sections.loaders import FILE_LOADERS, load_file_value

__all__ = ["FILE_LOADERS", "file_nodes", "load_file_value"]


def file_nodes(
    folder: SectionFolder, keep_suffix: bool = True, *, files: Iterable[Path] | None = None
) -> list[ResourceNode]:
    """One lazy node per file of ``folder`` (or of ``files``, some of its files), in walk
    order, whose value is ``load_file_value``.

    The key is the file's path (with its suffix unless ``keep_suffix`` is false); the node's
    type is the folder's section type, so this serves any file section, not only ``assets``.
    A section that declares ``FILE_LOADERS`` (under any name) gets nodes the index cache can
    keep; for another the loader is a plain callable, discovered every time.
    """
    reference = FILE_LOADERS["file"]
    name = next((n for n, r in folder.section.loaders.items() if r == reference), None)
    return [
        folder.lazy(
            folder.file_key(file, keep_suffix=keep_suffix),
            name if name is not None else functools.partial(load_file_value, file),
            file,
        )
        for file in (folder.files() if files is None else files)
    ]
