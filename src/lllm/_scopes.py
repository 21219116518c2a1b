"""Where shared packages live: the project and user scopes, and pip-installed packages.

- project scope: ``<project root>/lllm_packages/<pkg>/``
- user scope: ``$LLLM_HOME/packages/<pkg>/`` (``LLLM_HOME`` defaults to ``~/.lllm``)
- distributions installed with pip: the entry-point group ``lllm.packages``, whose entry
  points name a module (its folder is the package), or a callable or string giving a path.

The project scope shadows the user scope, which shadows pip-installed packages.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from lllm._manifest import MANIFEST_NAME

if TYPE_CHECKING:
    from pathlib import Path

SCOPES: tuple[str, ...] = ("project", "user")
#: The scope of packages pip-installed distributions ship (listed, never installed or removed).
PIP_SCOPE = "pip"
PROJECT_PACKAGES_FOLDER = "lllm_packages"
PACKAGES_ENTRY_POINT_GROUP = "lllm.packages"
#: Written by ``install_package`` beside an installed package's manifest: the name it was
#: installed under (an alias replaces the manifest's name without editing the manifest).
INSTALL_RECORD = ".lllm-install.json"


def lllm_home() -> Path:
    """The user's lllm folder: ``$LLLM_HOME`` or ``~/.lllm``."""
    from pathlib import Path

    return Path(lllm_home_text())


def lllm_home_text() -> str:
    """``lllm_home()`` as a string (what a warm start uses: no ``Path``)."""
    configured = os.environ.get("LLLM_HOME")
    return (
        os.path.expanduser(configured)
        if configured
        else os.path.join(os.path.expanduser("~"), ".lllm")
    )


def check_scope(scope: str | None, *, allow_none: bool = False) -> str | None:
    """Return ``scope`` if valid (``"user"``, ``"project"``, or ``None`` when allowed), else ``ValueError``."""
    if scope is None and allow_none:
        return None
    if scope not in SCOPES:
        allowed = ", ".join(repr(s) for s in SCOPES) + (" or None" if allow_none else "")
        from lllm.core.errors import PackageError

        raise PackageError(f"Invalid scope {scope!r}: expected {allowed}.")
    return scope


def find_project_root(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder of the nearest project manifest at or above ``start`` (default: the cwd):
    in each folder upward, ``lllm.toml``, ``.lllm.toml`` or ``LLLM.toml``, in it or in its
    ``template/`` subfolder (then the project is that subfolder)."""
    from pathlib import Path

    root = project_root_text(start)
    return None if root is None else Path(root)


def project_root_text(start: str | os.PathLike[str] | None = None) -> str | None:
    """``find_project_root(start)`` as a string (what a warm start uses: no ``Path``)."""
    from lllm._names import project_manifest_at

    folder = os.path.abspath(os.getcwd() if start is None else start)
    while True:
        found = project_manifest_at(folder)
        if found is not None:
            return os.path.dirname(found)
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def scope_dir(scope: str, project_root: str | os.PathLike[str] | None = None) -> Path:
    """The folder packages of ``scope`` are installed in.

    The project scope's root is ``project_root``, else the nearest project above the cwd,
    else the cwd.
    """
    check_scope(scope)
    if scope == "user":
        return lllm_home() / "packages"
    from pathlib import Path

    root = Path(project_root) if project_root is not None else (find_project_root() or Path.cwd())
    return root / PROJECT_PACKAGES_FOLDER


def packages_in(folder: str | os.PathLike[str]) -> list[Path]:
    """Package folders (holding ``lllm.toml``) directly inside ``folder``, sorted; hidden and ``_`` names skipped."""
    from pathlib import Path

    return [Path(path) for path in package_folders_in(folder)]


def package_folders_in(folder: str | os.PathLike[str]) -> list[str]:
    """``packages_in(folder)`` as strings (what a warm start uses: no ``Path``)."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [
        os.path.join(folder, name)
        for name in names
        if not name.startswith((".", "_"))
        and os.path.isfile(os.path.join(folder, name, MANIFEST_NAME))
    ]


class ShippedPackage(NamedTuple):
    """A package shipped by a distribution through the ``lllm.packages`` entry points."""

    name: str
    folder: str
    distribution: str

    @property
    def origin(self) -> str:
        """``package entry point 'x' (distribution d)``, for messages."""
        return f"package entry point {self.name!r} (distribution {self.distribution})"


