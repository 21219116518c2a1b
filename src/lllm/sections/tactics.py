"""The ``tactics`` section: ``Tactic`` subclasses with a ``name``, keyed by that name.

A class declared ``class Base(Tactic, register=False)`` (its own ``__lllm_register__`` is
false) is a shared base and is never registered.
"""

from __future__ import annotations

from pathlib import Path

from lllm import Tactic
from lllm.plugin import ResourceNode, SectionFolder, SectionSpec, class_nodes, hookimpl


@hookimpl
def lllm_sections() -> list[SectionSpec]:
    """Declare the ``tactics`` section (type ``tactic``)."""
    return [
        SectionSpec(
            name="tactics", resource_type="tactic", discover=discover_tactics, cacheable=True
        )
    ]


def is_tactic_resource(value: type) -> bool:
    """Whether class ``value`` is a tactic to register: a named subclass not declared ``register=False``."""
    if not issubclass(value, Tactic) or value is Tactic:
        return False
    if value.__dict__.get("__lllm_register__", True) is False:
        return False
    name = getattr(value, "name", None)
    return isinstance(name, str) and bool(name)


def tactic_key(folder: SectionFolder, file: Path, cls: type) -> str:
    """The key of tactic class ``cls`` found in ``file``: its ``name`` under the folder's prefix."""
    return folder.key(str(getattr(cls, "name")))  # noqa: B009 - cls is any class


def discover_tactics(folder: SectionFolder) -> list[ResourceNode]:
    """One eager node per tactic class to register, in walk order, then in module order."""
    return class_nodes(
        folder, is_tactic_resource, lambda file, cls: tactic_key(folder, file, cls), "tactic"
    )
