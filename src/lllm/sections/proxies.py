"""The ``proxies`` section: ``BaseProxy`` subclasses defined in the folder's ``.py`` files.

A class that sets ``_proxy_path`` itself is keyed by it; any other is keyed by its file's path
(without ``.py``) and its class name, so an inherited ``_proxy_path`` is never reused.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from lllm.core.resource import ResourceNode
from lllm.discovery import SectionFolder, SectionSpec
from lllm.hookspecs import hookimpl
from lllm.proxies.base import BaseProxy


@hookimpl
def lllm_sections() -> list[SectionSpec]:
    """Declare the ``proxies`` section (type ``proxy``)."""
    return [SectionSpec(name="proxies", resource_type="proxy")]


def proxy_key(folder: SectionFolder, file: Path, cls: type) -> str:
    """The key of proxy class ``cls`` found in ``file``."""
    own_path = cls.__dict__.get("_proxy_path")
    if isinstance(own_path, str) and own_path.strip("/"):
        return folder.key(own_path)
    stem = PurePosixPath(folder.relative_path(file)).with_suffix("").as_posix()
    return folder.key(stem, cls.__name__)


def _is_proxy_class(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseProxy) and value is not BaseProxy


@hookimpl
def lllm_discover(folder: SectionFolder) -> list[ResourceNode]:
    """One eager node per proxy class, in walk order, then in module order."""
    nodes: list[ResourceNode] = []
    for file, module in folder.python_modules():
        seen: set[type] = set()
        for value in list(vars(module).values()):
            if not _is_proxy_class(value) or value in seen or not folder.defined_in(value, module):
                continue
            seen.add(value)
            try:
                nodes.append(folder.eager(proxy_key(folder, file, value), value, file))
            except ValueError as exc:  # an invalid _proxy_path
                folder.report(f"{file}: proxy {value.__name__} skipped: {exc}", file)
    return nodes
