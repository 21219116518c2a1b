"""The discovery index cache: what a package's sections held, so later processes skip discovery.

One JSON file per package manifest, in the user cache folder (``LLLM_CACHE_DIR`` overrides;
``LLLM_NO_CACHE=1`` disables the cache). A file records:

- the environment it was written in (lllm version and code, Python version, the ``sys.path``
  folders' modification times — which change when distributions, and so plugins, are
  installed, upgraded or removed — and the plugin switches); any difference → ignored;
- the manifest's size and modification time (ns) and its parsed content;
- the section table (section, resource type, owning plugin);
- per section folder, per file: size, modification time (ns) and the resources found in it,
  each as ``[key, recipe, attribute]``.

A recipe is one of a fixed set of loaders (``RECIPES``) and every path is rebuilt from the
folder being loaded, so a cache file can name neither code to run nor files elsewhere: a
corrupt, foreign or tampered file is ignored, never trusted. Files whose size or time
changed, and new files, are discovered again through their plugin; Python files are imported
only on first access of a resource they define.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

from lllm.core.resource import ResourceNode, register_named_loader
from lllm.manifest import Manifest, PathEntry, SectionTable
from lllm.sections.loaders import (
    load_config,
    load_file_value,
    load_python_object,
    load_text_prompt,
)

FORMAT = "lllm-index/1"
#: The only loaders a cached resource can name.
RECIPES: dict[str, Callable[..., Any]] = {
    "file": load_file_value,
    "config": load_config,
    "text_prompt": load_text_prompt,
    "python": load_python_object,
}
_RECIPE_OF: dict[Callable[..., Any], str] = {function: name for name, function in RECIPES.items()}
for _name, _function in RECIPES.items():
    register_named_loader(f"lllm.{_name}", _function)
_STANDARD_METADATA = ("file_path", "package", "section", "plugin")


def cache_dir() -> Path | None:
    """Where index files live, or ``None`` when ``LLLM_NO_CACHE`` is set."""
    if os.environ.get("LLLM_NO_CACHE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return None
    configured = os.environ.get("LLLM_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
        return Path(base) / "lllm" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "lllm"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lllm"


_environment: dict[str, Any] | None = None


def environment() -> dict[str, Any]:
    """This process's environment signature (computed once)."""
    global _environment
    if _environment is None:
        from lllm import __version__

        cwd = os.getcwd()
        paths = []
        for entry in sys.path:
            if not entry or os.path.abspath(entry) == cwd:
                continue
            try:
                paths.append([entry, os.stat(entry).st_mtime_ns])
            except OSError:
                continue
        package_dir = Path(__file__).parent
        code = [str(p) for p in (package_dir / "sections").glob("*.py")] + [
            str(package_dir / name) for name in ("discovery.py", "loader.py", "index_cache.py", "manifest.py")
        ]
        code_times = sorted(os.stat(f).st_mtime_ns for f in code if os.path.exists(f))
        switches = {n: os.environ.get(n, "") for n in ("LLLM_DISABLE_PLUGINS", "LLLM_PLUGINS_AUTOLOAD", "LLLM_STRICT_PLUGINS")}
        _environment = {
            "lllm": __version__,
            "python": sys.version,
            "paths": paths,
            "code": code_times[-1] if code_times else 0,
            "switches": switches,
        }
    return _environment


