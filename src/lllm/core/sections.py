"""The section registry: which section name holds each resource type.

The runtime uses it to turn a typed ``pkg:path`` lookup into ``pkg.<section>:path``. Built-in
types are known from the start; plugins declare more. A type nobody declared takes the section
of the first namespace it is registered under (``my_pkg.datasets`` → ``dataset`` lives in
``datasets``), and failing that its own name, the rule of generic file sections.
"""

from __future__ import annotations

BUILTIN_SECTIONS: dict[str, str] = {
    "prompt": "prompts",
    "proxy": "proxies",
    "tactic": "tactics",
    "config": "configs",
    "asset": "assets",
}

#: Sections tried, in order, for an untyped bare key under the default namespace.
UNTYPED_FALLBACK_SECTIONS: tuple[str, ...] = ("prompts", "tools", "proxies", "tactics", "configs")


class SectionRegistry:
    """Maps resource types to section names and back, for one runtime."""

    def __init__(self) -> None:
        self._section_of_type: dict[str, str] = dict(BUILTIN_SECTIONS)
        self._type_of_section: dict[str, str] = {s: t for t, s in BUILTIN_SECTIONS.items()}

    def declare(self, section: str, resource_type: str) -> None:
        """Record that ``section`` holds resources of ``resource_type``.

        A type keeps the first section declared for it; a section keeps its first type.
        """
        self._section_of_type.setdefault(resource_type, section)
        self._type_of_section.setdefault(section, resource_type)

    def learn_from_namespace(self, namespace: str, resource_type: str) -> None:
        """Declare the section of ``namespace`` for ``resource_type`` if the type is still unknown."""
        if resource_type in self._section_of_type:
            return
        dot = namespace.rfind(".")
        if dot >= 0:
            self.declare(namespace[dot + 1 :], resource_type)

    def section_for(self, resource_type: str) -> str:
        """The section name that holds ``resource_type`` (its own name when undeclared)."""
        return self._section_of_type.get(resource_type, resource_type)

    def type_for(self, section: str) -> str | None:
        """The resource type held in ``section``, or ``None`` when undeclared."""
        return self._type_of_section.get(section)

    def copy(self) -> SectionRegistry:
        """An independent copy."""
        other = SectionRegistry()
        other._section_of_type = dict(self._section_of_type)
        other._type_of_section = dict(self._type_of_section)
        return other

    def items(self) -> list[tuple[str, str]]:
        """``(resource_type, section)`` pairs, sorted by type."""
        return sorted(self._section_of_type.items())
