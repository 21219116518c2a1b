"""``SectionSpec``: what a plugin declares for each section it provides.

Its own module, free of ``pathlib`` and of discovery: the loader builds the section table
from the index cache at warm starts without importing either.
"""

from __future__ import annotations

from typing import Any

import attrs


def _check_section_name(instance: Any, attribute: Any, value: str) -> None:
    if not (isinstance(value, str) and value.isidentifier() and value.isascii() and value == value.lower()):
        raise ValueError(f"A section name must be a lower-case identifier, got {value!r}.")


def _check_default_folder(instance: Any, attribute: Any, value: str | None) -> None:
    if value is None:
        return
    parts = value.replace("\\", "/").split("/") if isinstance(value, str) else None
    if parts is None or ":" in value or any(part in ("", ".", "..") for part in parts):
        raise ValueError(
            f"A section's default folder must be a relative path inside the package (no '..'), got {value!r}."
        )


@attrs.frozen
class SectionSpec:
    """A section a plugin provides: its table name, the type of its resources, its default folder.

    ``default_folder`` is the folder used when a package's ``lllm.toml`` has no table for the
    section (``None`` → the section's name), a relative path inside the package; the folder
    is skipped silently if absent.
    """

    name: str = attrs.field(validator=_check_section_name)
    resource_type: str = attrs.field(validator=attrs.validators.instance_of(str))
    default_folder: str | None = attrs.field(default=None, validator=_check_default_folder)
    description: str = ""
    #: Whether the discovery index cache may keep this section's results. Only sections
    #: whose plugin reads files through ``SectionFolder.files()`` / ``objects_in()`` and builds
    #: lazy nodes from ``lllm.sections.loaders`` functions should set it.
    cacheable: bool = False

    @property
    def folder_name(self) -> str:
        """The default folder's name."""
        return self.default_folder or self.name
