"""Module-level lookups on the default (or a given) runtime: ``load_prompt`` and friends."""

from __future__ import annotations

from typing import Any

from lllm.core.runtime import Runtime, get_default_runtime


def _runtime(runtime: Runtime | None) -> Runtime:
    return get_default_runtime() if runtime is None else runtime


def load_prompt(path: str, runtime: Runtime | None = None) -> Any:
    """The prompt ``path`` resolves to (``"greet/hello"``, ``"pkg:greet/hello"`` or a qualified key)."""
    return _runtime(runtime).get(path, "prompt")


def load_tactic(path: str, runtime: Runtime | None = None) -> Any:
    """The tactic class ``path`` resolves to."""
    return _runtime(runtime).get(path, "tactic")


def load_proxy(path: str, runtime: Runtime | None = None) -> Any:
    """The proxy class ``path`` resolves to."""
    return _runtime(runtime).get(path, "proxy")


def load_tool(path: str, runtime: Runtime | None = None) -> Any:
    """The tool ``path`` resolves to (the LLLM framework's ``load_tool``)."""
    return _runtime(runtime).get(path, "tool")


def load_config(path: str, runtime: Runtime | None = None) -> Any:
    """The config ``path`` resolves to, as stored (see ``resolve_config`` for ``base:`` inheritance)."""
    return _runtime(runtime).get(path, "config")


def load_resource(url: str, runtime: Runtime | None = None) -> Any:
    """The value of the resource at ``url``, which must contain ``:``.

    ``"pkg.section:path"`` is a qualified key. A part before ``:`` without a ``.`` names a
    section of the default package: ``"assets:logo.png"`` → ``<default>.assets:logo.png``.
    """
    if not isinstance(url, str) or ":" not in url:
        from lllm.core.errors import InvalidKeyError

        raise InvalidKeyError(
            f"load_resource() needs '<package>.<section>:<path>' or '<section>:<path>', got {url!r}."
        )
    return _runtime(runtime).get(url)
