"""The ``proxies`` section: ``BaseProxy`` subclasses defined in the folder's ``.py`` files.

A class that sets ``_proxy_path`` itself is keyed by it; any other is keyed by its file's path
(without ``.py``) and its class name, so an inherited ``_proxy_path`` is never reused.
"""

from __future__ import annotations

from pathlib import Path

from lllm import BaseProxy
from lllm.plugin import ResourceNode, SectionFolder, SectionSpec, class_nodes, hookimpl


@hookimpl
def lllm_sections() -> list[SectionSpec]:
    """Declare the ``proxies`` section (type ``proxy``)."""
    return [
        SectionSpec(
            name="proxies", resource_type="proxy", discover=discover_proxies, cacheable=True
        )
    ]


def proxy_key(folder: SectionFolder, file: Path, cls: type) -> str:
    """The key of proxy class ``cls`` found in ``file``."""
    own_path = cls.__dict__.get("_proxy_path")
    if isinstance(own_path, str) and own_path.strip("/"):
        return folder.key(own_path)
    return folder.module_key(file, cls.__name__)


def _is_proxy_class(value: type) -> bool:
    return issubclass(value, BaseProxy) and value is not BaseProxy


def discover_proxies(folder: SectionFolder) -> list[ResourceNode]:
    """One eager node per proxy class, in walk order, then in module order."""
    return class_nodes(
        folder, _is_proxy_class, lambda file, cls: proxy_key(folder, file, cls), "proxy"
    )
