"""The parsers a ``Prompt`` can carry: ``BaseParser`` (what a parser is) and
``DefaultTagParser`` (the framework's tag extractor), which raises ``ParseError`` (defined in
``lllm.core.const``) when a required tag is missing.

Public names are imported from ``lllm.core.prompt``, which re-exports them.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from lllm.core.const import ParseError

__all__ = ["BaseParser", "DefaultTagParser"]


def _tags(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tag for group in groups for tag in group))


@functools.lru_cache(maxsize=256)
def _tag_pattern(kind: str, tag: str) -> Any:
    import re

    escaped = re.escape(tag)
    if kind == "xml":
        return re.compile(f"<{escaped}>(.*?)</{escaped}>", re.DOTALL)
    # A fenced block opened by ```tag; the lookahead keeps ```python from matching tag "py".
    return re.compile(f"```{escaped}(?![\\w.+-])(.*?)```", re.DOTALL)


class BaseParser(abc.ABC):
    """What a ``Prompt``'s ``parser`` is: an object whose ``parse`` turns a model's answer into
    a result (a dict for the framework's parsers) or raises ``ParseError``."""

    __slots__ = ()

    @abc.abstractmethod
    def parse(self, content: str, **runtime_args: Any) -> Any:
        """Parse ``content``; ``runtime_args`` are whatever the caller passes along."""


def _subclass_fields(cls: type) -> frozenset[str]:
    """The names the subclasses of ``DefaultTagParser`` between ``cls`` and it annotate."""
    import inspect

    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is DefaultTagParser:
            break
        for name, annotation in inspect.get_annotations(klass).items():
            if "ClassVar" not in str(annotation):
                names.add(name)
    return frozenset(names)


@attrs.define(slots=True, init=False)
class DefaultTagParser(BaseParser):
    """Extract ``<tag>…</tag>`` blocks, fenced ```` ```tag ```` blocks and ``<SIGNAL>`` flags.

    ``parse`` returns ``{"raw", "xml_tags", "md_tags", "signal_tags"}``; each tag in
    ``xml_tags`` / ``md_tags`` maps to the stripped contents of all its blocks, in order, and
    each signal tag maps to whether the literal ``<TAG>`` occurs. Required tags are extracted
    even if not listed in ``xml_tags`` / ``md_tags``; one with no block raises ``ParseError``.

    Each tag argument is a tag or an iterable of tags (kept as a tuple). ``parser_args`` is a
    dict of settings for subclasses; other keyword arguments are kept too: one that a
    subclass declares with an annotation (``threshold: float = 0.5``) becomes that attribute,
    any other goes into ``parser_args``.
    """

    xml_tags: tuple[str, ...] = attrs.field(converter=_tags)
    md_tags: tuple[str, ...] = attrs.field(converter=_tags)
    signal_tags: tuple[str, ...] = attrs.field(converter=_tags)
    required_xml_tags: tuple[str, ...] = attrs.field(converter=_tags)
    required_md_tags: tuple[str, ...] = attrs.field(converter=_tags)
    parser_args: dict[str, Any] = attrs.field(converter=dict)

    def __init__(
        self,
        xml_tags: Iterable[str] | str = (),
        md_tags: Iterable[str] | str = (),
        signal_tags: Iterable[str] | str = (),
        required_xml_tags: Iterable[str] | str = (),
        required_md_tags: Iterable[str] | str = (),
        parser_args: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        declared = _subclass_fields(type(self)) if extra else frozenset()
        own = {name: extra.pop(name) for name in list(extra) if name in declared}
        self.__attrs_init__(
            xml_tags,
            md_tags,
            signal_tags,
            required_xml_tags,
            required_md_tags,
            {**(parser_args or {}), **extra},
        )
        for name, value in own.items():
            setattr(self, name, value)

    def parse(self, content: str, **runtime_args: Any) -> dict[str, Any]:
        """Parse ``content``; raise ``ParseError`` naming every required tag that has no block.

        ``runtime_args`` are accepted for subclasses and ignored here.
        """
        xml = {
            tag: [m.strip() for m in _tag_pattern("xml", tag).findall(content)]
            for tag in _union(self.xml_tags, self.required_xml_tags)
        }
        md = {
            tag: [m.strip() for m in _tag_pattern("md", tag).findall(content)]
            for tag in _union(self.md_tags, self.required_md_tags)
        }
        missing_xml = [tag for tag in self.required_xml_tags if not xml[tag]]
        missing_md = [tag for tag in self.required_md_tags if not md[tag]]
        if missing_xml or missing_md:
            described = [f"<{tag}>...</{tag}>" for tag in missing_xml]
            described += [f"```{tag} ... ``` block" for tag in missing_md]
            raise ParseError(
                "The response is missing required tags: " + ", ".join(described),
                (*missing_xml, *missing_md),
            )
        return {
            "raw": content,
            "xml_tags": xml,
            "md_tags": md,
            "signal_tags": {tag: f"<{tag}>" in content for tag in self.signal_tags},
        }
