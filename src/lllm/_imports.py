"""Importing the Python files of packages: a finder and loader of lllm's own, and import closures.

The files of a package are imported as submodules of a synthetic package named after the
real folder they are anchored at (``_lllm_pkgs.<stem>_<digest>``), once per process, so
relative imports between them work and every runtime shares one module per file.

Every module under ``_lllm_pkgs`` (the files, and the siblings and helpers they import) is
loaded by ``PackageFileLoader``, which validates bytecode against the source's *content*:
it uses a ``__pycache__`` file only when it is a checked hash-based ``.pyc`` (PEP 552) of
exactly this source, and writes such files itself (unless ``sys.dont_write_bytecode``).
A same-size edit made within the second its bytecode was written, a ``git checkout`` or an
``unzip -o`` that restores old timestamps can therefore never run stale code, which
Python's default timestamp ``.pyc`` files allow. lllm adds its finder to ``sys.meta_path``
once, on the first such import; it answers only names under ``_lllm_pkgs``.

``import_closure`` gives the files a module's import depends on, for the discovery index
cache: the module's own file, and every module it imports (statically, or that appeared
while it was imported) which is neither part of the standard library, of an installed
distribution, nor of lllm itself — siblings in the package, helper modules of the project,
the source of an editable install — transitively.
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
from typing import Any, Iterable, Tuple

#: The parent of the synthetic packages that package files are imported under.
MODULE_ROOT = "_lllm_pkgs"
_PREFIX = MODULE_ROOT + "."
# PEP 552 flags: bit 0 = hash-based, bit 1 = check the source.
_CHECKED_HASH_FLAGS = (0b11).to_bytes(4, "little")
_setup_lock = threading.Lock()
# Per thread: how many ImportWatch blocks are open (discovery is importing).
_watching = threading.local()
#: ``(name, level, fromlist)`` of one import statement.
ImportStatement = Tuple[str, int, Tuple[str, ...]]


class PackageFileLoader(importlib.machinery.SourceFileLoader):
    """A source loader whose bytecode cache is keyed by the source's content (see the module doc).

    While this thread is inside an ``ImportWatch`` (discovery), it keeps the import
    statements of the code it runs (``import_statements``), for ``import_closure``.
    """

    import_statements: list[ImportStatement] | None = None

    def exec_module(self, module: types.ModuleType) -> None:
        """Run the module's code (keeping its import statements first, during discovery)."""
        code = self.get_code(module.__name__)
        if getattr(_watching, "depth", 0):
            self.import_statements = imported_names(code)
        exec(code, module.__dict__)

    def get_code(self, fullname: str) -> types.CodeType:
        """The code of module ``fullname``: from a checked hash-based ``.pyc`` of this exact
        source, else compiled from the source (and cached as such a ``.pyc``)."""
        path = self.get_filename(fullname)
        source = self.get_data(path)
        source_hash = importlib.util.source_hash(source)
        try:
            bytecode_path: str | None = importlib.util.cache_from_source(path)
        except NotImplementedError:  # no cache tag: bytecode caching is off
            bytecode_path = None
        if bytecode_path is not None:
            code = _cached_code(bytecode_path, source_hash)
            if code is not None:
                return code
        code = self.source_to_code(source, path)
        if bytecode_path is not None and not sys.dont_write_bytecode:
            import marshal

            header = importlib.util.MAGIC_NUMBER + _CHECKED_HASH_FLAGS + source_hash
            self.set_data(bytecode_path, header + marshal.dumps(code))  # errors are ignored there
        return code


def _cached_code(bytecode_path: str, source_hash: bytes) -> types.CodeType | None:
    """The code in ``bytecode_path`` if it is a checked hash-based ``.pyc`` of a source with
    ``source_hash``, else ``None`` (timestamp ``.pyc`` files are never trusted)."""
    import marshal

    try:
        with open(bytecode_path, "rb") as f:
            data = f.read()
    except OSError:
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


#: Ends the module name of a ``.py`` file that has a folder of the same name beside it.
FILE_BESIDE_FOLDER = ":py"


