"""Loading one section folder through the index cache.

The folder's record is checked against the disk (``freshness.restat``, or a walk when a
folder changed); files whose signature, or the signature of a file their import loaded,
changed are discovered again through ``discover``, and the rest are rebuilt from the record.
Failures are never recorded: a file whose discovery reported a problem, or with a resource
the cache cannot rebuild, is discovered again next time; a folder whose plugin failed, or
whose discovery reported a problem it could not pin on a file, is not recorded at all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from lllm._index.freshness import (
    MISSING,
    current_signature,
    dependency_unchanged,
    restat,
    signature,
    signature_now,
    trusted_time,
)
from lllm._index.nodes import add_cached_nodes, describe_node
from lllm._index.package_index import PackageIndex
from lllm._index.records import FileRecord, FolderRecord
from lllm._walk import walk_stats
from lllm.core.resource import ResourceNode

if TYPE_CHECKING:
    from lllm._imports import Dependency


class FolderContext(NamedTuple):
    """What nodes rebuilt from a folder's record share: what a ``SectionFolder`` of it says."""

    section: str
    root: str
    prefix: str
    namespace: str
    package_root: str
    resource_type: str
    base_metadata: dict[str, Any]
    loaders: Mapping[str, str]
    #: The real folder the walk may not leave through links (an installed package), or ``None``.
    confine: str | None = None


class Discovery(NamedTuple):
    """What discovering some files of a folder found.

    ``problem_files``: files a problem was reported for; ``origins``: ``id(object)`` →
    ``(file, attribute)`` for objects found in Python files; ``dependencies``: file → what
    its import depends on (``lllm._imports.Dependency``); ``module_stats``: file → the
    ``(stat, time)`` its module's code was read with (a module imported earlier in this
    process may be older than the file); ``complete``: ``False`` when a problem could not be
    pinned on a file; ``plugin_failed``: the plugin raised (the folder gives nothing).
    """

    nodes: list[ResourceNode]
    problem_files: set[str]
    origins: Mapping[int, tuple[Any, str]]
    dependencies: Mapping[str, list[Dependency]]
    module_stats: Mapping[str, tuple[os.stat_result, int] | None]
    complete: bool
    plugin_failed: bool = False


NOTHING_FOUND = Discovery([], set(), {}, {}, {}, True)
Reporter = Callable[[str, str, str], None]


def load_folder(
    index: PackageIndex,
    context: FolderContext,
    discover: Callable[[list[str]], Discovery],
    report: Reporter,
) -> list[ResourceNode]:
    """The nodes of one section folder: rebuilt from ``index`` for unchanged files, from
    ``discover(files)`` for the others; the record is brought up to date. What a walk
    skipped is passed to ``report(kind, message, path)``."""
    record = index.folder(context.section, _key(context), context.prefix)
    try:
        return _load(index, context, discover, report, record)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        # A malformed record (what decoding could not check): discover the folder whole.
        return _load(index, context, discover, report, None)


def _key(context: FolderContext) -> str:
    """The folder's path as its record is keyed: a confined walk keeps records of its own."""
    return context.root if context.confine is None else f"{context.root}|confined"


