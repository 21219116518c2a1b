"""Auditing the index cache against the truth, for ``lllm check``.

``lllm check`` loads packages without the cache. ``stale_entries`` then loads the same
package through the cache into a throwaway runtime and names every difference: what a warm
start would have hidden (a module that reads an environment variable, the clock or the
network at import, or a data file, is an input the cache cannot see). The index files of the
packages involved are then removed, so the next start discovers them afresh.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lllm.core.runtime import Runtime

if TYPE_CHECKING:
    from lllm._loader import PackageLoader


def _view(runtime: Runtime) -> dict[str, tuple[str, Any]]:
    return {
        node.qualified_key: (node.resource_type, node.metadata.get("file_path"))
        for node in runtime.iter_nodes()
    }


def stale_entries(truth: Runtime, load: Callable[[PackageLoader], object]) -> list[str]:
    """The differences between ``truth`` (packages loaded without the cache) and the same
    packages loaded through the cache by ``load(loader)``, as messages; empty when they agree
    or the cache is off."""
    from lllm._index.location import cache_dir
    from lllm._loader import PackageLoader

    directory = cache_dir()
    if directory is None:
        return []
    cached = Runtime()
    loader = PackageLoader(cached, use_cache=True)
    try:
        load(loader)
    except Exception as exc:  # an error the strict load reported already
        return [f"the cached load failed: {type(exc).__name__}: {exc}"]
    loader.take_problems()  # the strict load reported every problem
    expected, found = _view(truth), _view(cached)
    messages = []
    for key in sorted(expected.keys() - found.keys()):
        messages.append(f"{key} ({expected[key][1] or 'no file'}) is missing from the index cache")
    for key in sorted(found.keys() - expected.keys()):
        messages.append(
            f"{key} ({found[key][1] or 'no file'}) is in the index cache but no longer exists"
        )
    for key in sorted(expected.keys() & found.keys()):
        if expected[key] != found[key]:
            messages.append(f"{key} is cached as {found[key]}, but is {expected[key]}")
    if messages:
        from lllm._index.location import package_file

        for info in truth.packages.values():
            folder = info.base_dir
            if folder is not None and info.alias is None:
                manifest = os.path.realpath(os.path.join(folder, "lllm.toml"))
                try:
                    os.unlink(package_file(directory, manifest))
                except OSError:
                    pass
    return messages
