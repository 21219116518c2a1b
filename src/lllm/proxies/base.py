"""``BaseProxy`` (a class wrapping an external API) and the ``EndpointInfo`` of its methods.

The ``proxies`` section registers ``BaseProxy`` subclasses it finds in a package; subclassing
itself registers nothing, and neither does ``ProxyRegistrator``.

Calling proxies for agents (LLLM's ``ProxyManager``) is not part of lllm: the name exists so
that modules importing it load, and constructing one raises ``NotImplementedError``.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

if TYPE_CHECKING:
    from lllm.core.resource import ResourceNode
    from lllm.core.runtime import Runtime

_F = TypeVar("_F")
_C = TypeVar("_C", bound=type)

_ENDPOINT_ATTR = "__lllm_endpoint__"
# Where the LLLM framework records an endpoint's metadata, as a plain dict.
_FRAMEWORK_ATTR = "endpoint_info"


def _params(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return {} if value is None else dict(value)


def _upper(value: str) -> str:
    return str(value).upper()


def _optional_list(value: Any) -> list[Any] | None:
    return None if value is None else list(value)


@attrs.frozen
class EndpointInfo:
    """What ``@BaseProxy.endpoint`` records about one method.

    ``endpoint`` and ``name`` default to the method's name; ``method`` is upper-cased.
    ``sub_category``, ``remove_keys`` and ``dt_cutoff`` are kept as given, for the proxy's
    own code to use.
    """

    category: str | None
    endpoint: str
    description: str = ""
    params: dict[str, Any] = attrs.field(factory=dict, converter=_params)
    response: Any = None
    method: str = attrs.field(default="GET", converter=_upper)
    name: str = ""
    sub_category: str | None = None
    remove_keys: list[Any] | None = attrs.field(default=None, converter=_optional_list)
    dt_cutoff: Any = None

    def as_dict(self) -> dict[str, Any]:
        """The metadata in the LLLM framework's ``endpoint_info`` shape (a new dict)."""
        return {
            "category": self.category,
            "endpoint": self.endpoint,
            "name": self.name,
            "description": self.description,
            "sub_category": self.sub_category,
            "remove_keys": None if self.remove_keys is None else list(self.remove_keys),
            "params": dict(self.params),
            "response": self.response,
            "dt_cutoff": self.dt_cutoff,
            "method": self.method,
        }


def _from_framework_dict(data: Mapping[str, Any], attribute: str) -> EndpointInfo:
    return EndpointInfo(
        category=data.get("category"),
        endpoint=str(data.get("endpoint") or attribute),
        description=str(data.get("description") or ""),
        params=data.get("params"),
        response=data.get("response"),
        method=str(data.get("method") or "GET"),
        name=str(data.get("name") or attribute),
        sub_category=data.get("sub_category"),
        remove_keys=data.get("remove_keys"),
        dt_cutoff=data.get("dt_cutoff"),
    )


def _function_of(value: Any) -> Any:
    # A staticmethod or classmethod keeps its function in __func__.
    return getattr(value, "__func__", None)


def _endpoint_info(value: Any, attribute: str = "") -> EndpointInfo | None:
    for candidate in (value, _function_of(value)):
        info = getattr(candidate, _ENDPOINT_ATTR, None)
        if isinstance(info, EndpointInfo):
            return info
    for candidate in (value, _function_of(value)):
        # Metadata written the framework's way, e.g. copied from another method.
        data = getattr(candidate, _FRAMEWORK_ATTR, None) if callable(candidate) else None
        if isinstance(data, Mapping):
            return _from_framework_dict(data, attribute)
    return None


def _cutoff(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"BaseProxy: cutoff_date {value!r} is not an ISO date or datetime."
        ) from None


