"""Rendering a ``Prompt``'s template: ``BaseRenderer`` (what a renderer is),
``StringFormatterRenderer`` (the default, ``str.format`` with lllm's rules) and the helpers
``Prompt`` uses to find a template's fields and fill them in.

Public names are imported from ``lllm.core.prompt``, which re-exports them.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

__all__ = ["BaseRenderer", "StringFormatterRenderer"]


def _template_fields(text: str) -> tuple[str, ...]:
    """The top-level ``str.format`` field names of ``text``; ``()`` if it is not a template."""
    import string

    formatter = string.Formatter()
    names: dict[str, None] = {}
    pending = [text]
    try:
        while pending:
            # Fields nested in a format spec ("{x:{width}}") are template variables too.
            for _, field, spec, _ in formatter.parse(pending.pop(0)):
                if field is None:
                    continue
                name = field.partition(".")[0].partition("[")[0]
                if not name.isidentifier():
                    return ()
                names.setdefault(name, None)
                if spec and "{" in spec:
                    pending.append(spec)
    except ValueError:
        return ()
    return tuple(names)


def _format(text: str, names: tuple[str, ...], values: Mapping[str, Any], owner: str) -> str:
    if not names:
        return text
    missing = sorted(name for name in names if name not in values)
    if missing:
        raise ValueError(f"{owner} is missing values for: {', '.join(missing)}.")
    return text.format(**values)


class BaseRenderer(abc.ABC):
    """What a ``Prompt``'s ``renderer`` is: ``render(template, **values)`` returns the text.

    Subclass it to use another template engine; calling the prompt calls ``render``.
    """

    __slots__ = ()

    @abc.abstractmethod
    def render(self, prompt: str, **kwargs: Any) -> str:
        """The text of the template ``prompt`` filled in with ``kwargs``."""


class StringFormatterRenderer(BaseRenderer):
    """The default renderer: ``str.format``, with lllm's rules.

    Missing values raise ``ValueError`` listing them all; extra values are ignored; a text
    that is not a template of named fields (no fields, ``{}``/``{0}``, unparsable braces such
    as JSON) is returned unchanged.
    """

    __slots__ = ()

    def render(self, prompt: str, **kwargs: Any) -> str:
        """Render ``prompt`` with ``kwargs`` by the rules above."""
        return _format(prompt, _template_fields(prompt), kwargs, "The template")

    def __repr__(self) -> str:
        return "StringFormatterRenderer()"


_STRING_FORMATTER = StringFormatterRenderer()


def _renderer(value: Any) -> Any:
    return _STRING_FORMATTER if value is None else value
