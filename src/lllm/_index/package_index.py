"""One package's index file: its manifest, section table and section folders.

``IndexCache.open`` reads the file (ignoring one written for another environment or
manifest, or damaged), ``PackageIndex`` answers and records, ``IndexCache.save`` writes it
back atomically when something changed.
"""

from __future__ import annotations

import os
import time
from typing import Any

from lllm._index.fileformat import read_record, write_record
from lllm._index.fingerprint import environment
from lllm._index.freshness import current_signature, signature, signature_now, unchanged
from lllm._index.location import package_file
from lllm._index.records import (
    FolderRecord,
    ManifestRecord,
    SectionRow,
    SectionsRecord,
    decode_folder,
    decode_manifest,
    decode_sections,
    encode_folder,
    encode_manifest,
    encode_sections,
    manifest_from_data,
    manifest_to_data,
)
from lllm._manifest import Manifest

FORMAT = "lllm-index/3"


class PackageIndex:
    """The cached index of one package (one file), read or being written."""

    def __init__(self, file: str, manifest_file: str, data: dict[str, Any] | None) -> None:
        self.file = file
        self.manifest_file = manifest_file
        self.data: dict[str, Any] = data or {}
        self.dirty = data is None
        self._visited: set[str] = set()

    # ------------------------------------------------------------------------ manifest

    def manifest(self) -> tuple[Manifest, tuple[str, ...]] | None:
        """The cached parsed manifest and its parse warnings, if the file is unchanged and
        reached from the same folder (relative paths in it were resolved from there)."""
        stored = self.data.get("manifest")
        if stored is None:
            return None
        try:
            record = decode_manifest(stored)
            if record.base_dir != os.path.dirname(self.manifest_file) or not unchanged(
                self.manifest_file, record.signature
            ):
                return None
            return manifest_from_data(self.manifest_file, record.data), record.notes
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return None

    def manifest_stat(self) -> tuple[os.stat_result, int] | None:
        """The manifest file's ``stat`` now and when it was taken (before reading the file)."""
        seen_at = time.time_ns()
        try:
            return os.stat(self.manifest_file), seen_at
        except OSError:
            return None

    def record_manifest(
        self, manifest: Manifest, notes: list[str], stat_before: tuple[os.stat_result, int] | None
    ) -> None:
        """Record the manifest just parsed and its warnings, if the file did not change while
        it was read (``stat_before`` from ``manifest_stat``) and it holds only values the
        cache can store (a TOML date does not: such a manifest is parsed each time)."""
        self.dirty = True
        self.data.pop("manifest", None)
        if stat_before is None or not unchanged(
            self.manifest_file, current_signature(stat_before[0])
        ):
            return
        record = ManifestRecord(
            signature(*stat_before),
            os.path.dirname(self.manifest_file),
            manifest_to_data(manifest),
            tuple(notes),
        )
        import marshal

        try:
            marshal.dumps(record.data)
        except ValueError:
            return
        self.data["manifest"] = encode_manifest(record)

    # ----------------------------------------------------------------------- sections

    def sections(self) -> tuple[SectionRow, ...] | None:
        """The cached section table, or ``None`` when absent or when the code of a plugin
        that made it changed since (an editable plugin being worked on): then the cached
        folders go too."""
        stored = self.data.get("sections")
        if stored is None:
            return None
        try:
            record = decode_sections(stored)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            record = None
        if record is None or not all(
            unchanged(path, recorded) for path, recorded in record.plugin_code
        ):
            self.forget_sections()
            return None
        return record.rows

    def forget_sections(self) -> None:
        """Drop the section table and every folder (they were found by its plugins)."""
        if "sections" in self.data or self.data.get("folders"):
            self.dirty = True
        self.data.pop("sections", None)
        self.data["folders"] = {}

    def record_sections(self, rows: list[SectionRow], plugin_code: list[str]) -> None:
        """Record the section table and the signatures of the plugin code files it came from."""
        record = SectionsRecord(
            tuple(rows), tuple((path, signature_now(path)) for path in sorted(set(plugin_code)))
        )
        encoded = encode_sections(record)
        if self.data.get("sections") != encoded:
            self.data["sections"] = encoded
            self.dirty = True

    def add_plugin_code(self, plugin_code: list[str]) -> None:
        """Add plugin code files not recorded yet to the (unchanged) section table's: modules a
        plugin imported only now. Those recorded keep the signature they were checked against."""
        stored = self.data.get("sections")
        if stored is None:
            return
        try:
            record = decode_sections(stored)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            self.forget_sections()
            return
        known = {path for path, _ in record.plugin_code}
        added = tuple((path, signature_now(path)) for path in sorted(set(plugin_code) - known))
        if added:
            self.data["sections"] = encode_sections(
                SectionsRecord(record.rows, record.plugin_code + added)
            )
            self.dirty = True

    # ------------------------------------------------------------------------ folders

    @staticmethod
    def _folder_key(section: str, path: str, prefix: str) -> str:
        return f"{section}|{path}|{prefix}"

    def folder(self, section: str, path: str, prefix: str) -> FolderRecord | None:
        """The cached record of one section folder, or ``None`` (absent or malformed)."""
        folders = self.data.get("folders")
        key = self._folder_key(section, path, prefix)
        self._visited.add(key)
        stored = folders.get(key) if type(folders) is dict else None
        if stored is None:
            return None
        try:
            return decode_folder(stored)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return None

    def set_folder(self, section: str, path: str, prefix: str, record: FolderRecord | None) -> None:
        """Record (or, with ``None``, drop) one section folder."""
        folders = self.data.get("folders")
        if type(folders) is not dict:
            folders = self.data["folders"] = {}
        key = self._folder_key(section, path, prefix)
        if record is None:
            if key in folders:
                del folders[key]
                self.dirty = True
            return
        encoded = encode_folder(record)
        if folders.get(key) != encoded:
            folders[key] = encoded
            self.dirty = True

    def drop_unvisited_folders(self) -> None:
        """Forget the records of section folders this load did not look at (a section path
        the manifest no longer lists), after a load that looked at every section."""
        folders = self.data.get("folders")
        if type(folders) is dict:
            for key in [key for key in folders if key not in self._visited]:
                del folders[key]
                self.dirty = True


class IndexCache:
    """Reads and writes ``PackageIndex`` files in one folder."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def open(self, manifest_file: str) -> PackageIndex:
        """The index for ``manifest_file``: its valid cached content, or a fresh empty one."""
        real = os.path.realpath(manifest_file)
        file = package_file(self.directory, real)
        candidate = read_record(file)
        data = None
        if (
            candidate is not None
            and candidate.get("format") == FORMAT
            and candidate.get("env") == environment()
            and candidate.get("manifest_file") == real
        ):
            data = candidate
        index = PackageIndex(file, manifest_file, data)
        index.data.update({"format": FORMAT, "env": environment(), "manifest_file": real})
        return index

    def save(self, index: PackageIndex) -> None:
        """Write ``index`` atomically if it changed (errors writing a cache are ignored)."""
        if index.dirty and write_record(index.file, index.data):
            index.dirty = False


def open_cache() -> IndexCache | None:
    """The index cache of this process, or ``None`` when disabled (``LLLM_NO_CACHE``)."""
    from lllm._index.location import cache_dir

    directory = cache_dir()
    return None if directory is None else IndexCache(directory)
