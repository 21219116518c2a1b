"""Read and check ``lllm.toml``, the manifest of an lllm package.

The manifest names the package, lists its dependencies and, in one table per section, the
folders to scan. This module only parses and validates; it knows nothing of plugins or of the
runtime, and never touches the folders it names (a missing folder is the loader's business).

Errors are ``ManifestError`` (a ``ValueError``) naming the file, the key and, for TOML syntax
errors, the line and column. Keys that are accepted but not understood (a typo such as
``folders`` for ``paths``) are *notes*: ``read_manifest_notes`` returns them as data (what the
loader uses), ``read_manifest`` gives each as a ``ManifestWarning`` naming the key and the file.
A manifest that is not a regular file (a FIFO, a device), larger than 1 MiB or nested too
deeply for the TOML parser is a ``ManifestError`` too, at once.
"""

from __future__ import annotations

import os
import sys
import types
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from lllm.core.errors import LllmError, LllmWarning, PackageError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "MANIFEST_NAME",
    "DEFAULT_VERSION",
    "ManifestError",
    "PathEntry",
    "SectionTable",
    "Manifest",
    "read_manifest",
    "read_manifest_notes",
    "manifest_for_folder",
    "validate_package_name",
]

MANIFEST_NAME = "lllm.toml"
"""The file name of a manifest inside a package folder."""

DEFAULT_VERSION = "0.0.0"
"""The version of a package whose manifest does not set one."""

MAX_MANIFEST_SIZE = 1024 * 1024
"""The largest manifest file read, in bytes."""

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_PACKAGE_KEYS = ("name", "version", "description")
_EMPTY_MAPPING: Mapping[str, Any] = types.MappingProxyType({})


class ManifestWarning(LllmWarning, RuntimeWarning):
    """A manifest key lllm does not understand (a typo, a misplaced key); loading goes on."""


class ManifestError(LllmError, ValueError):
    """A manifest that cannot be used: bad TOML, a wrong type, a bad name, an unreadable file.

    ``file`` is the manifest (a ``Path``), ``key`` the dotted key at fault (such as
    ``"prompts.paths[1].prefix"``, or ``None``), ``line`` and ``column`` the 1-based position
    when known (TOML syntax errors), and ``message`` the bare explanation.
    ``str()`` reads ``"<file>: <key>: <message> (line L, column C)"``.
    """

    def __init__(
        self,
        file: str | os.PathLike[str],
        message: str,
        key: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ):
        from pathlib import Path

        self.file = Path(file)
        self.message = message
        self.key = key
        self.line = line
        self.column = column
        text = f"{self.file}: {key}: {message}" if key else f"{self.file}: {message}"
        if line is not None:
            text += f" (line {line}, column {column})" if column is not None else f" (line {line})"
        super().__init__(text)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.file, self.message, self.key, self.line, self.column))


# The manifest model is read at every start (from the index cache when warm): NamedTuples,
# which cost a tenth of an attrs class to create at import, holding paths as strings, so a
# warm start never imports pathlib.


class PathEntry(NamedTuple):
    """One entry of a ``paths`` or ``packages`` list.

    ``path`` is absolute, a string (relative entries are taken from the manifest's folder;
    it need not exist), ``raw`` the path as written (the whole string for the ``"x under p"`` and
    ``"x as a"`` forms, the ``path`` value for the table form). ``prefix`` goes before the
    keys of a section path; ``alias`` is a second package name for a dependency.
    """

    path: str
    raw: str
    prefix: str = ""
    alias: str | None = None


class SectionTable(NamedTuple):
    """A section table of the manifest, such as ``[prompts]`` or ``[data]``.

    ``paths`` is ``None`` when the table has no ``paths`` key (the loader then uses the
    section's default folder) and ``()`` for ``paths = []``. ``options`` holds the other keys
    of the table, as parsed (it is left out of the hash).
    """

    name: str
    paths: tuple[PathEntry, ...] | None
    options: Mapping[str, Any] = _EMPTY_MAPPING

    def __hash__(self) -> int:
        return hash((self.name, self.paths))