def _private(path: Path) -> bool:
    """Whether ``path`` belongs to this user and no one else may write it (POSIX).

    A cache another user could have written is never used: it could name folders to import.
    """
    if not hasattr(os, "getuid"):
        return True
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _stat(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


# -------------------------------------------------------------------------- manifests


def manifest_to_json(manifest: Manifest) -> dict[str, Any]:
    """The parsed manifest as JSON data."""

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


def manifest_from_json(file: Path, data: dict[str, Any]) -> Manifest:
    """A ``Manifest`` back from ``manifest_to_json`` data (``ValueError`` if malformed)."""
    import types

    from lllm.manifest import validate_package_name

    def entry(values: list[Any]) -> PathEntry:
        path, raw, prefix, alias = values
        if not all(isinstance(v, str) for v in (path, raw, prefix)) or not (alias is None or isinstance(alias, str)):
            raise ValueError("malformed path entry")
        return PathEntry(Path(path), raw, prefix, alias)

    sections = {}
    for name, paths, options in data["sections"]:
        sections[name] = SectionTable(
            name, None if paths is None else tuple(entry(p) for p in paths), types.MappingProxyType(dict(options))
        )
    return Manifest(
        file=file,
        base_dir=file.parent,
        name=validate_package_name(data["name"], file=file),
        version=str(data["version"]),
        description=str(data["description"]),
        dependencies=tuple(entry(d) for d in data["dependencies"]),
        sections=types.MappingProxyType(sections),
    )


# ------------------------------------------------------------------------ the records


class PackageIndex:
    """The cached index of one package (one file), read or being written."""

    def __init__(self, file: Path, manifest_file: Path, data: dict[str, Any] | None) -> None:
        self.file = file
        self.manifest_file = manifest_file
        self.data: dict[str, Any] = data or {}
        self.dirty = data is None

    @property
    def manifest(self) -> Manifest | None:
        """The cached parsed manifest, if the manifest file is unchanged."""
        cached = self.data.get("manifest")
        try:
            if not cached or cached.get("stat") != _stat(self.manifest_file):
                return None
            return manifest_from_json(self.manifest_file, cached["data"])
        except (AttributeError, KeyError, TypeError, ValueError):
            return None

    @property
    def manifest_notes(self) -> list[str]:
        """The warnings parsing the (unchanged) manifest gave."""
        notes = (self.data.get("manifest") or {}).get("notes") or []
        return [str(n) for n in notes] if isinstance(notes, list) else []

    def set_manifest(self, manifest: Manifest, notes: list[str] | None, stat_before: list[int] | None) -> None:
        """Record the manifest just parsed and its warnings, if the file did not change while
        it was read (``stat_before`` was taken before reading)."""
        if stat_before is None or _stat(self.manifest_file) != stat_before:
            self.data.pop("manifest", None)
            self.dirty = True
            return
        self.data["manifest"] = {"stat": stat_before, "data": manifest_to_json(manifest), "notes": notes or []}
        self.dirty = True

    def manifest_stat(self) -> list[int] | None:
        """The manifest file's size and modification time now."""
        return _stat(self.manifest_file)

    @property
    def sections(self) -> list[list[Any]] | None:
        """The cached section table: ``[name, resource type, plugin, cacheable]`` rows.

        ``None`` when absent, or when the code of a plugin that made it has changed since (an
        editable install being worked on): then the cached folders go too.
        """
        rows = self.data.get("sections")
        if rows is None:
            return None
        code = self.data.get("plugin_code", [])
        if not isinstance(rows, list) or not isinstance(code, list):
            return None
        for item in code:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)) or _stat(Path(item[0])) != item[1]:
                self.data.pop("sections", None)
                self.data["folders"] = {}
                self.dirty = True
                return None
        return rows

    def set_sections(self, rows: list[list[Any]], code_files: list[str]) -> None:
        """Record the section table and the plugin code files it came from."""
        code = [[path, _stat(Path(path))] for path in sorted(set(code_files))]
        if self.data.get("sections") != rows or self.data.get("plugin_code") != code:
            self.data["sections"] = rows
            self.data["plugin_code"] = code
            self.dirty = True

    def folder(self, section: str, path: Path, prefix: str) -> dict[str, Any]:
        """The cached files of one section folder: ``{relative path: [size, mtime_ns, specs, problems]}``.

        Records of the wrong shape are dropped here, so a damaged file costs a re-discovery.
        """
        folders = self.data.setdefault("folders", {})
        records = folders.get(f"{section}|{path}|{prefix}")
        if not isinstance(records, dict):
            return {}
        return {
            relative: record
            for relative, record in records.items()
            if isinstance(record, list)
            and len(record) == 4
            and isinstance(record[2], list)
            and (record[3] is None or isinstance(record[3], list))
        }

    def set_folder(self, section: str, path: Path, prefix: str, files: dict[str, Any] | None) -> None:
        """Record (or, with ``None``, drop) the files of one section folder."""
        folders = self.data.setdefault("folders", {})
        key = f"{section}|{path}|{prefix}"
        if files is None:
            if key in folders:
                del folders[key]
                self.dirty = True
        elif folders.get(key) != files:
            folders[key] = files
            self.dirty = True


