"""The ``prompts`` section: ``Prompt`` objects of ``.py`` files and ``.md``/``.txt`` templates.

A module-level ``Prompt`` defined in ``greet.py`` with path ``hello`` is keyed ``greet/hello``
(eager: importing the module built it). A text file ``greet/hello.md`` is keyed ``greet/hello``
and read lazily: it is the template, and optional YAML front matter between two ``---`` lines
at its top gives the prompt's metadata.
"""

from __future__ import annotations

from pathlib import Path

from lllm import Prompt
from lllm.plugin import ResourceNode, SectionFolder, SectionSpec, hookimpl

TEXT_SUFFIXES = (".md", ".txt")


@hookimpl
def lllm_sections() -> list[SectionSpec]:
    """Declare the ``prompts`` section (type ``prompt``)."""
    return [
        SectionSpec(
            name="prompts",
            resource_type="prompt",
            discover=discover_prompts,
            cacheable=True,
            loaders={"text": "lllm.sections.loaders:text_prompt"},
        )
    ]


def _text_node(folder: SectionFolder, file: Path) -> ResourceNode:
    return folder.lazy(folder.file_key(file), "text", file)


def discover_prompts(folder: SectionFolder) -> list[ResourceNode]:
    """The prompts of the folder's ``.py``, ``.md`` and ``.txt`` files, in walk order."""
    nodes: list[ResourceNode] = []
    for file in folder.files(suffixes=(".py", *TEXT_SUFFIXES)):
        if file.suffix.lower() == ".py":
            for prompt in folder.objects_in(file, lambda value: isinstance(value, Prompt)):
                try:
                    nodes.append(folder.eager(folder.module_key(file, prompt.path), prompt, file))
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # a Prompt subclass may raise anything
                    folder.report(f"{file}: a prompt skipped: {type(exc).__name__}: {exc}", file)
        else:
            nodes.append(_text_node(folder, file))
    return nodes
