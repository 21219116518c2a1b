"""The records of an index file, by name, and the one codec between them and stored data.

Stored data is plain tuples, lists, dicts, strings and integers (what ``marshal`` writes).
``decode_*`` functions raise ``ValueError`` for anything malformed; callers then discover
again instead of trusting the record.
"""

from __future__ import annotations

import os
import types
from typing import Any, NamedTuple

from lllm._manifest import Manifest, PathEntry, SectionTable
from lllm._section_spec import foreign_loaders

Signature = tuple[int, int, int, int]


class ManifestRecord(NamedTuple):
    """A parsed manifest and what parsing it warned about, valid while the file keeps its
    ``signature`` and is reached from ``base_dir``."""

    signature: Signature
    base_dir: str
    data: dict[str, Any]
    notes: tuple[str, ...]


class SectionRow(NamedTuple):
    """One section of the section table: what its plugin declared."""

    name: str
    resource_type: str
    plugin: str
    cacheable: bool
    default_folder: str | None
    description: str
    loaders: dict[str, str]
    #: The plugin's top-level package: declared loaders must lie in it (or in lllm).
    package: str


class SectionsRecord(NamedTuple):
    """The section table, valid while every plugin code file keeps its signature."""

    rows: tuple[SectionRow, ...]
    plugin_code: tuple[tuple[str, Signature], ...]


class FileRecord(NamedTuple):
    """One file of a section folder: its signature, its resources (a flat list, four items
    per resource: key, loader name, attribute, extra metadata; ``None`` when the file must be
    discovered again next time) and the indexes of the files its import loaded in the
    folder's dependency table."""

    signature: Signature
    resources: tuple[Any, ...] | None
    dependencies: tuple[int, ...]


class FolderRecord(NamedTuple):
    """One section folder: every folder walked (relative path, mtime, ctime, inode; ``""``
    first), its files by relative path in walk order, and the dependency table: ``(path,
    signature, module)`` per dependency (see ``lllm._imports.Dependency``; the signature is
    ``MISSING`` for a file that must stay absent, ``module`` is empty for a plain file)."""

    dirs: tuple[tuple[str, int, int, int], ...]
    files: dict[str, FileRecord]
    dependencies: tuple[tuple[str, Signature, str], ...]


# ------------------------------------------------------------------------------- codec


def _signature(value: Any) -> Signature:
    if type(value) is not tuple or len(value) != 4 or not all(type(v) is int for v in value):
        raise ValueError("malformed signature")
    return value


def encode_folder(record: FolderRecord) -> tuple[Any, ...]:
    """``record`` as stored data."""
    return (
        tuple(tuple(d) for d in record.dirs),
        {relative: tuple(file) for relative, file in record.files.items()},
        tuple(record.dependencies),
    )


def decode_folder(data: Any) -> FolderRecord:
    """A ``FolderRecord`` from stored data (``ValueError`` if malformed). Dependency indexes
    are checked against the table; file signatures and resources when they are used."""
    if type(data) is not tuple or len(data) != 3:
        raise ValueError("malformed folder record")
    dirs, files, dependencies = data
    if type(dirs) is not tuple or type(files) is not dict or type(dependencies) is not tuple:
        raise ValueError("malformed folder record")
    for entry in dependencies:
        if (
            type(entry) is not tuple
            or len(entry) != 3
            or type(entry[0]) is not str
            or type(entry[2]) is not str
        ):
            raise ValueError("malformed dependency")
        _signature(entry[1])
    count = len(dependencies)
    new = tuple.__new__
    decoded = {}
    for relative, raw in files.items():
        if type(raw) is not tuple or len(raw) != 3:
            raise ValueError("malformed file record")
        indexes = raw[2]
        if type(indexes) is not tuple or (
            indexes and not all(type(i) is int and 0 <= i < count for i in indexes)
        ):
            raise ValueError("malformed dependency index")
        decoded[relative] = new(FileRecord, raw)
    return FolderRecord(dirs, decoded, dependencies)


