"""The discovery index cache: what a package's sections held, so later processes skip discovery.

One file per package manifest and Python version, in the user cache folder (``LLLM_CACHE_DIR`` overrides;
``LLLM_NO_CACHE=1`` disables the cache). A file records:

- the environment it was written in (lllm version and code, Python version, the
  modification times of the ``sys.path`` folders that hold distributions — which change
  when distributions, and so plugins, are installed, upgraded or removed — and the plugin
  switches); any difference → ignored;
- the manifest's size and modification time (ns) and its parsed content;
- the section table (section, resource type, owning plugin);
- per section folder: the modification time (ns) of every folder walked, and per file its
  size, modification time (ns) and the resources found in it, four items each: key, recipe,
  attribute, extra metadata.

While no folder's time changed, the set of files is the cached one and only the files are
checked (one ``stat`` each); a changed folder means a full walk. A time recorded so close to
the moment it was read that a later change could share it (one timestamp tick) is stored as
``-1``, so that entry is looked at again next time (see ``trusted_time``).

A recipe is one of a fixed set of loaders (``RECIPES``) and every path is rebuilt from the
folder being loaded, so a cache file can name neither code to run nor files elsewhere: a
corrupt, foreign or tampered file is ignored, never trusted. Files whose size or time
changed, and new files, are discovered again through their plugin; Python files are imported
only on first access of a resource they define.
"""

from __future__ import annotations

import functools
import marshal
import os
import sys
import time
import zlib
from stat import S_ISDIR as _S_ISDIR
from stat import S_ISREG as _S_ISREG
from typing import Any, Callable, Iterable

from lllm.core.resource import ResourceNode, register_named_loader
from lllm.manifest import Manifest, PathEntry, SectionTable
from lllm.sections.loaders import (
    load_config,
    load_file_value,
    load_python_object,
    load_text_prompt,
)

FORMAT = "lllm-index/2"
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
# How long after a change a timestamp may still be shared by a next change: one tick of the
# file system's clock (jiffies, or Windows' 15.6 ms) with a margin; 2 s on file systems that
# store whole seconds (FAT, HFS+, ext3).
_TICK_NS = 50_000_000
_COARSE_TICK_NS = 2_000_000_000


def cache_dir() -> str | None:
    """Where index files live, or ``None`` when ``LLLM_NO_CACHE`` is set."""
    if os.environ.get("LLLM_NO_CACHE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return None
    configured = os.environ.get("LLLM_CACHE_DIR")
    if configured:
        return os.path.expanduser(configured)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
        return os.path.join(base, "lllm", "Cache")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Caches", "lllm")
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "lllm")


_environment: dict[str, Any] | None = None


