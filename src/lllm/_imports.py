"""Importing the Python files of packages: a finder and loader of lllm's own, and import closures.

The files of a package are imported as submodules of a synthetic package named after the
real folder they are anchored at (``_lllm_pkgs.<stem>_<digest>``), once per process, so
relative imports between them work and every runtime shares one module per file.

Every module under ``_lllm_pkgs`` (the files, and the siblings and helpers they import) is
loaded by ``PackageFileLoader``, which validates bytecode against the source's *content*: it
keeps checked hash-based ``.pyc`` files (PEP 552) in the index cache's folder
(``bytecode/``, private to the user; written on first access of a resource, not during
discovery; none when the cache is off, nor with ``sys.dont_write_bytecode``) and uses one
only when it was compiled from exactly the current source. A same-size edit made within the second its bytecode was written, a ``git checkout``
or an ``unzip -o`` that restores old timestamps can therefore never run stale code, which
Python's default timestamp ``.pyc`` files allow; and importing a package writes nothing into
its folders. lllm adds its finder to ``sys.meta_path`` once, on the first such import; it
answers only names under ``_lllm_pkgs``.

``import_closure`` gives what a module's import depends on, for the discovery index cache:
the files of every module it imports (statically, or that appeared while it was imported)
that is neither part of the standard library, of an installed distribution, nor of lllm
itself — siblings in the package, helper modules of the project, the source of an editable
install — transitively, with the files that must stay absent for its imports to resolve as
they did, and the modules found through ``sys.path``.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import itertools
import opcode
import os
import sys
import threading
import types
from collections.abc import Iterable
from typing import Any, NamedTuple

#: The parent of the synthetic packages that package files are imported under.
MODULE_ROOT = "_lllm_pkgs"
_PREFIX = MODULE_ROOT + "."
# PEP 552 flags: bit 0 = hash-based, bit 1 = check the source.
_CHECKED_HASH_FLAGS = (0b11).to_bytes(4, "little")
_setup_lock = threading.Lock()
# Per thread: how many ImportWatch blocks are open (discovery is importing).
_watching = threading.local()
#: ``(name, level, fromlist)`` of one import statement.
ImportStatement = tuple[str, int, tuple[str, ...]]


class PackageFileLoader(importlib.machinery.SourceFileLoader):
    """A source loader whose bytecode cache is keyed by the source's content (see the module doc).

    While this thread is inside an ``ImportWatch`` (discovery), it keeps the import
    statements of the code it runs (``import_statements``), for ``import_closure``.
    """

    import_statements: list[ImportStatement] | None = None
    #: ``(stat, time_ns)`` of the source file taken just before the code that ran was read.
    executed_stat: tuple[os.stat_result, int] | None = None

    def exec_module(self, module: types.ModuleType) -> None:
        """Run the module's code (keeping its import statements first, during discovery)."""
        code, self.executed_stat = self._code(module.__name__)
        if getattr(_watching, "depth", 0):
            self.import_statements = imported_names(code)
        exec(code, module.__dict__)

    def get_code(self, fullname: str) -> types.CodeType:
        """The code of module ``fullname``: from a checked hash-based ``.pyc`` of this exact
        source, else compiled from the source (and cached as such a ``.pyc``)."""
        return self._code(fullname)[0]

    def _code(self, fullname: str) -> tuple[types.CodeType, tuple[os.stat_result, int] | None]:
        import time

        path = self.get_filename(fullname)
        seen_at = time.time_ns()
        try:
            st: tuple[os.stat_result, int] | None = (os.stat(path), seen_at)
        except OSError:
            st = None
        source = self.get_data(path)
        source_hash = importlib.util.source_hash(source)
        bytecode_path = _bytecode_path(path)
        if bytecode_path is not None:
            code = _cached_code(bytecode_path, source_hash)
            if code is not None:
                return code, st
        code = self.source_to_code(source, path)
        # Not during discovery (an ImportWatch): a cold start would write a file per package
        # file at once; bytecode is written on first access of a resource instead.
        if (
            bytecode_path is not None
            and not sys.dont_write_bytecode
            and not getattr(_watching, "depth", 0)
        ):
            import marshal

            from lllm._index.fileformat import write_private

            header = importlib.util.MAGIC_NUMBER + _CHECKED_HASH_FLAGS + source_hash
            write_private(
                bytecode_path, header + marshal.dumps(code), temporary_prefix=".lllm-pyc-"
            )
        return code, st


