"""The ``configs`` section: ``.yaml``, ``.yml``, ``.json`` and ``.toml`` mappings, loaded lazily."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from lllm.core.resource import ResourceNode
from lllm.discovery import SectionFolder, SectionSpec
from lllm.hookspecs import hookimpl
from lllm.sections.files import load_file_value

CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml")


@hookimpl
def lllm_sections() -> list[SectionSpec]:
    """Declare the ``configs`` section (type ``config``)."""
    return [SectionSpec(name="configs", resource_type="config")]


def load_config(path: Path) -> dict[str, Any]:
    """Parse a config file; it must hold a mapping (an empty YAML file is ``{}``).

    Raises ``ValueError`` naming the file when the content is not a mapping.
    """
    value = load_file_value(path)
    if value is None and Path(path).suffix.lower() in (".yaml", ".yml"):
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"Config file {path} must contain a mapping, got {type(value).__name__}.")
    return value


@hookimpl
def lllm_discover(folder: SectionFolder) -> list[ResourceNode]:
    """One lazy node per config file, keyed by its path without the suffix."""
    return [
        folder.lazy(folder.file_key(file), functools.partial(load_config, file), file)
        for file in folder.files(suffixes=CONFIG_SUFFIXES)
    ]
