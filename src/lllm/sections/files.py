"""Helpers shared by the file-based sections (assets, configs and generic file sections).

Not a plugin: ``assets`` and the loader's generic file sections use ``file_nodes``; ``configs``
uses ``load_file_value``.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

from lllm.core.resource import ResourceNode
from lllm.discovery import SectionFolder


def load_file_value(path: Path) -> Any:
    """The value of a data file: ``.json``, ``.yaml``/``.yml`` and ``.toml`` parsed, else ``bytes``."""
    path = Path(path)
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if suffix == ".json":
        import json

        return json.loads(data)
    if suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(data)
    if suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:
            import tomli as tomllib

        return tomllib.loads(data.decode("utf-8"))
    return data


def file_nodes(folder: SectionFolder, keep_suffix: bool = True) -> list[ResourceNode]:
    """One lazy node per file of ``folder``, in walk order, whose value is ``load_file_value``.

    The key is the file's path (with its suffix unless ``keep_suffix`` is false); the node's
    type is the folder's section type, so this serves any file section, not only ``assets``.
    """
    return [
        folder.lazy(
            folder.file_key(file, keep_suffix=keep_suffix),
            functools.partial(load_file_value, file),
            file,
        )
        for file in folder.files()
    ]