def _bytecode_path(source: str) -> str | None:
    """Where the bytecode of ``source`` is kept: in the index cache's folder
    (``bytecode/<checksum of the real path>.<cache tag>.pyc``), never beside the source, so
    importing writes nothing into package folders; ``None`` when the cache is off."""
    from lllm._index.location import cache_dir, digest

    directory = cache_dir()
    tag = sys.implementation.cache_tag
    if directory is None or tag is None:
        return None
    return os.path.join(directory, "bytecode", f"{digest(os.path.realpath(source))}.{tag}.pyc")


def _cached_code(bytecode_path: str, source_hash: bytes) -> types.CodeType | None:
    """The code in ``bytecode_path`` if it is a checked hash-based ``.pyc`` of a source with
    ``source_hash``, in a folder private to this user, else ``None``."""
    import marshal

    from lllm._index.fileformat import read_private

    data = read_private(bytecode_path)
    if data is None:
        return None
    if (
        len(data) < 16
        or data[:4] != importlib.util.MAGIC_NUMBER
        or data[4:8] != _CHECKED_HASH_FLAGS
        or data[8:16] != source_hash
    ):
        return None
    try:
        code = marshal.loads(memoryview(data)[16:])
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, types.CodeType) else None


#: Starts the module name of a ``.py`` file whose stem is no plain module name: one with a
#: folder of the same name beside it, or with a dot in it (``v1.2.py``); the stem follows in hex.
ENCODED_FILE = "_lllm_file_"
#: Starts the module name of a folder with a dot in its name; the name follows in hex.
ENCODED_FOLDER = "_lllm_folder_"


