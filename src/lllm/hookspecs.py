"""The hook specifications of lllm (pluggy project ``"lllm"``).

A plugin is a module or object with functions marked ``@hookimpl`` and named after the hooks
below. lllm finds plugins through the entry-point group ``lllm.plugins``; its own sections
(prompts, proxies, tactics, configs, assets) are plugins registered the same way. Every hook
is called through pluggy, so ``tryfirst``/``trylast``, hook wrappers
(``@hookimpl(wrapper=True)``) and tracing (``LLLM_TRACE_PLUGINS=1``) work as pluggy documents.

A section whose ``discover`` function finds its resources is a minimal plugin::

    from lllm.plugin import SectionSpec, hookimpl

    def discover_datasets(folder):
        return [folder.lazy(folder.file_key(f), lambda f=f: f.read_text(), f)
                for f in folder.files(suffixes=(".csv",))]

    @hookimpl
    def lllm_sections():
        return [SectionSpec(name="datasets", resource_type="dataset",
                            discover=discover_datasets)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from lllm.plugin import ResourceNode, SectionFolder, SectionSpec

PROJECT_NAME = "lllm"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def lllm_sections() -> Sequence[SectionSpec]:  # type: ignore[empty-body]
    """Declare the sections this plugin provides.

    Called once per plugin, right after the plugin is loaded, which happens the first time a
    package is loaded in the process (or when plugins are listed). Takes no arguments.

    Return a sequence of ``SectionSpec`` (name, resource type, ``discover`` function, default
    folder). A section name can be claimed by one plugin only: two plugins claiming one
    section is an error naming both. A manifest table with that name (``[datasets]``) or,
    when the table is absent, the section's default folder in a package, is then discovered
    by the section's ``discover`` function (through the ``lllm_discover`` hook). A plugin
    with several sections gives each its own function.
    """


@hookspec(firstresult=True)
def lllm_discover(folder: SectionFolder) -> Iterable[ResourceNode] | None:
    """Discover the resources of one section folder of one package.

    Called through pluggy once for every folder listed for a section in a package's
    ``lllm.toml`` (or its default folder), for every section. lllm's own implementation runs
    last and calls the section's ``discover`` function (``folder.section.discover``); so a
    plugin rarely implements this hook itself. It may, to wrap every discovery
    (``@hookimpl(wrapper=True)``: time it, filter or add nodes) or to take over a folder: the
    first implementation that returns something other than ``None`` decides, so an
    implementation returns ``None`` for folders it leaves alone.

    ``folder`` gives the folder's path, the package, the key prefix and helpers: ``files()``
    walks the folder with lllm's skip rules in sorted order, ``objects_in(file, predicate)``
    imports a Python file once per process and returns what it defines, and
    ``lazy()``/``eager()`` build nodes with the right namespace and metadata;
    ``folder.options`` holds the other keys of the section's table in ``lllm.toml``.

    Return the ``ResourceNode`` objects found, in walk order. Do not register them: the
    loader does, after checking for duplicate keys. Prefer lazy nodes for anything read from
    a file, so that loading a package reads no file contents. An exception is a problem of
    this folder (a ``LoadProblem`` of kind ``plugin``, a warning): the folder gives no
    resources this time, and the plugin keeps working for every other folder.

    For a section declared ``cacheable=True``, the index cache keeps the results per file:
    later calls may see, through ``folder.files()``, only the files that are new or changed
    since the last discovery (or whose imports changed). Such a plugin promises that each
    resource depends on its own file only; the cache can keep objects found with
    ``objects_in()`` and lazy nodes made with a loader the section declares
    (``folder.lazy(key, "loader name", file)``, see ``SectionSpec.loaders``). A file with any
    other node, or one a problem was reported for, is discovered again every time.
    """


@hookspec(firstresult=True)
def lllm_describe(node: ResourceNode) -> Mapping[str, Any] | None:
    """Describe one resource for people: what ``lllm show`` prints and ``lllm ls --json`` adds.

    Called through pluggy for one resource at a time (the first implementation that returns
    something other than ``None`` decides), by ``lllm show`` once the resource's value is
    loaded, and by ``lllm ls --json`` for every resource, loaded or not, when any listed
    resource comes from a plugin other than lllm's built-ins (a listing of built-in resources
    only imports no plugin). Return ``None`` for
    resources you do not describe (check ``node.resource_type``), else a mapping of labels to
    what to show: a string is printed as it is (on lines of its own when it has several),
    anything else as JSON. Read the value only when ``node.is_loaded`` is true: a listing
    must not load anything; ``node.metadata`` is always there. ``lllm show`` falls back to
    its own display (prompts, configs, classes, the value as JSON) when no plugin describes
    the resource, and shows what ``lllm show`` would otherwise when the hook raises.
    """
