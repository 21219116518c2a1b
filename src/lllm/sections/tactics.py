"""The ``tactics`` section: ``Tactic`` subclasses with a ``name``, keyed by that name."""

from __future__ import annotations

from typing import Any

from lllm.core.resource import ResourceNode
from lllm.core.tactic import Tactic
from lllm.discovery import SectionFolder, SectionSpec
from lllm.hookspecs import hookimpl


@hookimpl
def lllm_sections() -> list[SectionSpec]:
    """Declare the ``tactics`` section (type ``tactic``)."""
    return [SectionSpec(name="tactics", resource_type="tactic")]


def _is_named_tactic(value: Any) -> bool:
    if not (isinstance(value, type) and issubclass(value, Tactic) and value is not Tactic):
        return False
    name = getattr(value, "name", None)
    return isinstance(name, str) and bool(name)


@hookimpl
def lllm_discover(folder: SectionFolder) -> list[ResourceNode]:
    """One eager node per named tactic class, in walk order, then in module order."""
    nodes: list[ResourceNode] = []
    for file, module in folder.python_modules():
        seen: set[type] = set()
        for value in list(vars(module).values()):
            if not _is_named_tactic(value) or value in seen or not folder.defined_in(value, module):
                continue
            seen.add(value)
            try:
                nodes.append(folder.eager(folder.key(value.name), value, file))
            except ValueError as exc:  # a name that is not a valid key
                folder.report(f"{file}: tactic {value.__name__} skipped: {exc}", file)
    return nodes