def encode_sections(record: SectionsRecord) -> tuple[Any, ...]:
    """``record`` as stored data."""
    return (tuple(tuple(row) for row in record.rows), tuple(record.plugin_code))


def decode_sections(data: Any) -> SectionsRecord:
    """A ``SectionsRecord`` from stored data (``ValueError`` if malformed)."""
    if (
        type(data) is not tuple
        or len(data) != 2
        or type(data[0]) is not tuple
        or type(data[1]) is not tuple
    ):
        raise ValueError("malformed section table")
    rows = []
    for raw in data[0]:
        if type(raw) is not tuple or len(raw) != 8:
            raise ValueError("malformed section row")
        name, resource_type, plugin, cacheable, default_folder, description, loaders, package = raw
        if not (
            type(name) is str
            and type(resource_type) is str
            and type(plugin) is str
            and type(cacheable) is bool
            and (default_folder is None or type(default_folder) is str)
            and type(description) is str
            and type(loaders) is dict
            and all(type(k) is str and type(v) is str for k, v in loaders.items())
            and type(package) is str
            and not foreign_loaders(loaders, package)
        ):
            raise ValueError("malformed section row")
        rows.append(SectionRow(*raw))
    code = []
    for entry in data[1]:
        if type(entry) is not tuple or len(entry) != 2 or type(entry[0]) is not str:
            raise ValueError("malformed plugin code entry")
        code.append((entry[0], _signature(entry[1])))
    return SectionsRecord(tuple(rows), tuple(code))


def encode_manifest(record: ManifestRecord) -> tuple[Any, ...]:
    """``record`` as stored data."""
    return (tuple(record.signature), record.base_dir, record.data, tuple(record.notes))


def decode_manifest(data: Any) -> ManifestRecord:
    """A ``ManifestRecord`` from stored data (``ValueError`` if malformed)."""
    if type(data) is not tuple or len(data) != 4:
        raise ValueError("malformed manifest record")
    signature, base_dir, content, notes = data
    if type(base_dir) is not str or type(content) is not dict or type(notes) is not tuple:
        raise ValueError("malformed manifest record")
    return ManifestRecord(_signature(signature), base_dir, content, tuple(str(n) for n in notes))


def manifest_to_data(manifest: Manifest) -> dict[str, Any]:
    """The parsed manifest as plain data (see ``manifest_from_data``)."""

    def entry(e: PathEntry) -> list[Any]:
        return [str(e.path), e.raw, e.prefix, e.alias]

    return {
        "name": manifest.name,
        "version": manifest.version,
        "description": manifest.description,
        "dependencies": [entry(e) for e in manifest.dependencies],
        "sections": [
            [t.name, None if t.paths is None else [entry(e) for e in t.paths], dict(t.options)]
            for t in manifest.sections.values()
        ],
    }


def manifest_from_data(file: str, data: dict[str, Any]) -> Manifest:
    """A ``Manifest`` back from ``manifest_to_data`` data (``ValueError`` if malformed)."""
    from lllm._manifest import validate_package_name

    def entry(values: list[Any]) -> PathEntry:
        path, raw, prefix, alias = values
        if not all(isinstance(v, str) for v in (path, raw, prefix)) or not (
            alias is None or isinstance(alias, str)
        ):
            raise ValueError("malformed path entry")
        return PathEntry(path, raw, prefix, alias)

    try:
        sections = {}
        for name, paths, options in data["sections"]:
            sections[name] = SectionTable(
                name,
                None if paths is None else tuple(entry(p) for p in paths),
                types.MappingProxyType(dict(options)),
            )
        return Manifest(
            file=file,
            base_dir=os.path.dirname(file),
            name=validate_package_name(data["name"], file=file),
            version=str(data["version"]),
            description=str(data["description"]),
            dependencies=tuple(entry(d) for d in data["dependencies"]),
            sections=types.MappingProxyType(sections),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed manifest data: {exc}") from exc
