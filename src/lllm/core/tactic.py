"""``Tactic``: the base class of callable agent strategies, and the helpers LLLM code imports.

The ``tactics`` section registers each ``Tactic`` subclass that sets ``name`` and is not
declared with ``register=False``; defining a subclass itself registers nothing, in any runtime.

Running tactics against models (agents, invokers, sessions) is not part of lllm: a ``Tactic``
holds what it was built with and calls its own ``call``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

if TYPE_CHECKING:
    from lllm.core.runtime import Runtime

_F = TypeVar("_F")
_T = TypeVar("_T", bound="type[Tactic]")

_TOOL_ATTR = "_lllm_tactic_tool"


class Tactic:
    """A callable strategy: subclasses set ``name`` (LLLM code also ``agent_group``) and ``call``.

    ``class Base(Tactic, register=False)`` declares a shared base class that the ``tactics``
    section never registers, even if it sets ``name``; its subclasses are registered as
    usual. The flag is recorded as the class's own ``__lllm_register__``. A ``runtime=`` class
    keyword is accepted and ignored: lllm registers tactics only when it loads a package.

    Constructor, positionally ``Tactic(config, ckpt_dir, runtime, tactic_path)``:

    - ``ckpt_dir`` is the second argument, where the tactic keeps its records; ``log_store=``
      is another keyword for it, and the ``log_store`` attribute holds it too.
    - A fourth positional argument that is not a string follows the form some LLLM docs
      show, ``Tactic(config, ckpt_dir, stream, runtime)``: the third is then ``stream`` and
      the fourth ``runtime``. A string is the ``tactic_path``, as the LLLM code has it.
    - Remaining keyword arguments are stored as the ``options`` dict.
    """

    name: str | None = None
    agent_group: list[str] | None = None
    __lllm_register__: ClassVar[bool] = False

    def __init_subclass__(cls, register: bool = True, runtime: Any = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__lllm_register__ = bool(register)

    def __init__(
        self,
        config: Any = None,
        ckpt_dir: Any = None,
        runtime: Any = None,
        *more: Any,
        log_store: Any = None,
        stream: Any = None,
        tactic_path: str | None = None,
        **options: Any,
    ) -> None:
        if len(more) > 1:
            raise TypeError(
                f"{type(self).__name__}() takes at most 4 positional arguments "
                f"(config, ckpt_dir, runtime, tactic_path), got {3 + len(more)}."
            )
        if log_store is not None:
            if ckpt_dir is not None and ckpt_dir is not log_store:
                raise TypeError(
                    f"{type(self).__name__}() got both ckpt_dir and log_store; they name the "
                    "same (second) argument."
                )
            ckpt_dir = log_store
        if more:
            fourth = more[0]
            if isinstance(fourth, str):
                if tactic_path is not None:
                    raise TypeError(f"{type(self).__name__}() got tactic_path twice.")
                tactic_path = fourth
            else:
                if stream is not None:
                    raise TypeError(
                        f"{type(self).__name__}() got stream twice (the third positional "
                        "argument is the stream when a fourth, the runtime, is given)."
                    )
                stream, runtime = runtime, fourth
        self.config = config
        self.ckpt_dir = ckpt_dir
        self.log_store = ckpt_dir
        self.runtime = runtime
        self.stream = stream
        self.tactic_path = tactic_path
        self.options: dict[str, Any] = options

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the tactic: ``self.call(*args, **kwargs)``."""
        return self.call(*args, **kwargs)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """The tactic's work; subclasses must override it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement call().")

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<{type(self).__name__}{label}>"


@attrs.frozen
class TacticToolMeta:
    """What ``@tactictool`` records on a tactic method (as ``_lllm_tactic_tool``)."""

    name: str
    description: str | None = None
    input_model: Any = None
    output_model: Any = None
    config: Any = None


def tactictool(
    name: str | None = None,
    *,
    description: str | None = None,
    input_model: Any = None,
    output_model: Any = None,
    config: Any = None,
) -> Callable[[_F], _F]:
    """Mark a ``Tactic`` method as a tool named ``name``; records a ``TacticToolMeta`` only.

    The name is required: ``@tactictool`` without arguments is a ``TypeError``, an empty
    name a ``ValueError``. The method is returned unchanged.
    """
    if callable(name):
        raise TypeError("@tactictool needs a tool name: @tactictool('name', ...).")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"@tactictool needs a non-empty tool name, got {name!r}.")
    meta = TacticToolMeta(
        name=name,
        description=description,
        input_model=input_model,
        output_model=output_model,
        config=config,
    )

    def decorate(method: _F) -> _F:
        setattr(method, _TOOL_ATTR, meta)
        return method

    return decorate


def _runtime(runtime: Runtime | None) -> Runtime:
    from lllm.core.runtime import get_default_runtime

    return get_default_runtime() if runtime is None else runtime


def _tactic_name(tactic_cls: Any) -> str:
    name = getattr(tactic_cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"Tactic class {getattr(tactic_cls, '__name__', tactic_cls)!r} must set a "
            "non-empty string `name`."
        )
    return name


def register_tactic_class(tactic_cls: _T, runtime: Runtime | None = None) -> _T:
    """Register ``tactic_cls`` under its ``name`` in ``runtime`` (the default runtime if omitted).

    An explicit call; replaces a tactic of that name. Returns the class.
    """
    _runtime(runtime).register_tactic(_tactic_name(tactic_cls), tactic_cls, overwrite=True)
    return tactic_cls


def get_tactic_class(name: str, runtime: Runtime | None = None) -> Any:
    """The tactic class ``name`` resolves to in ``runtime`` (the default runtime if omitted)."""
    return _runtime(runtime).get_tactic(name)


def build_tactic(
    config: Any,
    log_store: Any = None,
    name: str | None = None,
    runtime: Runtime | None = None,
    **kwargs: Any,
) -> Tactic:
    """Look up a tactic class and construct it with ``config``; nothing is run.

    ``name`` defaults to ``config["tactic_type"]``. The instance gets ``log_store`` as its
    second argument, the runtime, the ``tactic_path`` ``"<package>::<name>"`` (just the name
    for a tactic outside any package) and ``kwargs``.
    """
    if name is None and isinstance(config, dict):
        name = config.get("tactic_type")
    if not isinstance(name, str) or not name:
        raise ValueError("build_tactic() needs a name, or a config with a 'tactic_type'.")
    rt = _runtime(runtime)
    node = rt.get_node(name, "tactic")
    tactic_cls = node.value
    package = node.namespace.partition(".")[0]
    tactic_name = _tactic_name(tactic_cls)
    kwargs.setdefault("tactic_path", f"{package}::{tactic_name}" if package else tactic_name)
    tactic: Tactic = tactic_cls(config, log_store, runtime=rt, **kwargs)
    return tactic
