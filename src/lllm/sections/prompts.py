"""The ``prompts`` section: ``Prompt`` objects of ``.py`` files and ``.md``/``.txt`` templates.

A module-level ``Prompt`` defined in ``greet.py`` with path ``hello`` is keyed ``greet/hello``
(eager: importing the module built it). A text file ``greet/hello.md`` is keyed ``greet/hello``
and read lazily: it is the template, and optional YAML front matter between two ``---`` lines
at its top gives the prompt's metadata.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from lllm.core.prompt import Prompt
from lllm.core.resource import ResourceNode
from lllm.discovery import SectionFolder, SectionSpec
from lllm.hookspecs import hookimpl

TEXT_SUFFIXES = (".md", ".txt")
FRONT_MATTER_FENCE = "---"


@hookimpl
def lllm_sections() -> list[SectionSpec]:
    """Declare the ``prompts`` section (type ``prompt``)."""
    return [SectionSpec(name="prompts", resource_type="prompt")]


def split_front_matter(text: str, file: Path | str) -> tuple[dict[str, Any], str]:
    """Split ``text`` into its YAML front matter (a mapping, ``{}`` if none) and its body.

    Front matter starts at a first line that is exactly ``---`` and ends at the next line
    that is exactly ``---``. Raises ``ValueError`` naming ``file`` when it is unterminated,
    is not valid YAML or is not a mapping.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != FRONT_MATTER_FENCE:
        return {}, text
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r\n") == FRONT_MATTER_FENCE:
            break
    else:
        raise ValueError(f"{file}: the front matter opened by '---' on line 1 is never closed.")
    import yaml

    try:
        metadata = yaml.safe_load("".join(lines[1:index]))
    except yaml.YAMLError as exc:
        raise ValueError(f"{file}: invalid YAML front matter: {exc}") from exc
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise ValueError(f"{file}: the front matter must be a mapping, got {type(metadata).__name__}.")
    return metadata, "".join(lines[index + 1 :])


def load_text_prompt(path: Path, key: str) -> Prompt:
    """Read a ``.md``/``.txt`` prompt file (UTF-8) into a ``Prompt`` with path ``key``."""
    text = Path(path).read_text(encoding="utf-8").removeprefix("\ufeff")
    metadata, body = split_front_matter(text, path)
    return Prompt(path=key, prompt=body, metadata=metadata)


def _text_node(folder: SectionFolder, file: Path) -> ResourceNode:
    key = folder.file_key(file)
    return folder.lazy(key, functools.partial(load_text_prompt, file, key), file)


@hookimpl
def lllm_discover(folder: SectionFolder) -> list[ResourceNode]:
    """The prompts of the folder's ``.py``, ``.md`` and ``.txt`` files, in walk order."""
    nodes: list[ResourceNode] = []
    for file in folder.files(suffixes=(".py", *TEXT_SUFFIXES)):
        if file.suffix.lower() == ".py":
            for prompt in folder.objects_in(file, lambda value: isinstance(value, Prompt)):
                nodes.append(folder.eager(folder.module_key(file, prompt.path), prompt, file))
        else:
            nodes.append(_text_node(folder, file))
    return nodes