class BaseProxy:
    """Base class of proxies: an external API behind methods marked with ``endpoint``.

    ``_proxy_path`` (the registry key, if the class wants its own), ``_proxy_name`` and
    ``_proxy_description`` describe the proxy (``ProxyRegistrator`` sets all three).

    The constructor accepts positional arguments (kept as the ``args`` tuple) and any keyword
    options (kept, as passed, in the ``options`` dict). The LLLM framework's documented
    options are also attributes: ``activate_proxies`` (a new list, ``[]`` by default),
    ``cutoff_date`` (an ISO string becomes a ``datetime``, a blank one ``None``; one that does
    not parse raises ``ValueError``; anything else is kept), ``deploy_mode`` (``False``) and ``use_cache``
    (``True``).
    """

    _proxy_path: str | None = None
    _proxy_name: str | None = None
    _proxy_description: str = ""

    def __init__(self, *args: Any, **options: Any) -> None:
        self.args: tuple[Any, ...] = args
        self.options: dict[str, Any] = options
        self.activate_proxies: list[str] = list(options.get("activate_proxies") or [])
        self.cutoff_date: Any = _cutoff(options.get("cutoff_date"))
        self.deploy_mode: Any = options.get("deploy_mode", False)
        self.use_cache: Any = options.get("use_cache", True)

    @staticmethod
    def endpoint(
        category: str | None = None,
        endpoint: str | None = None,
        description: str = "",
        params: Mapping[str, Any] | None = None,
        response: Any = None,
        name: str | None = None,
        sub_category: str | None = None,
        remove_keys: list[Any] | None = None,
        dt_cutoff: Any = None,
        method: str = "GET",
    ) -> Callable[[_F], _F]:
        """Decorator recording the endpoint's metadata on the method; the method is returned unchanged.

        The arguments come in the LLLM framework's order. The method gets an ``EndpointInfo``
        as ``__lllm_endpoint__`` and the same metadata as the framework's ``endpoint_info``
        dict (keys ``category``, ``endpoint``, ``name``, ``description``, ``sub_category``,
        ``remove_keys``, ``params``, ``response``, ``dt_cutoff``, ``method``).
        """

        def decorate(func: _F) -> _F:
            attribute = getattr(func, "__name__", None) or getattr(
                _function_of(func), "__name__", ""
            )
            attribute = str(attribute or "")
            info = EndpointInfo(
                category=category,
                endpoint=str(endpoint or attribute),
                description=description,
                params=params,
                response=response,
                method=method,
                name=str(name or attribute),
                sub_category=sub_category,
                remove_keys=remove_keys,
                dt_cutoff=dt_cutoff,
            )
            setattr(func, _ENDPOINT_ATTR, info)
            setattr(func, _FRAMEWORK_ATTR, info.as_dict())
            return func

        return decorate

    @staticmethod
    def postcall(func: _F) -> _F:
        """Mark a method as a post-call hook (sets ``is_postcall = True``); returns it unchanged."""
        setattr(func, "is_postcall", True)  # noqa: B010 - func is any callable
        return func

    @classmethod
    def _endpoint_attributes(cls) -> dict[str, EndpointInfo]:
        # An attribute defined in a subclass hides the base class's attribute of that name.
        by_attribute: dict[str, EndpointInfo | None] = {}
        for klass in reversed(cls.__mro__):
            for attribute, value in vars(klass).items():
                by_attribute[attribute] = _endpoint_info(value, attribute)
        return {attr: info for attr, info in by_attribute.items() if info is not None}

    @classmethod
    def endpoints(cls) -> dict[str, EndpointInfo]:
        """The class's endpoints, inherited ones included, keyed by endpoint name.

        An attribute defined in a subclass hides the base class's attribute of the same name,
        whether or not it is an endpoint itself.
        """
        return {info.endpoint: info for info in cls._endpoint_attributes().values()}

    @classmethod
    def endpoint_directory(cls) -> list[dict[str, Any]]:
        """One dict per endpoint, sorted by category then endpoint.

        Each is the ``endpoint_info`` shape plus ``callable`` (the method's attribute name)
        and ``docstring``.
        """
        entries: list[dict[str, Any]] = []
        for attribute, info in cls._endpoint_attributes().items():
            entry = info.as_dict()
            entry["callable"] = attribute
            entry["docstring"] = inspect.getdoc(getattr(cls, attribute, None))
            entries.append(entry)
        entries.sort(key=lambda entry: (entry["category"] or "", entry["endpoint"] or ""))
        return entries

    @classmethod
    def api_directory(cls) -> dict[str, Any]:
        """``{"id", "display_name", "description", "endpoints"}``: the proxy and its endpoints.

        ``id`` is ``_proxy_path`` and ``display_name`` is ``_proxy_name``, each defaulting to
        the class name.
        """
        return {
            "id": cls._proxy_path or cls.__name__,
            "display_name": cls._proxy_name or cls.__name__,
            "description": cls._proxy_description or "",
            "endpoints": cls.endpoint_directory(),
        }

    @classmethod
    def auto_test(cls) -> dict[str, dict[str, Any]]:
        """Check each endpoint's metadata: ``{callable: {"status": "ok"|"warning", "issues": [...]}}``.

        An endpoint without ``params`` or without a ``response`` example gets a warning
        naming what is missing. Nothing is called.
        """
        results: dict[str, dict[str, Any]] = {}
        for entry in cls.endpoint_directory():
            issues = [
                field
                for field, missing in (
                    ("params", not entry["params"]),
                    ("response", entry["response"] is None),
                )
                if missing
            ]
            results[entry["callable"]] = {
                "status": "warning" if issues else "ok",
                "issues": issues,
            }
        return results


def ProxyRegistrator(
    path: str,
    name: str | None = None,
    description: str = "",
    runtime: Runtime | None = None,
) -> Callable[[_C], _C]:
    """Class decorator setting ``_proxy_path``, ``_proxy_name`` and ``_proxy_description``.

    Registers nothing: the ``proxies`` section keys the class by ``path`` when it loads the
    package. ``runtime`` is accepted for compatibility and ignored.
    """

    def decorate(cls: _C) -> _C:
        cls._proxy_path = path  # type: ignore[attr-defined]
        cls._proxy_name = name  # type: ignore[attr-defined]
        cls._proxy_description = description  # type: ignore[attr-defined]
        return cls

    return decorate


def register_proxy(
    name: str, proxy_cls: Any, overwrite: bool = False, runtime: Runtime | None = None
) -> ResourceNode:
    """Register ``proxy_cls`` under ``name`` in ``runtime`` (the default runtime if omitted).

    An explicit call; with ``overwrite=False`` an existing key raises ``ValueError``.
    """
    from lllm.core.runtime import get_default_runtime

    rt = get_default_runtime() if runtime is None else runtime
    return rt.register_proxy(name, proxy_cls, overwrite=overwrite)


class ProxyManager:
    """The LLLM framework's dispatcher of proxy calls, which lllm does not include.

    Importing it works; constructing one raises ``NotImplementedError``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "ProxyManager (calling proxy endpoints for agents) belongs to the LLLM framework's "
            "agent layer, which lllm does not include. Look proxies up with lllm.load_proxy() "
            "and construct them yourself."
        )
