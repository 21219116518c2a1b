"""A section no plugin claims (``[schemas]``, ``[data]``, …), read as the LLLM framework reads one.

Not a plugin: the loader uses ``discover_generic`` for every manifest table no plugin claims.
Every file but Python code is a lazy file resource keyed by its path with its suffix (see
``file_nodes``). Every ``.py`` file is imported as a module of the package, and the
``Prompt`` objects, tool ``Function`` objects, ``BaseProxy`` subclasses and named ``Tactic``
subclasses it defines are resources of the section, keyed as in their own sections
(``module/path``; a tool ``module/name``, or ``module`` alone when the tool is named like its
file; the proxy's path; the tactic's name). All are of the section's type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lllm._discovery import SectionFolder
from lllm.core.prompt import Function, Prompt
from lllm.core.resource import ResourceNode
from lllm.proxies.base import BaseProxy
from lllm.sections.files import file_nodes
from lllm.sections.proxies import proxy_key
from lllm.sections.tactics import is_tactic_resource, tactic_key

#: Python code and its compiled forms: never a file resource of a generic section.
PYTHON_SUFFIXES = (".py", ".pyc", ".pyo")


def _is_resource(value: Any) -> bool:
    if isinstance(value, (Prompt, Function)):
        return True
    if not isinstance(value, type):
        return False
    if issubclass(value, BaseProxy):
        return value is not BaseProxy
    return is_tactic_resource(value)


def _key(folder: SectionFolder, file: Path, value: Any) -> str:
    if isinstance(value, Prompt):
        return folder.module_key(file, value.path)
    if isinstance(value, Function):
        if value.name == file.stem:
            return folder.module_key(file)
        return folder.module_key(file, value.name)
    if issubclass(value, BaseProxy):
        return proxy_key(folder, file, value)
    return tactic_key(folder, file, value)


def discover_generic(folder: SectionFolder) -> list[ResourceNode]:
    """The file resources and the Python-defined resources of one generic section folder."""
    files = folder.files()
    nodes = file_nodes(
        folder, files=[f for f in files if not f.name.lower().endswith(PYTHON_SUFFIXES)]
    )
    for file in files:
        if file.suffix.lower() != ".py":
            continue
        for value in folder.objects_in(file, _is_resource):
            try:
                nodes.append(folder.eager(_key(folder, file, value), value, file))
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a resource's own attributes may raise anything
                folder.report(f"{file}: a resource skipped: {type(exc).__name__}: {exc}", file)
    return nodes
