"""Exceptions raised by the registry core."""

from __future__ import annotations


class ResourceNotFoundError(KeyError):
    """No resource matches a key (a ``KeyError``).

    ``key`` is the key that was asked for, ``resource_type`` the type asked for (or ``None``)
    and ``suggestions`` the close matches offered in the message.
    """

    def __init__(self, key: str, resource_type: str | None = None, suggestions: tuple[str, ...] = ()):
        self.key = key
        self.resource_type = resource_type
        self.suggestions = tuple(suggestions)
        kind = f"{resource_type} " if resource_type else ""
        message = f"No {kind}resource found for key {key!r}."
        if self.suggestions:
            message += " Did you mean: " + ", ".join(self.suggestions) + "?"
        super().__init__(message)

    def __str__(self) -> str:
        # KeyError.__str__ would show the message in quotes.
        return str(self.args[0])


class ResourceTypeError(TypeError):
    """A key resolved to a resource of another type than the one asked for."""

    def __init__(self, key: str, qualified_key: str, expected: str, actual: str):
        self.key = key
        self.qualified_key = qualified_key
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Resource {qualified_key!r} (looked up as {key!r}) is a {actual}, not a {expected}."
        )


class ResourceLoadError(RuntimeError):
    """A lazy resource's loader raised; the original error is ``__cause__``.

    The message names the qualified key and, when the node knows it, the source file.
    """

    def __init__(self, qualified_key: str, file_path: object | None, error: BaseException):
        self.qualified_key = qualified_key
        self.file_path = file_path
        where = f" from {file_path}" if file_path is not None else ""
        super().__init__(
            f"Could not load resource {qualified_key!r}{where}: {type(error).__name__}: {error}"
        )
