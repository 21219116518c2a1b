"""The ``assets`` section: every file of the folder, loaded lazily, keyed by its path with suffix."""

from __future__ import annotations

from lllm.plugin import FILE_LOADERS, SectionSpec, file_nodes, hookimpl


@hookimpl
def lllm_sections() -> list[SectionSpec]:
    """Declare the ``assets`` section (type ``asset``): one lazy node per file, ``.json``,
    ``.yaml``/``.yml`` and ``.toml`` parsed, others ``bytes``."""
    return [
        SectionSpec(
            name="assets",
            resource_type="asset",
            discover=file_nodes,
            cacheable=True,
            loaders=FILE_LOADERS,
        )
    ]
