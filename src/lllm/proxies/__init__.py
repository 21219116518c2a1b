"""Proxies: classes that wrap external APIs behind documented endpoints.

The names LLLM packages import from here: ``BaseProxy``, ``EndpointInfo``,
``ProxyRegistrator``, ``register_proxy`` and ``ProxyManager`` (a placeholder: lllm does not
call proxies for agents).
"""

from lllm.proxies.base import (
    BaseProxy,
    EndpointInfo,
    ProxyManager,
    ProxyRegistrator,
    register_proxy,
)

__all__ = ["BaseProxy", "EndpointInfo", "ProxyManager", "ProxyRegistrator", "register_proxy"]