class Manifest(NamedTuple):
    """A parsed and checked ``lllm.toml`` (change one with ``_replace``).

    ``file`` (the manifest) and ``base_dir`` (its folder) are absolute paths, as strings;
    ``file`` is ``None`` for a manifest made up for a folder that has none
    (``manifest_for_folder``). ``sections`` maps every table other than ``[package]`` and
    ``[dependencies]`` to its ``SectionTable``, in file order (left out of the hash).
    """

    file: str | None
    base_dir: str
    name: str
    version: str = DEFAULT_VERSION
    description: str = ""
    dependencies: tuple[PathEntry, ...] = ()
    sections: Mapping[str, SectionTable] = _EMPTY_MAPPING

    def __hash__(self) -> int:
        return hash(
            (self.file, self.base_dir, self.name, self.version, self.description, self.dependencies)
        )


def validate_package_name(
    name: str,
    *,
    file: str | os.PathLike[str] | None = None,
    key: str | None = "package.name",
) -> str:
    """Return ``name`` if it is a valid package name (ASCII letters, digits, ``_`` and ``-``).

    Otherwise raise ``ManifestError`` naming ``file`` and ``key``, or a ``PackageError`` (a
    ``ValueError``) when ``file`` is ``None``.
    """
    if _is_package_name(name):
        return name
    message = (
        f"invalid package name {name!r}: use letters, digits, '_' and '-' only "
        "(no '.', ':', '/' or spaces)"
    )
    if file is None:
        raise PackageError(message[0].upper() + message[1:] + ".")
    raise ManifestError(file, message, key)


def _is_package_name(name: object) -> bool:
    return isinstance(name, str) and bool(name) and all(char in _NAME_CHARS for char in name)


