"""Config inheritance: ``base:`` chains resolved into plain, independent dictionaries."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from lllm.core.errors import ConfigError
from lllm.core.resource import ResourceNode
from lllm.core.runtime import Runtime, get_default_runtime

BASE_KEY = "base"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: ``base`` with ``override`` merged in. Dicts merge recursively; lists and
    scalars from ``override`` replace. Neither input is modified."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _base_node(runtime: Runtime, node: ResourceNode, base: str) -> ResourceNode:
    # The config's own package first, then ordinary resolution (default package, pkg:path, exact).
    if ":" not in base and node.namespace:
        own = f"{node.namespace}:{base}"
        if runtime.has(own, "config"):
            return runtime.get_node(own, "config")
    return runtime.get_node(base, "config")


def _resolve(runtime: Runtime, node: ResourceNode, chain: list[str]) -> dict[str, Any]:
    value = node.value
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"Config {node.qualified_key!r} is a {type(value).__name__}, not a mapping."
        )
    data = copy.deepcopy(dict(value))
    base = data.pop(BASE_KEY, None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise ConfigError(
            f"Config {node.qualified_key!r}: '{BASE_KEY}' must be a config name, got {base!r}."
        )
    parent = _base_node(runtime, node, base)
    if parent.qualified_key in chain:
        cycle = " -> ".join([*chain, parent.qualified_key])
        raise ConfigError(f"Config inheritance cycle: {cycle}")
    return deep_merge(_resolve(runtime, parent, [*chain, parent.qualified_key]), data)


def resolve_config(name: str, runtime: Runtime | None = None) -> dict[str, Any]:
    """The config ``name`` with its ``base:`` chain applied, as a deep copy without ``base``.

    A ``base`` is looked up in the config's own package first, then like any config key.
    A cycle raises ``ValueError`` naming the chain.
    """
    rt = get_default_runtime() if runtime is None else runtime
    node = rt.get_node(name, "config")
    return _resolve(rt, node, [node.qualified_key])


def vendor_config(
    source: str | Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    runtime: Runtime | None = None,
) -> dict[str, Any]:
    """``resolve_config(source)`` (or a copy of a given mapping) with ``overrides`` deep-merged in."""
    data = (
        resolve_config(source, runtime) if isinstance(source, str) else copy.deepcopy(dict(source))
    )
    return deep_merge(data, overrides or {})
