"""``Prompt`` (a ``str.format`` template with a path), its tag parser and its message handler.

Creating any of these objects registers nothing: the ``prompts`` section finds module-level
``Prompt`` objects when it walks a package.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from lllm.core.errors import LllmError
from lllm.core.resource import validate_key


class ParseError(LllmError, ValueError):
    """A model's answer could not be parsed; ``missing`` names the required tags it lacks."""

    def __init__(self, message: str, missing: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.missing: tuple[str, ...] = tuple(missing)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.missing))


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


@attrs.define(slots=True)
class DefaultTagParser:
    """Extract ``<tag>…</tag>`` blocks, fenced ```` ```tag ```` blocks and ``<SIGNAL>`` flags.

    ``parse`` returns ``{"raw", "xml_tags", "md_tags", "signal_tags"}``; each tag in
    ``xml_tags`` / ``md_tags`` maps to the stripped contents of all its blocks, in order, and
    each signal tag maps to whether the literal ``<TAG>`` occurs. Required tags are extracted
    even if not listed in ``xml_tags`` / ``md_tags``; one with no block raises ``ParseError``.
    """

    xml_tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)
    md_tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)
    signal_tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)
    required_xml_tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)
    required_md_tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)

    def parse(self, text: str) -> dict[str, Any]:
        """Parse ``text``; raise ``ParseError`` naming every required tag that has no block."""
        xml = {
            tag: [m.strip() for m in _tag_pattern("xml", tag).findall(text)]
            for tag in _union(self.xml_tags, self.required_xml_tags)
        }
        md = {
            tag: [m.strip() for m in _tag_pattern("md", tag).findall(text)]
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
            "raw": text,
            "xml_tags": xml,
            "md_tags": md,
            "signal_tags": {tag: f"<{tag}>" in text for tag in self.signal_tags},
        }


@attrs.define(slots=True)
class DefaultSimpleHandler:
    """The messages sent back to a model after an error or between rounds of function calls.

    Each template is a ``str.format`` string: ``exception_msg`` takes ``{error_message}``,
    ``interrupt_msg`` takes ``{call_results}``, ``interrupt_final_msg`` takes nothing.
    """

    exception_msg: str = "Error: {error_message}. Please fix the problem and answer again."
    interrupt_msg: str = (
        "Here are the results of your function calls:\n{call_results}\n"
        "Continue your task; call more functions if you need to."
    )
    interrupt_final_msg: str = (
        "You have made all the function calls you can. Give your final answer now."
    )

    def on_exception(self, error_message: str) -> str:
        """The message asking the model to fix the error described by ``error_message``."""
        return self.exception_msg.format(error_message=error_message)

    def on_interrupt(self, call_results: str) -> str:
        """The message returning ``call_results`` to the model."""
        return self.interrupt_msg.format(call_results=call_results)

    def on_interrupt_final(self) -> str:
        """The message telling the model to stop calling functions and answer."""
        return self.interrupt_final_msg.format()


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


def _metadata(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return {} if value is None else dict(value)


def _creating_module() -> str | None:
    """The ``__name__`` of the module whose top-level code is running, seen from the caller."""
    frame: Any = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            return frame.f_globals.get("__name__")
        frame = frame.f_back
    return None


@attrs.frozen(slots=True, eq=False, repr=False)
class Prompt:
    """A prompt template stored under ``path``.

    ``prompt`` is a ``str.format`` template (``{{`` and ``}}`` are literal braces). A text whose
    fields are not all named (``{}``, ``{0}``) or cannot be parsed (a lone ``}``, JSON) is not a
    template: it has no ``template_vars`` and renders unchanged. Prompts compare by identity.
    """

    path: str
    prompt: str
    metadata: dict[str, Any] = attrs.field(factory=dict, converter=_metadata)
    parser: Any = None
    handler: Any = None
    _template_vars: tuple[str, ...] | None = attrs.field(default=None, init=False)
    _defined_in_module: str | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        validate_key(self.path)
        # Prompt objects have no __module__: record the module being executed, which is how
        # the prompts section tells a prompt defined in a file from one imported into it.
        object.__setattr__(self, "_defined_in_module", _creating_module())
        if not isinstance(self.prompt, str):
            raise TypeError(
                f"The text of prompt {self.path!r} must be a str, got {type(self.prompt).__name__}."
            )

    @property
    def defined_in_module(self) -> str | None:
        """The name of the module whose top-level code created this prompt (``None`` if none).

        A prompt built by a function called at a module's top level belongs to that module;
        ``extend`` makes a prompt that belongs to the module calling it.
        """
        return self._defined_in_module

    @property
    def template_vars(self) -> tuple[str, ...]:
        """The distinct top-level field names, in order of first appearance."""
        names = self._template_vars
        if names is None:
            names = _template_fields(self.prompt)
            object.__setattr__(self, "_template_vars", names)
        return names

    def __call__(self, **values: Any) -> str:
        """Render the template with ``values`` (extra values are ignored).

        Raises ``ValueError`` listing every variable without a value.
        """
        names = self.template_vars
        if not names:
            return self.prompt
        missing = sorted(name for name in names if name not in values)
        if missing:
            raise ValueError(f"Prompt {self.path!r} is missing values for: {', '.join(missing)}.")
        return self.prompt.format(**values)

    def parse(self, text: str) -> Any:
        """``self.parser.parse(text)`` when a parser is set, else ``text`` unchanged."""
        if self.parser is None:
            return text
        return self.parser.parse(text)

    def extend(self, **changes: Any) -> Prompt:
        """A new prompt with ``changes`` applied; a given ``metadata`` is merged over the old."""
        if "metadata" in changes:
            changes["metadata"] = {**self.metadata, **_metadata(changes["metadata"])}
        return attrs.evolve(self, **changes)

    def __repr__(self) -> str:
        text = self.prompt if len(self.prompt) <= 40 else self.prompt[:40] + "..."
        return f"<Prompt {self.path!r}: {text!r}>"
