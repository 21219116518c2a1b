"""Compatibility module for packages written for the LLLM framework: config helpers,
``load_package`` and ``find_config_file`` where its users import them."""

from __future__ import annotations

import os
from pathlib import Path

from lllm._configs import deep_merge, resolve_config, vendor_config
from lllm._loader import load_package
from lllm.core.lookups import load_config

__all__ = [
    "deep_merge",
    "find_config_file",
    "load_config",
    "load_package",
    "resolve_config",
    "vendor_config",
]


def find_config_file(start_path: str | os.PathLike[str] | None = None) -> Path | None:
    """The project manifest lllm would load: ``$LLLM_CONFIG`` (a manifest, or a folder holding
    one), else the nearest manifest at or above ``start_path`` (``lllm.toml``, ``.lllm.toml``,
    ``LLLM.toml``, in each folder or its ``template/``), else at or above the current folder;
    ``None`` when there is none. An absolute, resolved path."""
    from lllm._names import manifest_in
    from lllm._scopes import project_root_text

    configured = os.environ.get("LLLM_CONFIG")
    if configured:
        candidate = os.path.abspath(os.path.expanduser(configured))
        found = manifest_in(candidate) if os.path.isdir(candidate) else candidate
        if found is not None and os.path.isfile(found):
            return Path(found).resolve()
    for start in ([start_path] if start_path is not None else []) + [None]:
        root = project_root_text(start)
        if root is not None:
            found = manifest_in(root)
            if found is not None:
                return Path(found).resolve()
    return None
