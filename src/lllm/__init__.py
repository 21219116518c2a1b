"""lllm: a package system for the resources of LLM applications.

Prompts, configs, tactics, proxies, assets and any type a plugin adds are discovered from
packages described by ``lllm.toml`` and looked up by ``<package>.<section>:<path>`` keys.

Public names are imported on first use, so ``import lllm`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

# Public names, each imported from its module on first use so that `import lllm` stays
# cheap; the imports below tell type checkers the same.
_EXPORTS: dict[str, str] = {
    "load_tool": "lllm.core.lookups",
    "find_config_file": "lllm.core.config",
    "Function": "lllm.core.prompt",
    "FunctionCall": "lllm.core.prompt",
    "MCP": "lllm.core.prompt",
    "tool": "lllm.core.prompt",
    "tactictool": "lllm.core.tactic",
    "build_tactic": "lllm.core.tactic",
    "register_tactic_class": "lllm.core.tactic",
    "ProxyRegistrator": "lllm.proxies.base",
    "register_proxy": "lllm.proxies.base",
    "ProxyManager": "lllm.proxies.base",
    "Runtime": "lllm.core.runtime",
    "get_default_runtime": "lllm.core.runtime",
    "set_default_runtime": "lllm.core.runtime",
    "get_runtime": "lllm.core.runtime",
    "ResourceNode": "lllm.core.resource",
    "PackageInfo": "lllm.core.resource",
    "LllmError": "lllm.core.errors",
    "LllmWarning": "lllm.core.errors",
    "LoadWarning": "lllm.core.errors",
    "ConfigError": "lllm.core.errors",
    "PackageError": "lllm.core.errors",
    "PackageNotLoadedError": "lllm.core.errors",
    "RuntimeNotFoundError": "lllm.core.errors",
    "InvalidKeyError": "lllm.core.errors",
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
    "load_package": "lllm._loader",
    "PackageProblemsError": "lllm._loader",
    "LoadProblem": "lllm._loader",
    "load_runtime": "lllm._project",
    "resolve_config": "lllm._configs",
    "vendor_config": "lllm._configs",
    "ManifestError": "lllm._manifest",
    "ManifestWarning": "lllm._manifest",
    "register_plugin": "lllm._plugin_manager",
    "unregister_plugin": "lllm._plugin_manager",
    "list_plugins": "lllm._plugin_manager",
    "PluginRecord": "lllm._plugin_manager",
    "PluginError": "lllm._plugin_manager",
    "PluginConflictError": "lllm._plugin_manager",
    "PluginWarning": "lllm._plugin_manager",
    "install_package": "lllm._package_manager",
    "export_package": "lllm._package_manager",
    "list_packages": "lllm._package_manager",
    "remove_package": "lllm._package_manager",
    "ArchiveError": "lllm._archive",
    "ArchiveLimits": "lllm._archive",
}

if TYPE_CHECKING:
    from lllm._archive import ArchiveError, ArchiveLimits
    from lllm._configs import resolve_config, vendor_config
    from lllm._loader import LoadProblem, PackageProblemsError, load_package
    from lllm._manifest import ManifestError, ManifestWarning
    from lllm._package_manager import export_package, install_package, list_packages, remove_package
    from lllm._plugin_manager import (
        PluginConflictError,
        PluginError,
        PluginRecord,
        PluginWarning,
        list_plugins,
        register_plugin,
        unregister_plugin,
    )
    from lllm._project import load_runtime
    from lllm.core.config import find_config_file
    from lllm.core.errors import (
        ConfigError,
        InvalidKeyError,
        LllmError,
        LllmWarning,
        LoadWarning,
        PackageError,
        PackageNotLoadedError,
        ResourceLoadError,
        ResourceNotFoundError,
        ResourceTypeError,
        RuntimeNotFoundError,
    )
    from lllm.core.lookups import (
        load_config,
        load_prompt,
        load_proxy,
        load_resource,
        load_tactic,
        load_tool,
    )
    from lllm.core.prompt import (
        MCP,
        DefaultSimpleHandler,
        DefaultTagParser,
        Function,
        ParseError,
        Prompt,
        tool,
    )
    from lllm.core.resource import PackageInfo, ResourceNode
    from lllm.core.runtime import Runtime, get_default_runtime, get_runtime, set_default_runtime
    from lllm.core.tactic import Tactic, build_tactic, register_tactic_class, tactictool
    from lllm.proxies.base import BaseProxy, ProxyManager, ProxyRegistrator, register_proxy

__all__ = [
    "__version__",
    "load_tool",
    "find_config_file",
    "Function",
    "FunctionCall",
    "MCP",
    "tool",
    "tactictool",
    "build_tactic",
    "register_tactic_class",
    "ProxyRegistrator",
    "register_proxy",
    "ProxyManager",
    "Runtime",
    "get_default_runtime",
    "set_default_runtime",
    "get_runtime",
    "ResourceNode",
    "PackageInfo",
    "LllmError",
    "LllmWarning",
    "LoadWarning",
    "ConfigError",
    "PackageError",
    "PackageNotLoadedError",
    "RuntimeNotFoundError",
    "InvalidKeyError",
    "ResourceNotFoundError",
    "ResourceTypeError",
    "ResourceLoadError",
    "load_prompt",
    "load_tactic",
    "load_proxy",
    "load_config",
    "load_resource",
    "Prompt",
    "DefaultTagParser",
    "DefaultSimpleHandler",
    "ParseError",
    "Tactic",
    "BaseProxy",
    "load_package",
    "PackageProblemsError",
    "LoadProblem",
    "load_runtime",
    "resolve_config",
    "vendor_config",
    "ManifestError",
    "ManifestWarning",
    "register_plugin",
    "unregister_plugin",
    "list_plugins",
    "PluginRecord",
    "PluginError",
    "PluginConflictError",
    "PluginWarning",
    "install_package",
    "export_package",
    "list_packages",
    "remove_package",
    "ArchiveError",
    "ArchiveLimits",
]


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


def _has_something_to_load() -> bool:
    """Whether auto-init could find anything, using only ``os`` (keeps an empty folder's import cheap)."""
    import os

    from lllm._flags import flag

    env = os.environ
    if env.get("LLLM_CONFIG"):
        return True
    from lllm._names import project_manifest_at

    folder = os.getcwd()
    start = folder
    while True:
        if project_manifest_at(folder) is not None:
            return True
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    if flag("LLLM_AUTO_CWD_FALLBACK", True):
        if any(
            os.path.isdir(os.path.join(start, name))
            for name in ("prompts", "configs", "tactics", "proxies")
        ):
            return True
    if flag("LLLM_AUTO_SHARED_PACKAGES", True):
        home = os.path.expanduser(env.get("LLLM_HOME") or os.path.join("~", ".lllm"))
        try:
            return any(
                not n.startswith((".", "_")) for n in os.listdir(os.path.join(home, "packages"))
            )
        except OSError:
            return False
    return False


def _module_run(argv: list[str]) -> str:
    """The module ``python -m <module>`` runs, from the interpreter's own arguments."""
    for index, argument in enumerate(argv[1:-1], start=1):
        if argument == "-m":
            return argv[index + 1]
    return ""


def _auto_init() -> None:
    """Populate the default runtime at import (see ``lllm._project.auto_init``); never raises."""
    import os
    import sys

    from lllm._flags import flag

    # `python -m lllm` (the lllm command) imports this package first: like the `lllm`
    # script, it loads exactly what each command needs, unless LLLM_AUTO_INIT says otherwise.
    run = _module_run(getattr(sys, "orig_argv", []))
    command = sys.argv[:1] == ["-m"] and (run == "lllm" or run.startswith("lllm."))
    if not flag("LLLM_AUTO_INIT", not (command and "LLLM_AUTO_INIT" not in os.environ)):
        return
    try:
        if not _has_something_to_load():
            return
        from lllm._project import auto_init

        auto_init()
    except Exception as exc:  # import lllm must never fail
        import warnings

        warnings.warn(
            f"lllm: automatic loading failed, starting empty: {exc}", RuntimeWarning, stacklevel=2
        )


_auto_init()
