"""``SectionSpec``: what a plugin declares for each section it provides.

Its own module, free of ``pathlib`` and of discovery: the loader builds the section table
from the index cache at warm starts without importing either.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any

import attrs


def _check_section_name(instance: Any, attribute: Any, value: str) -> None:
    if not (
        isinstance(value, str)
        and value.isidentifier()
        and value.isascii()
        and value == value.lower()
    ):
        raise ValueError(f"A section name must be a lower-case identifier, got {value!r}.")


def _check_default_folder(instance: Any, attribute: Any, value: str | None) -> None:
    if value is None:
        return
    parts = value.replace("\\", "/").split("/") if isinstance(value, str) else None
    if parts is None or ":" in value or any(part in ("", ".", "..") for part in parts):
        raise ValueError(
            f"A section's default folder must be a relative path inside the package (no '..'), got {value!r}."
        )


def _check_loaders(instance: Any, attribute: Any, value: Mapping[str, str]) -> None:
    for name, reference in value.items():
        module, colon, function = (
            reference.partition(":") if isinstance(reference, str) else ("", "", "")
        )
        if not (isinstance(name, str) and name.isidentifier()):
            raise ValueError(f"A loader name must be an identifier, got {name!r}.")
        if not (
            colon
            and all(p.isidentifier() for p in module.split("."))
            and all(p.isidentifier() for p in function.split("."))
        ):
            raise ValueError(
                f"Loader {name!r} must be a 'module:function' reference, got {reference!r}."
            )


def foreign_loaders(loaders: Mapping[str, str], package: str) -> list[str]:
    """The references in ``loaders`` outside ``package`` (a top-level package name) and lllm:
    a plugin may only declare its own functions, or lllm's."""
    return [
        r
        for r in loaders.values()
        if r.partition(":")[0].partition(".")[0] not in ("lllm", package)
    ]


def _loader_table(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return types.MappingProxyType(dict(value or {}))


def _check_discover(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and not callable(value):
        raise TypeError(
            f"Section {instance.name!r}: discover must be a function taking a SectionFolder, got {value!r}."
        )


@attrs.frozen
class SectionSpec:
    """A section a plugin provides: its table name, the type of its resources, its default
    folder, and the function that discovers its resources.

    ``discover(folder)`` is called with a ``SectionFolder`` for every folder of the section in
    a package and returns the ``ResourceNode`` objects found there (see the ``lllm_discover``
    hook, which calls it). ``default_folder`` is the folder used when a package's
    ``lllm.toml`` has no table for the section (``None`` → the section's name), a relative
    path inside the package; the folder is skipped silently if absent.
    """

    name: str = attrs.field(validator=_check_section_name)
    resource_type: str = attrs.field(validator=attrs.validators.instance_of(str))
    #: ``discover(folder) -> Iterable[ResourceNode] | None``. ``None`` only in the copies
    #: the loader rebuilds from the index cache; a plugin's section must have one.
    discover: Callable[[Any], Any] | None = attrs.field(
        default=None, kw_only=True, validator=_check_discover, eq=False, repr=False
    )
    default_folder: str | None = attrs.field(default=None, validator=_check_default_folder)
    description: str = ""
    #: Whether the discovery index cache may keep this section's results: the plugin
    #: promises that each resource depends on its own file only (see docs/plugins.md). What
    #: the cache can record are objects found by ``SectionFolder.objects_in`` and lazy nodes
    #: made with a declared loader (``loaders``); a file with any other node is discovered
    #: every time.
    cacheable: bool = False
    #: Named loaders of the section's lazy resources: name → ``"module:function"``. The
    #: function is called with the node on first access of its value
    #: (``SectionFolder.lazy(key, "name", file)``) and imported only then.
    loaders: Mapping[str, str] = attrs.field(
        factory=dict, converter=_loader_table, validator=_check_loaders, hash=False
    )

    def loader_reference(self, name: str) -> str:
        """The reference of the declared loader ``name`` (``ValueError`` naming the known ones)."""
        try:
            return self.loaders[name]
        except KeyError:
            known = ", ".join(sorted(self.loaders)) or "none"
            raise ValueError(
                f"Section {self.name!r} declares no loader named {name!r} (declared: {known})."
            ) from None

    @property
    def folder_name(self) -> str:
        """The default folder's name."""
        return self.default_folder or self.name