def _load(
    index: PackageIndex,
    context: FolderContext,
    discover: Callable[[list[str]], Discovery],
    report: Reporter,
    record: FolderRecord | None,
) -> list[ResourceNode]:
    seen_at = time.time_ns()
    files = record.files if record is not None else {}
    current = (
        restat(context.root, list(record.dirs), files)
        if record is not None and record.dirs
        else None
    )
    if current is not None:
        dirs = record.dirs  # type: ignore[union-attr]
    else:
        current, walked, skipped = walk_stats(context.root, context.confine)
        for problem in skipped:
            report(problem.kind, problem.message, problem.path)
        dirs = tuple(
            (relative, trusted_time(mtime, seen_at), ctime, inode)
            for relative, mtime, ctime, inode in walked
        )
    dependencies = record.dependencies if record is not None else ()
    changed_dependencies = {
        i for i, entry in enumerate(dependencies) if not dependency_unchanged(*entry)
    }
    changed = []
    for path, relative, st in current:
        entry = files.get(relative)
        if (
            entry is None
            or entry.resources is None
            or entry.signature != current_signature(st)
            or (changed_dependencies and not changed_dependencies.isdisjoint(entry.dependencies))
        ):
            changed.append(path)
    nodes: list[ResourceNode] = []
    if not changed and record is not None and dirs is record.dirs:
        _add_cached(
            nodes, context, [(path, files[relative].resources) for path, relative, _ in current]
        )
        return nodes  # the record stays as it is
    found = discover(changed) if changed else NOTHING_FOUND
    if found.plugin_failed:
        # As without the cache: a plugin that raised gives nothing for the folder.
        index.set_folder(context.section, _key(context), context.prefix, None)
        return []
    by_file: dict[str, list[ResourceNode]] = {path: [] for path in changed}
    complete = found.complete
    for node in found.nodes:
        own = by_file.get(str(node.metadata.get("file_path")))
        if own is None:
            complete = False  # a node of no changed file: nothing to record it under
            nodes.append(node)
        else:
            own.append(node)
    names = {reference: name for name, reference in context.loaders.items()}
    table: dict[
        tuple[str, str], tuple[int, tuple[Any, ...]]
    ] = {}  # (path, module) -> (index, signature)
    new_files: dict[str, FileRecord] = {}
    for path, relative, st in current:
        fresh = by_file.get(path)
        if fresh is None:
            entry = files[relative]
            _add_cached(nodes, context, [(path, entry.resources)])
            used = [
                ((dep_path, module), recorded)
                for dep_path, recorded, module in (dependencies[i] for i in entry.dependencies)
            ]
            new_files[relative] = FileRecord(
                entry.signature, entry.resources, _indexes(table, used)
            )
            continue
        nodes.extend(fresh)
        described = [describe_node(node, found.origins, names) for node in fresh]
        executed = found.module_stats.get(path)
        if (
            path in found.problem_files
            or any(d is None for d in described)
            or (executed is not None and current_signature(executed[0]) != current_signature(st))
        ):
            # A failure, something only the plugin can rebuild, or a module older than its
            # file (imported earlier in this process): discovered again next time.
            new_files[relative] = FileRecord(signature(st, seen_at), None, ())
            continue
        flat = tuple(item for d in described for item in d)  # type: ignore[union-attr]
        # The file itself, and a folder of its name (which would only change the name its
        # module is imported under), are its own signature's business.
        used = [
            ((dep.path, dep.module), _recorded(dep, table))
            for dep in found.dependencies.get(path, ())
            if dep.module or dep.path not in (path, path[:-3])
        ]
        new_files[relative] = FileRecord(signature(st, seen_at), flat, _indexes(table, used))
    if not complete:
        index.set_folder(context.section, _key(context), context.prefix, None)
    else:
        record_dependencies = tuple(
            (path, recorded, module) for (path, module), (_, recorded) in table.items()
        )
        index.set_folder(
            context.section,
            _key(context),
            context.prefix,
            FolderRecord(tuple(dirs), new_files, record_dependencies),
        )
    return nodes


def _add_cached(
    nodes: list[ResourceNode], context: FolderContext, files: list[tuple[str, Any]]
) -> None:
    add_cached_nodes(
        nodes,
        files,
        context.package_root,
        context.namespace,
        context.resource_type,
        context.base_metadata,
        context.loaders,
    )


def _recorded(
    dependency: Dependency, table: dict[tuple[str, str], tuple[int, tuple[Any, ...]]]
) -> tuple[Any, ...]:
    """The signature to record for a dependency found just now."""
    known = table.get((dependency.path, dependency.module))
    if known is not None:
        return known[1]
    if dependency.absent or not dependency.path:
        return MISSING
    if dependency.stat is not None:
        return signature(*dependency.stat)  # as its code was read
    return signature_now(dependency.path)


def _indexes(
    table: dict[tuple[str, str], tuple[int, tuple[Any, ...]]],
    used: list[tuple[tuple[str, str], Any]],
) -> tuple[int, ...]:
    """The indexes of ``used`` ``((path, module), signature)`` entries in ``table``, adding new ones."""
    indexes = []
    for key, recorded in used:
        entry = table.get(key)
        if entry is None:
            entry = table[key] = (len(table), tuple(recorded))
        indexes.append(entry[0])
    return tuple(indexes)
