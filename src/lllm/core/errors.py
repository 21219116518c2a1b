"""lllm's error and warning classes: one base for each, ``LllmError`` and ``LllmWarning``.

Every error lllm raises about what it was given — a key, a manifest, an archive, a config, a
plugin, a package name or scope — is an ``LllmError``, and keeps the built-in class it always
had (``ResourceNotFoundError`` is still a ``KeyError``, ``ManifestError`` a ``ValueError``...).
Anything else lllm lets through is a bug (its own, or a plugin's), and keeps its traceback in
the ``lllm`` command. Every warning lllm gives is an ``LllmWarning`` (a ``UserWarning``); those
about loading are also ``RuntimeWarning``s, as they always were.
"""

from __future__ import annotations


class LllmError(Exception):
    """The base of every error lllm raises about what it was given."""


class LllmWarning(UserWarning):
    """The base of every warning lllm gives."""


class LoadWarning(LllmWarning, RuntimeWarning):
    """Something wrong found while loading packages (a file that fails to import, a key
    collision, a missing folder or dependency, a package that was skipped...): the
    ``LoadProblem``s of a load, given once the load is over."""


class ConfigError(LllmError, ValueError):
    """A config that cannot be resolved: not a mapping, a bad ``base:``, an inheritance cycle."""


class PackageError(LllmError, ValueError):
    """A package operation that cannot be done as asked: a bad scope or package name, a name
    installed in both scopes, a folder that may not be removed, a bundle that cannot be made."""


class InvalidKeyError(LllmError, ValueError):
    """A key or address that is not of the form asked for (``load_resource("no-colon")``)."""


class PackageNotLoadedError(LllmError, KeyError):
    """A package that is not loaded into the runtime was asked for (``export_package``)."""

    def __str__(self) -> str:
        return str(self.args[0])


class RuntimeNotFoundError(LllmError, KeyError):
    """No runtime has the name asked for (``get_runtime``)."""

    def __str__(self) -> str:
        return str(self.args[0])


class ResourceNotFoundError(LllmError, KeyError):
    """No resource matches a key (a ``KeyError``).

    ``key`` is the key that was asked for, ``resource_type`` the type asked for (or ``None``)
    and ``suggestions`` the close matches offered in the message.
    """

    def __init__(
        self,
        key: str,
        resource_type: str | None = None,
        suggestions: tuple[str, ...] = (),
        reason: str | None = None,
    ):
        self.key = key
        self.resource_type = resource_type
        self.suggestions = tuple(suggestions)
        #: Why nothing can match, when lllm knows (no loaded section has the type).
        self.reason = reason
        kind = f"{resource_type} " if resource_type else ""
        message = f"No {kind}resource found for key {key!r}."
        if reason:
            message = f"{message[:-1]}: {reason}."
        if self.suggestions:
            message += " Did you mean: " + ", ".join(self.suggestions) + "?"
        super().__init__(message)

    def __str__(self) -> str:
        # KeyError.__str__ would show the message in quotes.
        return str(self.args[0])


class ResourceTypeError(LllmError, TypeError):
    """A key resolved to a resource of another type than the one asked for."""

    def __init__(self, key: str, qualified_key: str, expected: str, actual: str):
        self.key = key
        self.qualified_key = qualified_key
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Resource {qualified_key!r} (looked up as {key!r}) is a {actual}, not a {expected}."
        )


class ResourceLoadError(LllmError, RuntimeError):
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
