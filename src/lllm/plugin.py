"""What a plugin author imports: the hook marker and the types the hooks exchange.

    from lllm.plugin import SectionFolder, SectionSpec, hookimpl

See ``lllm.hookspecs`` for the hooks themselves.
"""

from lllm._discovery import SectionFolder, SectionSpec
from lllm.core.resource import ResourceNode
from lllm.hookspecs import hookimpl
from lllm.sections.classes import class_nodes
from lllm.sections.files import FILE_LOADERS, file_nodes, load_file_value

__all__ = [
    "FILE_LOADERS",
    "ResourceNode",
    "SectionFolder",
    "SectionSpec",
    "class_nodes",
    "file_nodes",
    "hookimpl",
    "load_file_value",
]
