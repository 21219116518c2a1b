"""lllm: a package system for the resources of LLM applications.

Prompts, configs, tactics, proxies, assets and any type a plugin adds are discovered from
packages described by ``lllm.toml`` and looked up by ``<package>.<section>:<path>`` keys.

Public names are imported on first use, so ``import lllm`` stays cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Runtime": "lllm.core.runtime",
    "get_default_runtime": "lllm.core.runtime",
    "set_default_runtime": "lllm.core.runtime",
    "get_runtime": "lllm.core.runtime",
    "ResourceNode": "lllm.core.resource",
    "PackageInfo": "lllm.core.resource",
    "ResourceNotFoundError": "lllm.core.errors",
    "ResourceTypeError": "lllm.core.errors",
    "ResourceLoadError": "lllm.core.errors",
    "load_prompt": "lllm.core.lookups",
    "load_tactic": "lllm.core.lookups",
    "load_proxy": "lllm.core.lookups",
    "load_config": "lllm.core.lookups",
    "load_resource": "lllm.core.lookups",
    "Prompt": "lllm.core.prompt",
    "DefaultTagParser": "lllm.core.prompt",
    "DefaultSimpleHandler": "lllm.core.prompt",
    "ParseError": "lllm.core.prompt",
    "Tactic": "lllm.core.tactic",
    "BaseProxy": "lllm.proxies.base",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> object:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lllm' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