def manifest_for_folder(folder: str | os.PathLike[str]) -> Manifest:
    """A manifest for a package folder without ``lllm.toml``: named after the folder, no
    dependencies, no section tables (so every section uses its default folder).

    The folder is not required to exist. A folder name that is not a valid package name
    raises ``ValueError``.
    """
    base_dir = os.path.abspath(folder)
    return Manifest(
        file=None, base_dir=base_dir, name=validate_package_name(os.path.basename(base_dir))
    )


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read a manifest: a ``lllm.toml`` file, or a folder that contains one.

    A path that does not exist, or a folder without ``lllm.toml``, raises
    ``FileNotFoundError``. Anything wrong with the file itself raises ``ManifestError``;
    keys that are not understood give a ``ManifestWarning`` each and are otherwise ignored.
    """
    manifest, notes = read_manifest_notes(path)
    _warn_notes(notes)
    return manifest


def read_manifest_notes(path: str | os.PathLike[str]) -> tuple[Manifest, list[str]]:
    """``read_manifest`` that returns the notes (keys not understood) instead of warning."""
    from pathlib import Path

    target = Path(os.path.abspath(path))
    if target.is_dir():
        from lllm._names import manifest_in

        found = manifest_in(str(target), any_entry=True)
        if found is None:
            raise FileNotFoundError(2, f"No {MANIFEST_NAME} in folder", str(target))
        file = Path(found)
    elif os.path.lexists(target):
        file = target
    else:
        raise FileNotFoundError(2, "No such manifest file or folder", str(target))
    return parse_manifest_notes(_read_text(file), file)


def parse_manifest(text: str, file: str | os.PathLike[str]) -> Manifest:
    """Parse and validate manifest ``text`` as if read from ``file`` (which need not exist).

    Relative paths resolve against ``file``'s folder; errors name ``file``; notes are
    ``ManifestWarning``s.
    """
    manifest, notes = parse_manifest_notes(text, file)
    _warn_notes(notes)
    return manifest


def parse_manifest_notes(text: str, file: str | os.PathLike[str]) -> tuple[Manifest, list[str]]:
    """``parse_manifest`` that returns the notes instead of warning. Used to check the
    manifest inside an archive before anything is extracted."""
    from pathlib import Path

    reader = _ManifestReader(Path(os.path.abspath(file)))
    return reader.build(_parse_toml(reader.file, text)), reader.notes


def _warn_notes(notes: list[str]) -> None:
    # Point each warning at the first caller outside this module.
    frame: types.FrameType | None = sys._getframe(0)
    level = 1
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame, level = frame.f_back, level + 1
    for note in notes:
        warnings.warn(note, ManifestWarning, stacklevel=level)


def _read_text(file: Path) -> str:
    """The text of manifest ``file``: opened without blocking (a FIFO never hangs), which must
    be a regular file of at most ``MAX_MANIFEST_SIZE`` bytes and valid UTF-8."""
    from lllm._fs import read_regular_file

    try:
        content = read_regular_file(file, MAX_MANIFEST_SIZE)
    except OSError as exc:
        raise ManifestError(file, f"cannot read the file: {exc.strerror or exc}") from exc
    except ValueError as exc:
        reason = (
            "it is not a regular file (a FIFO, a device or a folder)"
            if "regular" in str(exc)
            else (f"the file is larger than {MAX_MANIFEST_SIZE // 1024} KiB")
        )
        raise ManifestError(file, f"cannot read the file: {reason}") from exc
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _position(content[: exc.start].decode("utf-8", "replace"))
        raise ManifestError(file, "the file is not valid UTF-8", None, line, column) from exc


def _parse_toml(file: Path, text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line, column, at_end = _split_toml_error(exc, text)
        key = _key_near(text, line, at_end) if line is not None else None
        raise ManifestError(file, f"invalid TOML: {message}", key, line, column) from exc
    except RecursionError as exc:
        raise ManifestError(file, "invalid TOML: arrays or tables nested too deeply") from exc


def _position(text_before: str) -> tuple[int, int]:
    """1-based line and column of the character that follows ``text_before``."""
    return text_before.count("\n") + 1, len(text_before) - text_before.rfind("\n")


def _split_toml_error(exc: Exception, text: str) -> tuple[str, int | None, int | None, bool]:
    """The message of a TOML error without its position, the line and column, and whether
    the parser ran into the end of the document (an unclosed string, array or table).

    Parsers that give the position as attributes (``tomli`` 2.1+, ``tomllib`` from Python
    3.14) are read as such; the ``tomllib`` of Python 3.11 to 3.13 only appends it to the
    message, in a fixed form, which is split off.
    """
    line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    if line is not None:
        message = getattr(exc, "msg", None) or str(exc)
    else:
        import re

        message = str(exc)
        found = re.search(r" \((?:at line (\d+), column (\d+)|at end of document)\)$", message)
        if found:
            message = message[: found.start()]
            line, column = (
                (int(found.group(1)), int(found.group(2))) if found.group(1) else _position(text)
            )
    at_end = line is not None and (line, column) == _position(text)
    return message, line, column, at_end


def _key_near(text: str, line: int, at_end: bool) -> str | None:
    """Best guess at the dotted key a TOML syntax error is about, or ``None``.

    Looks for a ``key = ...`` statement or a ``[table]`` header on the error's line (for an
    error at the end of the document, on the last line that has one, as an unclosed string or
    array swallows the rest of the file), with the last table header above it as context.
    Lines inside multi-line strings can fool it, which is why the result only names the key
    in the message and decides nothing.
    """
    import re

    bare_or_quoted = r"(?:[A-Za-z0-9_-]+|\"[^\"\n]*\"|'[^'\n]*')"
    dotted = rf"{bare_or_quoted}(?:\s*\.\s*{bare_or_quoted})*"
    header_re = re.compile(rf"\s*\[\[?\s*({dotted})\s*(?:\]\]?\s*(?:#.*)?)?")
    statement_re = re.compile(rf"\s*({dotted})\s*=")
    lines = text.split("\n")[:line]
    if at_end:
        while lines and not (header_re.fullmatch(lines[-1]) or statement_re.match(lines[-1])):
            lines.pop()
    if not lines or (len(lines) < line and not at_end):
        return None
    header = header_re.fullmatch(lines[-1])
    if header:
        return _normalise_key(header.group(1))
    statement = statement_re.match(lines[-1])
    if not statement:
        return None
    key = _normalise_key(statement.group(1))
    for previous in reversed(lines[:-1]):
        header = header_re.fullmatch(previous)
        if header:
            return f"{_normalise_key(header.group(1))}.{key}"
    return key


def _normalise_key(key: str) -> str:
    import re

    parts = re.findall(r"\"([^\"]*)\"|'([^']*)'|([^.\s\"']+)", key)
    return ".".join("".join(groups) for groups in parts)


class _ManifestReader:
    """Turns the parsed TOML of one manifest file into a ``Manifest``."""

    def __init__(self, file: Path):
        self.file = file
        self.base_dir = file.parent
        self.notes: list[str] = []

    def note(self, key: str, message: str) -> None:
        """Record a key that is accepted but not understood."""
        self.notes.append(f"{self.file}: {key}: {message}")

    def error(self, key: str | None, message: str) -> ManifestError:
        return ManifestError(self.file, message, key)

    def build(self, data: dict[str, Any]) -> Manifest:
        name, version, description = self.package(data.get("package"))
        dependencies = self.dependencies(data.get("dependencies"))
        sections: dict[str, SectionTable] = {}
        for key, value in data.items():
            if key in ("package", "dependencies"):
                continue
            if not isinstance(value, dict):
                hint = " (did you mean to put it under [package]?)" if key in _PACKAGE_KEYS else ""
                self.note(key, f"top-level key is not a table and is ignored{hint}")
                continue
            sections[key] = self.section(key, value)
        return Manifest(
            file=str(self.file),
            base_dir=str(self.base_dir),
            name=name,
            version=version,
            description=description,
            dependencies=dependencies,
            sections=types.MappingProxyType(sections),
        )

    def table(self, key: str, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table ([{key}]), got {_kind(value)}")
        return value

    def string(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {_kind(value)}")
        return value

    def package(self, value: Any) -> tuple[str, str, str]:
        table = self.table("package", value)
        for key in table:
            if key not in _PACKAGE_KEYS:
                self.note(f"package.{key}", "unknown key, ignored")
        if "name" in table:
            name = validate_package_name(self.string("package.name", table["name"]), file=self.file)
        else:
            name = self.base_dir.name
            if not _is_package_name(name):
                raise self.error(
                    "package.name",
                    f"the folder name {name!r} is not a valid package name (letters, digits, "
                    "'_' and '-' only); set the name in the [package] table",
                )
        version = self.string("package.version", table.get("version", DEFAULT_VERSION))
        description = self.string("package.description", table.get("description", ""))
        return name, version, description

    def dependencies(self, value: Any) -> tuple[PathEntry, ...]:
        table = self.table("dependencies", value)
        for key in table:
            if key != "packages":
                self.note(f"dependencies.{key}", "unknown key, ignored")
        entries = self.entry_list("dependencies.packages", table.get("packages", []))
        return tuple(
            self.dependency(f"dependencies.packages[{index}]", entry)
            for index, entry in enumerate(entries)
        )

    def section(self, name: str, table: dict[str, Any]) -> SectionTable:
        if not (name.isascii() and name.isidentifier() and name == name.lower()):
            raise self.error(
                name,
                f"invalid section table name [{name}]: use a lower-case identifier "
                "(letters, digits and '_', not starting with a digit)",
            )
        options = {}
        for key, value in table.items():
            if key != "paths":
                self.note(
                    f"{name}.{key}",
                    "unknown key (a section table reads only 'paths'), kept as an option",
                )
                options[key] = value
        paths = None
        if "paths" in table:
            entries = self.entry_list(f"{name}.paths", table["paths"])
            paths = tuple(
                self.section_path(f"{name}.paths[{index}]", entry)
                for index, entry in enumerate(entries)
            )
        return SectionTable(name, paths, types.MappingProxyType(options))

    def entry_list(self, key: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            hint = f" (write [{value!r}])" if isinstance(value, str) else ""
            raise self.error(key, f"must be a list, got {_kind(value)}{hint}")
        return value

    def dependency(self, key: str, entry: Any) -> PathEntry:
        path, raw, alias, alias_key = self.entry_with(key, entry, "alias", "as")
        if alias is not None:
            validate_package_name(alias, file=self.file, key=alias_key)
        return PathEntry(self.resolve(path), raw, alias=alias)

    def section_path(self, key: str, entry: Any) -> PathEntry:
        path, raw, prefix, prefix_key = self.entry_with(key, entry, "prefix", "under")
        if prefix:
            self.check_prefix(prefix_key, prefix)
        return PathEntry(self.resolve(path), raw, prefix=prefix or "")

    def entry_with(
        self, key: str, entry: Any, name: str, word: str
    ) -> tuple[str, str, str | None, str]:
        """``(path, raw, value, value's key)`` of an entry written ``"path <word> value"`` or
        ``{ path = ..., <name> = value }`` (``<word>`` also accepted as the table key)."""
        value_key = f"{key}.{name}"
        if isinstance(entry, str):
            path, value = self.split_entry(key, entry, word)
            return path, entry, value, value_key
        if not isinstance(entry, dict):
            raise self.error(key, f"must be a string or a table, got {_kind(entry)}")
        path = self.entry_path(key, entry, (name, word))
        found = self.synonym(key, entry, name, word)
        if found is None:
            return path, path, None, value_key
        value_key = f"{key}.{found[0]}"
        return path, path, self.string(value_key, found[1]), value_key

    def split_entry(self, key: str, entry: str, word: str) -> tuple[str, str | None]:
        """Split ``"path <word> value"`` on the last ``<word>`` surrounded by whitespace."""
        import re

        text = entry.strip()
        found = re.fullmatch(rf"(.*\S)\s+{word}(?:\s+(.*))?", text, re.DOTALL)
        if found and found.group(2) is None:
            raise self.error(key, f"nothing after {word!r} in {entry!r}")
        path, value = (found.group(1), found.group(2)) if found else (text, None)
        if not path:
            raise self.error(key, "empty path")
        return path, value

    def entry_path(self, key: str, entry: dict[str, Any], known: tuple[str, ...]) -> str:
        for name in entry:
            if name != "path" and name not in known:
                self.note(f"{key}.{name}", "unknown key, ignored")
        if "path" not in entry:
            raise self.error(f"{key}.path", "missing: a table entry needs a 'path'")
        path = self.string(f"{key}.path", entry["path"])
        if not path.strip():
            raise self.error(f"{key}.path", "empty path")
        return path

    def synonym(
        self, key: str, entry: dict[str, Any], name: str, other: str
    ) -> tuple[str, Any] | None:
        if name in entry and other in entry:
            raise self.error(key, f"give either {name!r} or {other!r}, not both")
        for candidate in (name, other):
            if candidate in entry:
                return candidate, entry[candidate]
        return None

    def check_prefix(self, key: str, prefix: str) -> None:
        if ":" in prefix or prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
            raise self.error(
                key,
                f"invalid prefix {prefix!r}: use '/'-separated names with no ':' and no "
                "empty, leading or trailing segment",
            )

    def resolve(self, path: str) -> str:
        return os.path.normpath(os.path.join(self.base_dir, path))


def _kind(value: Any) -> str:
    """How a parsed TOML value is described in error messages."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return f"{type(value).__name__} {value!r}"
