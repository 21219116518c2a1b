"""The ``assets`` section: every file of the folder, loaded lazily, keyed by its path with suffix."""

from __future__ import annotations

from lllm.core.resource import ResourceNode
from lllm.discovery import SectionFolder, SectionSpec
from lllm.hookspecs import hookimpl
from lllm.sections.files import FILE_LOADERS, file_nodes


@hookimpl
def lllm_sections() -> list[SectionSpec]:
    """Declare the ``assets`` section (type ``asset``)."""
    return [SectionSpec(name="assets", resource_type="asset", cacheable=True, loaders=FILE_LOADERS)]


@hookimpl
def lllm_discover(folder: SectionFolder) -> list[ResourceNode]:
    """One lazy node per file: ``.json``, ``.yaml``/``.yml``, ``.toml`` parsed, others ``bytes``."""
    return file_nodes(folder)