def entry_point_packages(
    report: Callable[[str, str, str | None], None] | None = None, *, run_code: bool = True
) -> list[ShippedPackage]:
    """Every package the ``lllm.packages`` entry points ship: name, folder, distribution.

    An entry point naming a module gives the module's folder, found without importing it
    (``importlib.util.find_spec``): no code of the distribution runs. One naming a callable
    or a string attribute is loaded and called — unless ``run_code`` is false (exporting),
    when it is left out. One that fails is passed to ``report(kind, message, file)`` (kind
    ``package``), else warned about, and skipped.

    When every entry point names a module, the answer is kept in the index cache's
    environment facts, so a process whose environment is unchanged reads no distribution
    metadata; one naming a callable or an attribute may answer differently in another
    process (it can read the environment), so then entry points are read every time.
    """
    from lllm._index.facts import environment_facts, save_environment_facts

    facts = environment_facts()
    if facts is not None:
        known = facts.get(PACKAGES_ENTRY_POINT_GROUP)
        if isinstance(known, list) and all(
            isinstance(i, list) and len(i) == 3 and all(isinstance(v, str) for v in i)
            for i in known
        ):
            # Only folders of installed code (under a sys.path entry) holding a manifest.
            roots = [os.path.realpath(p) + os.sep for p in sys.path if p and os.path.isdir(p)]
            if all(
                any(os.path.realpath(folder).startswith(root) for root in roots)
                and os.path.isfile(os.path.join(folder, MANIFEST_NAME))
                for _, folder, _ in known
            ):
                return [ShippedPackage(*item) for item in known]
    found, cacheable = _read_entry_point_packages(report, run_code)
    if facts is not None and cacheable:
        facts[PACKAGES_ENTRY_POINT_GROUP] = [list(item) for item in found]
        save_environment_facts(facts)
    return found


def _read_entry_point_packages(
    report: Callable[[str, str, str | None], None] | None, run_code: bool = True
) -> tuple[list[ShippedPackage], bool]:
    """The entry points' packages, and whether the answer can be kept (every entry point
    names a module, and none failed: a failure is never kept)."""
    from lllm._entry_points import entry_points

    found: list[ShippedPackage] = []
    cacheable = True
    for ep in entry_points(PACKAGES_ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        distribution = str(dist.metadata["Name"]) if dist is not None else "unknown"
        shipped = ShippedPackage(ep.name, "", distribution)
        try:
            if ep.attr:
                cacheable = False
                if not run_code:
                    continue
                target = ep.load()
                if callable(target) and not isinstance(target, type):
                    target = target()
                module_file = getattr(target, "__file__", None)
                folder = os.path.dirname(module_file) if module_file else os.fspath(target)
            else:
                folder = _module_folder(ep.module)
            if not os.path.isfile(os.path.join(folder, MANIFEST_NAME)):
                raise FileNotFoundError(2, f"the folder it names has no {MANIFEST_NAME}", folder)
        except Exception as exc:
            cacheable = False
            message = f"lllm: {shipped.origin} was skipped: {type(exc).__name__}: {exc}"
            if report is not None:
                report("package", message, None)
            else:
                import warnings

                warnings.warn(message, RuntimeWarning, stacklevel=2)
            continue
        found.append(shipped._replace(folder=os.path.abspath(folder)))
    return found, cacheable


def _module_folder(module: str) -> str:
    """The folder of module ``module`` (a package's folder, or a module file's), found
    without running it (``ModuleNotFoundError`` if it cannot be found)."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None:
        raise ModuleNotFoundError(f"No module named {module!r}")
    if spec.submodule_search_locations:
        return os.fspath(list(spec.submodule_search_locations)[0])
    if not spec.origin or not os.path.isabs(spec.origin):
        raise ModuleNotFoundError(f"Module {module!r} has no folder")
    return os.path.dirname(spec.origin)


def install_record(folder: str | os.PathLike[str]) -> dict[str, object]:
    """The install record of a package folder (``{}`` when absent or unreadable)."""
    from lllm._fs import read_regular_file

    try:  # without blocking: a FIFO in an installed package must not hang every start
        text = read_regular_file(os.path.join(folder, INSTALL_RECORD), 64 * 1024).decode("utf-8")
    except (OSError, ValueError):
        return {}
    import json  # only now: most packages have no record, and warm starts need no json

    try:
        record = json.loads(text)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def installed_name(folder: str | os.PathLike[str], manifest_name: str) -> str:
    """The name a package folder loads under: its install record's name, else ``manifest_name``."""
    name = install_record(folder).get("name")
    return name if isinstance(name, str) and name else manifest_name


def declared_folder_name(path: str | os.PathLike[str]) -> str:
    """The folder name a dependency path names (``../child`` or ``../child/lllm.toml`` → ``child``):
    what a bundled copy is called under ``lllm_packages/``."""
    text = os.path.normpath(os.fspath(path))
    name = os.path.basename(text)
    return os.path.basename(os.path.dirname(text)) if name == MANIFEST_NAME else name