class PackageFileFinder:
    """The ``sys.meta_path`` finder of modules under ``_lllm_pkgs``: ``.py`` files and folders
    (regular or namespace packages) in the parent package's ``__path__``, loaded by
    ``PackageFileLoader``. Anything else (an extension module, say) is left to the finders
    after it.

    Unlike Python's own finder, a folder wins over a ``.py`` file of the same name beside it
    (``proxies/`` over ``proxies.py`` at a package root; ``prompts/chat/`` over
    ``prompts/chat.py``), so the files in the folder load and the file beside it never runs by
    accident; the file itself is imported as ``<name>:py`` (see ``module_name_for``).
    """

    #: Marks the finder in ``sys.meta_path`` (one per process, even if lllm is reloaded).
    lllm_package_files = True

    @staticmethod
    def find_spec(fullname: str, path: Iterable[str] | None = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        """The spec of ``fullname`` when it is a module under ``_lllm_pkgs`` found in ``path``."""
        if path is None or not fullname.startswith(_PREFIX):
            return None
        name = fullname.rpartition(".")[2]
        folders = [os.fspath(p) for p in path]
        if name.endswith(FILE_BESIDE_FOLDER):
            stem = name[: -len(FILE_BESIDE_FOLDER)]
            for folder in folders:
                file = os.path.join(folder, stem + ".py")
                if _is_file(file, folder, stem + ".py"):
                    return importlib.util.spec_from_file_location(fullname, file, loader=PackageFileLoader(fullname, file))
            return None
        for folder in folders:
            base = os.path.join(folder, name)
            init = os.path.join(base, "__init__.py")
            if _is_file(init, folder, name):
                return importlib.util.spec_from_file_location(
                    fullname, init, loader=PackageFileLoader(fullname, init), submodule_search_locations=[base]
                )
        portions = [os.path.join(folder, name) for folder in folders if os.path.isdir(os.path.join(folder, name))]
        if portions:
            spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
            spec.submodule_search_locations = portions
            return spec
        for folder in folders:
            file = os.path.join(folder, name + ".py")
            if _is_file(file, folder, name + ".py"):
                return importlib.util.spec_from_file_location(fullname, file, loader=PackageFileLoader(fullname, file))
        return None

    @staticmethod
    def invalidate_caches() -> None:
        """Nothing is cached (``importlib.invalidate_caches`` calls this)."""


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


@functools.lru_cache(maxsize=None)
def _real(path: str) -> str:
    return os.path.realpath(path)


@functools.lru_cache(maxsize=None)
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
    relative = real_file[len(real_root) + 1 :]
    if relative.endswith(".py"):
        relative = relative[:-3]
        if os.path.isdir(real_file[:-3]):
            relative += FILE_BESIDE_FOLDER  # the folder beside it has the plain name
    return ".".join((module_root_name(real_root), *relative.split(os.sep)))


def import_file(file: str | os.PathLike[str], root: str | os.PathLike[str]) -> types.ModuleType:
    """Import ``file`` (under ``root``) once per process, as a real submodule of a synthetic package.

    ``root`` becomes a package, so relative imports between the files under it work. The module
    name depends only on the real paths, so a second load in any runtime reuses the module.
    Bytecode is validated against the source's content (see the module doc).
    """
    import importlib

    name = module_name_for(file, root)
    module = sys.modules.get(name)
    if module is not None:
        return module
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
    return tuple(sorted({os.path.realpath(r) + os.sep for r in roots} | {os.path.abspath(r) + os.sep for r in roots}))


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
    """The modules ``module``'s code imports (or may import), as absolute names present in
    ``sys.modules``: every package on the way, and ``from x import y`` submodules."""
    package = module.__package__ or ""
    names: set[str] = set()
    for name, level, fromlist in _import_statements(module):
        try:
            absolute = importlib.util.resolve_name("." * level + name, package) if level else name
        except (ImportError, ValueError):
            continue
        parts = absolute.split(".")
        names.update(".".join(parts[: i + 1]) for i in range(len(parts)) if parts[: i + 1] != [""])
        names.update(f"{absolute}.{item}" for item in fromlist if item != "*")
    return {n for n in names if n in sys.modules}


def import_closure(module_names: Iterable[str]) -> list[str]:
    """The tracked files (see ``is_tracked_file``) that the modules ``module_names`` were
    built from or import, transitively, in a stable order."""
    files: dict[str, None] = {}
    seen: set[str] = set()
    pending = list(module_names)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        module = sys.modules.get(name)
        if module is None:
            continue
        file = getattr(module, "__file__", None)
        ours = name.startswith(_PREFIX)
        if not ours and not is_tracked_file(file):
            continue  # a module of the standard library or of a distribution: not followed
        if file and (ours or is_tracked_file(file)):
            files[os.path.abspath(file)] = None
        pending.extend(_direct_imports(module))
        parent = name.rpartition(".")[0]
        if parent:
            pending.append(parent)
    return sorted(files)


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
