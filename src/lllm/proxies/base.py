"""``BaseProxy`` (a class wrapping an external API) and the ``EndpointInfo`` of its methods.

The ``proxies`` section registers ``BaseProxy`` subclasses it finds in a package; subclassing
itself registers nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

_F = TypeVar("_F")

_ENDPOINT_ATTR = "__lllm_endpoint__"


def _params(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return {} if value is None else dict(value)


def _upper(value: str) -> str:
    return str(value).upper()


@attrs.frozen
class EndpointInfo:
    """What ``@BaseProxy.endpoint`` records about one method.

    ``endpoint`` defaults to the method's name, which is ``name``; ``method`` is upper-cased.
    """

    category: str | None
    endpoint: str
    description: str = ""
    params: dict[str, Any] = attrs.field(factory=dict, converter=_params)
    response: Any = None
    method: str = attrs.field(default="GET", converter=_upper)
    name: str = ""


def _endpoint_info(value: Any) -> EndpointInfo | None:
    info = getattr(value, _ENDPOINT_ATTR, None)
    if info is None:
        # A staticmethod or classmethod wrapping a decorated function.
        info = getattr(getattr(value, "__func__", None), _ENDPOINT_ATTR, None)
    return info if isinstance(info, EndpointInfo) else None


class BaseProxy:
    """Base class of proxies: an external API behind methods marked with ``endpoint``.

    ``_proxy_path`` (the registry key, if the class wants its own), ``_proxy_name`` and
    ``_proxy_description`` describe the proxy. The constructor accepts any keyword options
    and stores them as the ``options`` dict.
    """

    _proxy_path: str | None = None
    _proxy_name: str | None = None
    _proxy_description: str = ""

    def __init__(self, **options: Any) -> None:
        self.options: dict[str, Any] = options

    @staticmethod
    def endpoint(
        category: str | None = None,
        endpoint: str | None = None,
        description: str = "",
        params: Mapping[str, Any] | None = None,
        response: Any = None,
        method: str = "GET",
    ) -> Callable[[_F], _F]:
        """Decorator recording an ``EndpointInfo`` on the method as ``__lllm_endpoint__``.

        The method itself is returned unchanged.
        """

        def decorate(func: _F) -> _F:
            name = getattr(func, "__name__", None) or getattr(
                getattr(func, "__func__", None), "__name__", ""
            )
            name = str(name or "")
            info = EndpointInfo(
                category=category,
                endpoint=str(endpoint or name),
                description=description,
                params=params,
                response=response,
                method=method,
                name=name,
            )
            setattr(func, _ENDPOINT_ATTR, info)
            return func

        return decorate

    @classmethod
    def endpoints(cls) -> dict[str, EndpointInfo]:
        """The class's endpoints, inherited ones included, keyed by endpoint name.

        An attribute defined in a subclass hides the base class's attribute of the same name,
        whether or not it is an endpoint itself.
        """
        by_attribute: dict[str, EndpointInfo | None] = {}
        for klass in reversed(cls.__mro__):
            for attribute, value in vars(klass).items():
                by_attribute[attribute] = _endpoint_info(value)
        return {info.endpoint: info for info in by_attribute.values() if info is not None}
