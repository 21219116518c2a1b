"""The ``tactics`` section: ``Tactic`` subclasses with a ``name``, keyed by that name."""

from __future__ import annotations

from typing import Any

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


def _is_named_tactic(value: type) -> bool:
    name = getattr(value, "name", None)
    return (
        issubclass(value, Tactic) and value is not Tactic and isinstance(name, str) and bool(name)
    )


def _name(tactic: Any) -> str:
    return str(tactic.name)


def discover_tactics(folder: SectionFolder) -> list[ResourceNode]:
    """One eager node per named tactic class, in walk order, then in module order."""
    return class_nodes(folder, _is_named_tactic, lambda file, cls: folder.key(_name(cls)), "tactic")