class IndexCache:
    """Reads and writes ``PackageIndex`` files in one folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _file_for(self, manifest_file: Path) -> Path:
        return self.directory / f"{_digest(os.path.realpath(manifest_file))}.json"

    def open(self, manifest_file: Path) -> PackageIndex:
        """The index for ``manifest_file``: its valid cached content, or a fresh empty one."""
        file = self._file_for(manifest_file)
        data = None
        try:
            if _private(self.directory) and _private(file):
                with open(file, encoding="utf-8") as f:
                    candidate = json.load(f)
                if (
                    isinstance(candidate, dict)
                    and candidate.get("format") == FORMAT
                    and candidate.get("env") == environment()
                    and candidate.get("manifest_file") == os.path.realpath(manifest_file)
                    and isinstance(candidate.get("folders", {}), dict)
                ):
                    data = candidate
        except (OSError, ValueError, UnicodeDecodeError):
            data = None
        index = PackageIndex(file, manifest_file, data)
        index.data.update({"format": FORMAT, "env": environment(), "manifest_file": os.path.realpath(manifest_file)})
        return index

    def save(self, index: PackageIndex) -> None:
        """Write ``index`` atomically if it changed (errors writing a cache are ignored)."""
        if not index.dirty:
            return
        import tempfile

        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, temporary = tempfile.mkstemp(prefix=".lllm-index-", suffix=".tmp", dir=self.directory)
            # dumps, not dump: only dumps uses the C encoder.
            text = json.dumps(index.data, separators=(",", ":"))
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(temporary, index.file)
            index.dirty = False
        except OSError:
            try:
                os.unlink(temporary)  # type: ignore[possibly-undefined]
            except (OSError, UnboundLocalError):
                pass


def _digest(text: str) -> str:
    # A file name, not a security boundary: each file also stores what it is for and is
    # checked against it on reading, so a collision only costs a re-discovery.
    import zlib

    data = text.encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(data):08x}{zlib.crc32(data[::-1]):08x}"


def _environment_file() -> Path | None:
    directory = cache_dir()
    if directory is None:
        return None
    return directory / f"env-{_digest(json.dumps(environment(), sort_keys=True))}.json"


def environment_record() -> dict[str, Any] | None:
    """Facts about this environment kept across processes (``None`` when the cache is off).

    Valid only for the exact environment signature it was written under.
    """
    file = _environment_file()
    if file is None:
        return None
    try:
        if _private(file.parent) and _private(file):
            with open(file, encoding="utf-8") as f:
                data = json.load(f)
            if isinstance(data, dict) and data.get("format") == FORMAT and data.get("env") == environment():
                return data
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    return {"format": FORMAT, "env": environment()}


def save_environment_record(record: dict[str, Any]) -> None:
    """Write the environment record atomically (errors are ignored: it is only a cache)."""
    file = _environment_file()
    if file is None:
        return
    import tempfile

    try:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(prefix=".lllm-env-", suffix=".tmp", dir=file.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(temporary, file)
    except OSError:
        pass


def open_cache() -> IndexCache | None:
    """The index cache of this process, or ``None`` when disabled."""
    directory = cache_dir()
    return None if directory is None else IndexCache(directory)


# ------------------------------------------------------------- node <-> cached spec


def describe_node(node: ResourceNode, origins: dict[int, tuple[Path, str]]) -> list[Any] | None:
    """``[key, recipe, attribute, extra metadata]`` for a freshly discovered node, or ``None``
    when the node cannot be rebuilt from a recipe (its folder is then not cached)."""
    file = node.metadata.get("file_path")
    extra = {k: v for k, v in node.metadata.items() if k not in _STANDARD_METADATA}
    if extra:
        try:
            json.dumps(extra)
        except (TypeError, ValueError):
            return None
    if not node.is_loaded:
        loader = node._loader
        if not isinstance(loader, functools.partial) or loader.keywords:
            return None
        recipe = _RECIPE_OF.get(loader.func)
        args = loader.args
        if recipe in ("file", "config") and len(args) == 1 and str(args[0]) == file:
            return [node.key, recipe, None, extra or None]
        if recipe == "text_prompt" and len(args) == 2 and str(args[0]) == file and args[1] == node.key:
            return [node.key, recipe, None, extra or None]
        return None
    origin = origins.get(id(node.value))
    if origin is None or str(origin[0]) != file:
        return None
    return [node.key, "python", origin[1], extra or None]


def build_file_nodes(
    specs: list[Any], file: str, package_root: Path, namespace: str, resource_type: str, base_metadata: dict[str, Any]
) -> list[ResourceNode]:
    """The lazy nodes the cached specs of one file describe (``ValueError`` for anything malformed).

    ``namespace`` and paths come from the loader, never from the cache; keys are checked
    here. Nodes of one file share one metadata dict (treat node metadata as read-only).
    """
    shared = {"file_path": file, **base_metadata}
    nodes = []
    lazy = ResourceNode._lazy_unchecked
    root = str(package_root)
    for spec in specs:
        key, recipe, attribute, extra = spec
        if type(key) is not str or not key or ":" in key or key[0] == "/" or key[-1] == "/" or "//" in key:
            raise ValueError(f"malformed key {key!r}")
        if recipe == "python" and type(attribute) is str and attribute:
            loader: tuple[str, ...] = ("lllm.python", file, root, attribute)
        elif recipe == "file":
            loader = ("lllm.file", file)
        elif recipe == "config":
            loader = ("lllm.config", file)
        elif recipe == "text_prompt":
            loader = ("lllm.text_prompt", file, key)
        else:
            raise ValueError(f"unknown recipe {recipe!r}")
        metadata = shared
        if extra:
            if not isinstance(extra, dict):
                raise ValueError("malformed metadata")
            metadata = {**shared, **extra}
        nodes.append(lazy(key, namespace, resource_type, metadata, loader))
    return nodes