class PackageFileFinder:
    """The ``sys.meta_path`` finder of modules under ``_lllm_pkgs``: ``.py`` files and folders
    (regular or namespace packages) in the parent package's ``__path__``, loaded by
    ``PackageFileLoader``. Anything else (an extension module, say) is left to the finders
    after it.

    Unlike Python's own finder, a folder wins over a ``.py`` file of the same name beside it
    (``proxies/`` over ``proxies.py`` at a package root; ``prompts/chat/`` over
    ``prompts/chat.py``), so the files in the folder load and the file beside it never runs by
    accident; such a file is imported under an encoded name (``ENCODED_FILE``, see
    ``module_name_for``), as is a file with a dot in its stem.
    """

    #: Marks the finder in ``sys.meta_path`` (one per process, even if lllm is reloaded).
    lllm_package_files = True

    @staticmethod
    def find_spec(
        fullname: str, path: Iterable[str] | None = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        """The spec of ``fullname`` when it is a module under ``_lllm_pkgs`` found in ``path``."""
        if path is None or not fullname.startswith(_PREFIX):
            return None
        name = fullname.rpartition(".")[2]
        folders = [os.fspath(p) for p in path]
        folder_only = name.startswith(ENCODED_FOLDER)
        if folder_only or name.startswith(ENCODED_FILE):
            try:
                prefix = ENCODED_FOLDER if folder_only else ENCODED_FILE
                decoded = bytes.fromhex(name[len(prefix) :]).decode("utf-8", "surrogateescape")
            except ValueError:
                return None
            if not folder_only:
                return _file_spec(fullname, folders, decoded)
            name = decoded
        for folder in folders:
            base = os.path.join(folder, name)
            init = os.path.join(base, "__init__.py")
            if _is_file(init, folder, name):
                return importlib.util.spec_from_file_location(
                    fullname,
                    init,
                    loader=PackageFileLoader(fullname, init),
                    submodule_search_locations=[base],
                )
        portions = [
            os.path.join(folder, name)
            for folder in folders
            if os.path.isdir(os.path.join(folder, name))
        ]
        if portions:
            spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
            spec.submodule_search_locations = portions
            return spec
        return None if folder_only else _file_spec(fullname, folders, name)

    @staticmethod
    def invalidate_caches() -> None:
        """Nothing is cached (``importlib.invalidate_caches`` calls this)."""


def _file_spec(
    fullname: str, folders: list[str], stem: str
) -> importlib.machinery.ModuleSpec | None:
    """The spec of module ``fullname`` from the first ``<stem>.py`` in ``folders``."""
    for folder in folders:
        file = os.path.join(folder, stem + ".py")
        if _is_file(file, folder, stem + ".py"):
            return importlib.util.spec_from_file_location(
                fullname, file, loader=PackageFileLoader(fullname, file)
            )
    return None


def _is_file(path: str, folder: str, entry: str) -> bool:
    """Whether ``path`` is a file whose ``entry`` in ``folder`` matches the name's case, even on
    file systems that ignore case (as Python's own finder requires)."""
    if not os.path.isfile(path):
        return False
    if sys.platform not in ("win32", "cygwin", "darwin"):
        return True
    try:
        return entry in os.listdir(folder)
    except OSError:
        return False


def _install_finder() -> None:
    if not any(getattr(finder, "lllm_package_files", False) for finder in sys.meta_path):
        sys.meta_path.insert(0, PackageFileFinder())  # type: ignore[arg-type]


@functools.cache
def _real(path: str) -> str:
    return os.path.realpath(path)


@functools.cache
def module_root_name(folder: str | os.PathLike[str]) -> str:
    """The synthetic package name that files under ``folder`` are imported beneath."""
    import hashlib

    real = os.path.realpath(folder)
    digest = hashlib.sha1(real.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    stem = "".join(c if c.isalnum() or c == "_" else "_" for c in os.path.basename(real)) or "root"
    return f"{MODULE_ROOT}.{stem}_{digest}"


def _ensure_package_module(name: str, path: str | None) -> None:
    if name in sys.modules:
        return
    module = types.ModuleType(name)
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = [] if path is None else [path]
    module.__spec__ = spec
    module.__path__ = spec.submodule_search_locations
    module.__package__ = name
    sys.modules[name] = module


def module_name_for(file: str | os.PathLike[str], root: str | os.PathLike[str]) -> str:
    """The module name ``file`` (under ``root``) is imported as; ``ValueError`` if outside."""
    real_root = _real(os.fspath(root))
    real_file = os.path.realpath(file)
    if not real_file.startswith(real_root + os.sep):
        raise ValueError(f"{file} is not inside {root}")
    parts = real_file[len(real_root) + 1 :].split(os.sep)
    if parts[-1].endswith(".py"):
        stem = parts[-1][:-3]
        # A folder beside it has the plain name; a dot would read as a package boundary.
        if "." in stem or os.path.isdir(real_file[:-3]):
            stem = ENCODED_FILE + _hex(stem)
        parts[-1] = stem
    # A folder with a dot in its name (prompts/v1.2/) is a package under an encoded name too.
    parts[:-1] = [ENCODED_FOLDER + _hex(part) if "." in part else part for part in parts[:-1]]
    return ".".join((module_root_name(real_root), *parts))


def _hex(name: str) -> str:
    return name.encode("utf-8", "surrogateescape").hex()


def import_file(file: str | os.PathLike[str], root: str | os.PathLike[str]) -> types.ModuleType:
    """Import ``file`` (under ``root``) once per process, as a real submodule of a synthetic package.

    ``root`` becomes a package, so relative imports between the files under it work. The module
    name depends only on the real paths, so a second load in any runtime reuses the module.
    Bytecode is validated against the source's content (see the module doc).
    """
    import importlib

    name = module_name_for(file, root)
    module = sys.modules.get(name)
    if module is not None and not getattr(
        getattr(module, "__spec__", None), "_initializing", False
    ):
        return module  # (a module another thread is still running: import_module waits for it)
    with _setup_lock:
        _install_finder()
        _ensure_package_module(MODULE_ROOT, None)
        _ensure_package_module(module_root_name(_real(os.fspath(root))), _real(os.fspath(root)))
    return importlib.import_module(name)


# --------------------------------------------------------------------- import closures


@functools.lru_cache(maxsize=1)
def _installed_roots() -> tuple[str, ...]:
    """Folders whose modules are the standard library's or installed distributions' (their
    changes show in the index cache's environment signature, not per file)."""
    import site
    import sysconfig

    roots = set()
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            roots.add(paths[key])
    try:
        roots.update(site.getsitepackages())
    except AttributeError:  # some embedded interpreters
        pass
    user_site = getattr(site, "USER_SITE", None)
    if user_site:
        roots.add(user_site)
    lllm_folder = os.path.dirname(os.path.abspath(__file__))
    roots.add(lllm_folder)  # lllm's own code is part of the environment signature
    return tuple(
        sorted(
            {os.path.realpath(r) + os.sep for r in roots}
            | {os.path.abspath(r) + os.sep for r in roots}
        )
    )


def is_tracked_file(file: str | None) -> bool:
    """Whether a module file belongs to the code an import closure records: not the standard
    library, not an installed distribution, not lllm."""
    if not file:
        return False
    absolute = os.path.abspath(file)
    roots = _installed_roots()
    return not (absolute.startswith(roots) or os.path.realpath(absolute).startswith(roots))


_IMPORT_NAME = opcode.opmap["IMPORT_NAME"]
_LOAD_CONST = opcode.opmap["LOAD_CONST"]
_LOAD_SMALL_INT = opcode.opmap.get("LOAD_SMALL_INT", -1)  # Python 3.14
_CACHE = opcode.opmap.get("CACHE", -1)  # inline cache entries (Python 3.11+)
_EXTENDED_ARG = opcode.EXTENDED_ARG


def imported_names(code: types.CodeType) -> list[ImportStatement]:
    """``(name, level, fromlist)`` of every import statement in ``code`` and the code nested in
    it, read from the bytecode (the constants loaded just before ``IMPORT_NAME`` are its level
    and fromlist; when they cannot be read, level 0 and no fromlist are assumed)."""
    found: list[ImportStatement] = []
    pending = [code]
    while pending:
        current = pending.pop()
        raw = current.co_code
        constants: list[Any] = []
        extended = 0
        for i in range(0, len(raw), 2):
            op = raw[i]
            argument = raw[i + 1] | extended
            if op == _EXTENDED_ARG:
                extended = argument << 8
                continue
            extended = 0
            if op == _LOAD_CONST:
                constants.append(current.co_consts[argument])
            elif op == _LOAD_SMALL_INT:
                constants.append(argument)
            elif op == _IMPORT_NAME:
                level = constants[-2] if len(constants) >= 2 and type(constants[-2]) is int else 0
                fromlist = constants[-1] if constants and type(constants[-1]) is tuple else ()
                found.append((current.co_names[argument], level, tuple(str(n) for n in fromlist)))
                constants = []
            elif op != _CACHE:
                constants = []
        pending.extend(c for c in current.co_consts if type(c) is types.CodeType)
    return found


_statements: dict[str, tuple[types.ModuleType, list[ImportStatement]]] = {}


def _import_statements(module: types.ModuleType) -> list[ImportStatement]:
    """The import statements of ``module``'s code: kept by ``PackageFileLoader``, else read
    from its loader's code once per module."""
    spec = getattr(module, "__spec__", None)
    loader = getattr(spec, "loader", None)
    kept = getattr(loader, "import_statements", None)
    if kept is not None:
        return kept  # type: ignore[no-any-return]
    cached = _statements.get(module.__name__)
    if cached is not None and cached[0] is module:
        return cached[1]
    statements: list[ImportStatement] = []
    get_code = getattr(loader, "get_code", None)
    if get_code is not None:
        try:
            code = get_code(module.__name__)
        except Exception:  # a file that changed since, or a loader without code: nothing known
            code = None
        if code is not None:
            statements = imported_names(code)
    _statements[module.__name__] = (module, statements)
    return statements


def _direct_imports(module: types.ModuleType) -> set[str]:
    """The absolute names ``module``'s code imports or may import: every package on the way,
    ``from x import y`` names that may be submodules (a package's ``__all__`` for ``*``),
    whether or not they were found."""
    package = module.__package__ or ""
    names: set[str] = set()
    for name, level, fromlist in _import_statements(module):
        try:
            absolute = importlib.util.resolve_name("." * level + name, package) if level else name
        except (ImportError, ValueError):
            continue
        parts = absolute.split(".")
        names.update(".".join(parts[: i + 1]) for i in range(len(parts)) if parts[i])
        imported = sys.modules.get(absolute)
        if fromlist and hasattr(imported, "__path__") or imported is None and fromlist:
            items: list[str] = []
            for item in fromlist:
                if item == "*":
                    items.extend(str(n) for n in getattr(imported, "__all__", ()))
                else:
                    items.append(item)
            names.update(f"{absolute}.{item}" for item in items)
    return names


#: The signature of a file that must stay absent (an import that found nothing there).
ABSENT = (-1, -1, -1, -1)


class Dependency(NamedTuple):
    """One input of an import, as the index cache records it.

    - a file (``module`` empty): it must keep its signature — the one it had when its code was
      read (``stat``, from lllm's loader) or, when that is not known, its signature now;
    - a file that must stay absent (``absent``): an import that found nothing there, or a
      folder that would win over a module file of the same name;
    - a module found through ``sys.path`` (``module`` set): it must still be found at ``path``
      (``""``: it must still not be found), whatever ``sys.path`` is in the next process.
    """

    path: str
    module: str = ""
    stat: tuple[os.stat_result, int] | None = None
    absent: bool = False


def import_closure(module_names: Iterable[str]) -> list[Dependency]:
    """What the modules ``module_names`` were built from and import, transitively: the files
    of tracked modules (see ``is_tracked_file``; the standard library, installed
    distributions and lllm are covered by the environment signature instead), the files that
    must stay absent for the imports to find what they found, and the modules found through
    ``sys.path``, in a stable order."""
    found: dict[tuple[str, str], Dependency] = {}
    seen: set[str] = set()
    pending = list(module_names)
    while pending:
        name = pending.pop()
        if name in seen or name == "__main__":
            continue
        seen.add(name)
        module = sys.modules.get(name)
        parent_name, _, last = name.rpartition(".")
        parent = sys.modules.get(parent_name) if parent_name else None
        if module is None:
            _not_found(found, name, parent, last)
            continue
        file = getattr(module, "__file__", None)
        if not name.startswith(_PREFIX):
            location = _module_location(module)
            if not is_tracked_file(location):
                continue  # the standard library, a distribution or lllm: not followed
            if file:
                path = os.path.abspath(file)
                found.setdefault((path, name), Dependency(path, name, _executed_stat(module)))
        else:
            if file:
                path = os.path.abspath(file)
                found.setdefault((path, ""), Dependency(path, "", _executed_stat(module)))
                if not path.endswith("__init__.py") and os.path.basename(path)[:-3] == last:
                    # A folder of that name would win over the file (see PackageFileFinder).
                    folder = path[:-3]
                    found.setdefault((folder, ""), Dependency(folder, absent=True))
            else:  # a folder (namespace package): an __init__.py would make it another package
                for folder in getattr(module, "__path__", ()):
                    init = os.path.join(folder, "__init__.py")
                    found.setdefault((init, ""), Dependency(init, absent=True))
        pending.extend(_direct_imports(module))
        if parent_name:
            pending.append(parent_name)
    return sorted(found.values(), key=lambda d: (d.path, d.module))


def _not_found(
    found: dict[tuple[str, str], Dependency], name: str, parent: types.ModuleType | None, last: str
) -> None:
    """Record what must stay absent for ``name`` to stay unfound (if it may be a module)."""
    if name.startswith(_PREFIX):
        for folder in getattr(parent, "__path__", ()):
            for candidate in (os.path.join(folder, last + ".py"), os.path.join(folder, last)):
                found.setdefault((candidate, ""), Dependency(candidate, absent=True))
    elif parent is None or (
        hasattr(parent, "__path__") and is_tracked_file(_module_location(parent))
    ):
        # A module of the user's code (or any top-level name) that a later process may find.
        found.setdefault(("", name), Dependency("", name, absent=True))


def _module_location(module: types.ModuleType) -> str | None:
    """A module's file, or a namespace package's first folder."""
    return getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", ())), None)


def _executed_stat(module: types.ModuleType) -> tuple[os.stat_result, int] | None:
    loader = getattr(getattr(module, "__spec__", None), "loader", None)
    return getattr(loader, "executed_stat", None)


def locate(name: str) -> str | None:
    """The file module ``name`` would be imported from now (a namespace package's first
    folder), asking the ``sys.meta_path`` finders as the import system does, without running
    any module; ``None`` if it would not be found."""
    path = None
    spec = None
    parts = name.split(".")
    for depth in range(1, len(parts) + 1):
        spec = _find_spec(".".join(parts[:depth]), path)
        if spec is None:
            return None
        if depth < len(parts):
            path = spec.submodule_search_locations
            if path is None:
                return None
    assert spec is not None
    if spec.has_location and spec.origin:
        return os.path.abspath(spec.origin)
    locations = list(spec.submodule_search_locations or ())
    return os.path.abspath(locations[0]) if locations else None


def _find_spec(name: str, path: Any) -> importlib.machinery.ModuleSpec | None:
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            spec = find_spec(name, path)
        except (ImportError, ValueError, OSError):
            continue
        if spec is not None:
            return spec  # type: ignore[no-any-return]
    return None


class ImportWatch:
    """The modules that appear in ``sys.modules`` while it is open (``with``): an import's
    dynamic dependencies (``importlib.import_module`` at import time). New entries come last
    in ``sys.modules``'s order; another thread importing at the same time can only add
    names, which makes a closure larger, not wrong."""

    def __init__(self) -> None:
        self.count = 0
        self.added: list[str] = []

    def __enter__(self) -> ImportWatch:
        _watching.depth = getattr(_watching, "depth", 0) + 1
        self.count = len(sys.modules)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _watching.depth -= 1
        added = len(sys.modules) - self.count
        try:  # the last entries, without copying all of sys.modules for every file
            self.added = list(itertools.islice(reversed(sys.modules), max(added, 0)))
        except RuntimeError:  # another thread changed sys.modules meanwhile
            self.added = list(sys.modules)[self.count :]
