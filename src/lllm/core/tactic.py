"""``Tactic``: the base class of callable agent strategies.

The ``tactics`` section registers each ``Tactic`` subclass that sets ``name``; subclassing
itself registers nothing.
"""

from __future__ import annotations

from typing import Any


class Tactic:
    """A callable strategy; subclasses set ``name`` and implement ``call``.

    The constructor stores ``config``, ``ckpt_dir``, ``runtime`` and the remaining keyword
    arguments (as the ``options`` dict) for ``call`` to use.
    """

    name: str | None = None

    def __init__(
        self,
        config: Any = None,
        ckpt_dir: Any = None,
        runtime: Any = None,
        **options: Any,
    ) -> None:
        self.config = config
        self.ckpt_dir = ckpt_dir
        self.runtime = runtime
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
