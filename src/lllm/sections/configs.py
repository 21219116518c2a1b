"""The ``configs`` section: ``.yaml``, ``.yml``, ``.json`` and ``.toml`` mappings, loaded lazily."""

from __future__ import annotations

from lllm.plugin import ResourceNode, SectionFolder, SectionSpec, hookimpl

CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml")


@hookimpl
def lllm_sections() -> list[SectionSpec]:
    """Declare the ``configs`` section (type ``config``)."""
    return [
        SectionSpec(
            name="configs",
            resource_type="config",
            discover=discover_configs,
            cacheable=True,
            loaders={"config": "lllm.sections.loaders:config_value"},
        )
    ]


def discover_configs(folder: SectionFolder) -> list[ResourceNode]:
    """One lazy node per config file, keyed by its path without the suffix."""
    return [
        folder.lazy(folder.file_key(file), "config", file)
        for file in folder.files(suffixes=CONFIG_SUFFIXES, private=True)
    ]