def environment() -> dict[str, Any]:
    """This process's environment signature (computed once)."""
    global _environment
    if _environment is None:
        from lllm import __version__

        paths = []
        for entry in sys.path:
            mtime = _distributions_mtime(entry)
            if mtime is not None:
                paths.append([entry, mtime])
        package_dir = os.path.dirname(__file__)
        sections_dir = os.path.join(package_dir, "sections")
        code = [os.path.join(sections_dir, n) for n in os.listdir(sections_dir) if n.endswith(".py")] + [
            os.path.join(package_dir, name)
            for name in ("discovery.py", "loader.py", "index_cache.py", "manifest.py", "walk.py", "section_spec.py")
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


def _distributions_mtime(entry: str) -> int | None:
    """The modification time of a ``sys.path`` entry that can hold distributions (and so
    plugins), else ``None``.

    A folder counts while it holds a ``*.dist-info`` or ``*.egg-info``: installing, upgrading
    or removing one changes the folder's time. Other folders (a script's own folder, say) are
    left out, so scripts run from different folders share one cache. A file entry (a zip or
    an egg) always counts.
    """
    if not entry:
        return None
    try:
        st = os.stat(entry)
        if not os.path.isdir(entry):
            return st.st_mtime_ns
        if any(name.endswith((".dist-info", ".egg-info")) for name in os.listdir(entry)):
            return st.st_mtime_ns
    except OSError:
        pass
    return None


def trusted_time(mtime_ns: int, seen_at_ns: int) -> int:
    """``mtime_ns`` as the cache records it: ``-1`` (matches nothing) when the file or folder
    changed less than a clock tick before ``seen_at_ns``, when it was looked at, since a
    change right after could keep the same timestamp."""
    tick = _COARSE_TICK_NS if mtime_ns % 1_000_000_000 == 0 else _TICK_NS
    return -1 if mtime_ns > seen_at_ns - tick else mtime_ns


def _private(path: str) -> bool:
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


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return [st.st_size, st.st_mtime_ns]


def _trusted_stat(path: str) -> list[int] | None:
    """``[size, mtime_ns]`` of ``path`` as the cache records it (see ``trusted_time``)."""
    seen_at = time.time_ns()
    st = _stat(path)
    return None if st is None else [st[0], trusted_time(st[1], seen_at)]


# -------------------------------------------------------------------------- manifests


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
    import types

    from lllm.manifest import validate_package_name

    def entry(values: list[Any]) -> PathEntry:
        path, raw, prefix, alias = values
        if not all(isinstance(v, str) for v in (path, raw, prefix)) or not (alias is None or isinstance(alias, str)):
            raise ValueError("malformed path entry")
        return PathEntry(path, raw, prefix, alias)

    sections = {}
    for name, paths, options in data["sections"]:
        sections[name] = SectionTable(
            name, None if paths is None else tuple(entry(p) for p in paths), types.MappingProxyType(dict(options))
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


# ------------------------------------------------------------------------ the records


class PackageIndex:
    """The cached index of one package (one file), read or being written."""

    def __init__(self, file: str, manifest_file: str, data: dict[str, Any] | None) -> None:
        self.file = file
        self.manifest_file = manifest_file
        self.data: dict[str, Any] = data or {}
        self.dirty = data is None
        self._manifest_seen_at = 0

    @property
    def manifest(self) -> Manifest | None:
        """The cached parsed manifest, if the manifest file is unchanged."""
        cached = self.data.get("manifest")
        try:
            # Paths in the parsed manifest were resolved from the folder it was read in: a
            # manifest reached through another path (a link) is parsed again.
            if (
                not cached
                or cached.get("stat") != _stat(self.manifest_file)
                or cached.get("base_dir") != os.path.dirname(self.manifest_file)
            ):
                return None
            return manifest_from_data(self.manifest_file, cached["data"])
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
        self.dirty = True
        data = manifest_to_data(manifest)
        try:
            marshal.dumps(data)
        except ValueError:  # a value the cache cannot store (a TOML date): parse it each time
            data = None
        if data is None or stat_before is None or _stat(self.manifest_file) != stat_before:
            self.data.pop("manifest", None)
            return
        recorded = [stat_before[0], trusted_time(stat_before[1], self._manifest_seen_at)]
        self.data["manifest"] = {
            "stat": recorded,
            "base_dir": os.path.dirname(self.manifest_file),
            "data": data,
            "notes": notes or [],
        }

    def manifest_stat(self) -> list[int] | None:
        """The manifest file's size and modification time now (taken before reading it)."""
        self._manifest_seen_at = time.time_ns()
        return _stat(self.manifest_file)

    @property
    def sections(self) -> list[list[Any]] | None:
        """The cached section table: ``[name, resource type, plugin, cacheable, default folder,
        description]`` rows.

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
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)) or _stat(item[0]) != item[1]:
                self.data.pop("sections", None)
                self.data["folders"] = {}
                self.dirty = True
                return None
        return rows

    def set_sections(self, rows: list[list[Any]], code_files: list[str]) -> None:
        """Record the section table and the plugin code files it came from."""
        code = [[path, _trusted_stat(path)] for path in sorted(set(code_files))]
        if self.data.get("sections") != rows or self.data.get("plugin_code") != code:
            self.data["sections"] = rows
            self.data["plugin_code"] = code
            self.dirty = True

    def folder(self, section: str, path: str, prefix: str) -> tuple[list[Any], dict[str, Any]]:
        """The cached record of one section folder: ``(folders, files)``.

        ``folders`` is ``[[relative path, mtime_ns, ctime_ns, inode], ...]`` for every
        folder walked, ``""`` first; ``files`` is ``{relative path: [size, mtime_ns, specs, problems]}`` in walk
        order. ``([], {})`` when there is none. The entries are not checked here: whoever
        reads them treats a malformed one as a reason to discover the folder again.
        """
        folders = self.data.setdefault("folders", {})
        record = folders.get(f"{section}|{path}|{prefix}")
        if (
            not isinstance(record, dict)
            or not isinstance(dirs := record.get("dirs"), list)
            or not isinstance(files := record.get("files"), dict)
        ):
            return [], {}
        return dirs, files

    def set_folder(
        self, section: str, path: str, prefix: str, dirs: list[Any] | None, files: dict[str, Any] | None
    ) -> None:
        """Record (or, with ``files=None``, drop) the folders and files of one section folder."""
        folders = self.data.setdefault("folders", {})
        key = f"{section}|{path}|{prefix}"
        if files is None:
            if key in folders:
                del folders[key]
                self.dirty = True
            return
        record = {"dirs": dirs, "files": files}
        if folders.get(key) != record:
            folders[key] = record
            self.dirty = True


_MAGIC = b"lllm-index\n"


def write_record(file: str | os.PathLike[str], data: dict[str, Any], *, temporary_prefix: str = ".lllm-index-") -> bool:
    """Write ``data`` to ``file`` atomically, privately (0600 in a 0700 folder); ``False`` on failure.

    The file is ``_MAGIC``, the CRC-32 of the payload (4 bytes, little-endian) and the
    payload, ``marshal`` data: no parser to import, and the checksum makes a truncated or
    damaged file one ``read_record`` rejects before decoding it.
    """
    import tempfile

    try:
        payload = marshal.dumps(data)
    except ValueError:  # a value marshal cannot store (a TOML date in a manifest option, say)
        return False
    temporary = None
    try:
        folder = os.path.dirname(os.fspath(file))
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=temporary_prefix, suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC + zlib.crc32(payload).to_bytes(4, "little") + payload)
        os.replace(temporary, file)
        return True
    except OSError:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        return False


def read_record(file: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The data ``write_record`` wrote to ``file``, or ``None`` when the file is missing, not
    private to this user (another user could have written it), damaged or not a record."""
    try:
        file = os.fspath(file)
        if not (_private(os.path.dirname(file)) and _private(file)):
            return None
        with open(file, "rb") as f:
            content = f.read()
    except OSError:
        return None
    start = len(_MAGIC) + 4
    if not content.startswith(_MAGIC) or zlib.crc32(content[start:]).to_bytes(4, "little") != content[len(_MAGIC) : start]:
        return None
    try:
        data = marshal.loads(content[start:])
    except (EOFError, ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None


class IndexCache:
    """Reads and writes ``PackageIndex`` files in one folder."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def open(self, manifest_file: str) -> PackageIndex:
        """The index for ``manifest_file``: its valid cached content, or a fresh empty one."""
        real = os.path.realpath(manifest_file)
        # One file per manifest and Python (marshal data is read by the Python that wrote it).
        file = os.path.join(self.directory, f"{_digest(real)}.{sys.implementation.cache_tag}.idx")
        candidate = read_record(file)
        data = None
        if (
            candidate is not None
            and candidate.get("format") == FORMAT
            and candidate.get("env") == environment()
            and candidate.get("manifest_file") == real
            and isinstance(candidate.get("folders", {}), dict)
        ):
            data = candidate
        index = PackageIndex(file, manifest_file, data)
        index.data.update({"format": FORMAT, "env": environment(), "manifest_file": real})
        return index

    def save(self, index: PackageIndex) -> None:
        """Write ``index`` atomically if it changed (errors writing a cache are ignored)."""
        if index.dirty and write_record(index.file, index.data):
            index.dirty = False


def _digest(text: str) -> str:
    # A file name, not a security boundary: each file also stores what it is for and is
    # checked against it on reading, so a collision only costs a re-discovery.
    data = text.encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(data):08x}{zlib.crc32(data[::-1]):08x}"


def _environment_file() -> str | None:
    directory = cache_dir()
    if directory is None:
        return None
    # repr of str/int/list/dict data is deterministic (marshal's bytes are not).
    return os.path.join(directory, f"env-{_digest(repr(environment()))}.{sys.implementation.cache_tag}.idx")


def environment_record() -> dict[str, Any] | None:
    """Facts about this environment kept across processes (``None`` when the cache is off).

    Valid only for the exact environment signature it was written under.
    """
    file = _environment_file()
    if file is None:
        return None
    data = read_record(file)
    if data is not None and data.get("format") == FORMAT and data.get("env") == environment():
        return data
    return {"format": FORMAT, "env": environment()}


def save_environment_record(record: dict[str, Any]) -> None:
    """Write the environment record atomically (errors are ignored: it is only a cache)."""
    file = _environment_file()
    if file is not None:
        write_record(file, record, temporary_prefix=".lllm-env-")


def open_cache() -> IndexCache | None:
    """The index cache of this process, or ``None`` when disabled."""
    directory = cache_dir()
    return None if directory is None else IndexCache(directory)


# ------------------------------------------------------------- node <-> cached spec


def describe_node(node: ResourceNode, origins: dict[int, tuple[str, str]]) -> list[Any] | None:
    """``[key, recipe, attribute, extra metadata]`` for a freshly discovered node, or ``None``
    when the node cannot be rebuilt from a recipe (its folder is then not cached)."""
    file = node.metadata.get("file_path")
    extra = {k: v for k, v in node.metadata.items() if k not in _STANDARD_METADATA}
    if extra:
        try:
            marshal.dumps(extra)
        except ValueError:
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


def restat(root: str, dirs: list[Any], files: dict[str, Any]) -> list[tuple[str, str, int, int]] | None:
    """The files of a cached folder with their stats now, as ``walk_stats`` gives them, or
    ``None`` when the cached listing cannot be trusted: a folder's times or inode differ from
    the recorded ones (an entry was added, removed or renamed in it, or a link to it points
    elsewhere now), or a file is gone.

    One ``stat`` per folder and per file, and no folder listing.
    """
    stat = os.stat
    sep = os.sep
    found = []
    try:
        if not _walkable([folder[0] for folder in dirs if folder[0]]) or not _walkable(files):
            return None
        for relative, mtime, ctime, inode in dirs:
            st = stat(f"{root}{sep}{relative}" if relative else root)
            if st.st_mtime_ns != mtime or st.st_ctime_ns != ctime or st.st_ino != inode or not _S_ISDIR(st.st_mode):
                return None
        for relative in files:
            path = f"{root}{sep}{relative if sep == '/' else relative.replace('/', sep)}"
            st = stat(path)
            if not _S_ISREG(st.st_mode):
                return None
            found.append((path, relative, st.st_size, st.st_mtime_ns))
    except (OSError, TypeError, ValueError):
        return None
    return found


def _walkable(relatives: Iterable[str]) -> bool:
    """Whether every path in ``relatives`` is one a walk could have found: ``/``-separated
    segments, none empty, hidden or ``_``-private (so no ``.`` or ``..``), no other separator.

    Checked in one pass over the paths joined by NUL (``TypeError`` for a non-string).
    """
    text = "\0" + "\0".join(relatives) + "\0"
    if text == "\0\0":
        return True
    if any(bad in text for bad in _NOT_WALKABLE):
        return False
    return not any(separator in text for separator in _OTHER_SEPARATORS)


_NOT_WALKABLE = ("/.", "/_", "//", "\0.", "\0_", "\0/", "/\0", "\0\0")
_OTHER_SEPARATORS = tuple(s for s in (os.sep, os.altsep) if s and s != "/")


def add_cached_nodes(
    nodes: list[ResourceNode],
    files: Iterable[tuple[str, list[Any]]],
    package_root: str,
    namespace: str,
    resource_type: str,
    base_metadata: dict[str, Any],
) -> None:
    """Append to ``nodes`` the lazy nodes that cached files describe.

    ``files`` gives ``(path, specs)`` per file, ``specs`` being the flat list ``[key, recipe,
    attribute, extra metadata, key, ...]`` (four items per resource). Anything malformed
    raises ``ValueError`` or the error its use gives (``TypeError``...): the caller then
    discovers the folder instead. ``namespace`` and paths come from the loader, never from
    the cache; keys are checked here. Nodes of one file share one metadata dict (treat node
    metadata as read-only).
    """
    lazy = ResourceNode._lazy_unchecked
    append = nodes.append
    keys: list[str] = []
    add_key = keys.append
    for file, specs in files:
        if len(specs) % 4:
            raise ValueError("malformed resource list")
        shared = {"file_path": file, **base_metadata}
        items = iter(specs)
        for key, recipe, attribute, extra in zip(items, items, items, items):
            if recipe == "python" and type(attribute) is str and attribute:
                loader: tuple[str, ...] = ("lllm.python", file, package_root, attribute)
            elif recipe == "file":
                loader = ("lllm.file", file)
            elif recipe == "config":
                loader = ("lllm.config", file)
            elif recipe == "text_prompt":
                loader = ("lllm.text_prompt", file, key)
            else:
                raise ValueError(f"unknown recipe {recipe!r}")
            add_key(key)
            if extra:
                if not isinstance(extra, dict):
                    raise ValueError("malformed metadata")
                append(lazy(key, namespace, resource_type, {**shared, **extra}, loader))
            else:
                append(lazy(key, namespace, resource_type, shared, loader))
    if keys:
        _check_keys(keys)


def _check_keys(keys: list[str]) -> None:
    """``ValueError`` unless every key is valid (see ``validate_key``), checked in one pass:
    keys joined by NUL, which no valid key boundary can hide (``TypeError`` for a non-string)."""
    text = "\0" + "\0".join(keys) + "\0"
    if ":" in text or "//" in text or "\0/" in text or "/\0" in text or "\0\0" in text:
        raise ValueError("malformed key")
