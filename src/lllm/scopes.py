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
from typing import TYPE_CHECKING

from lllm.manifest import MANIFEST_NAME

if TYPE_CHECKING:
    from pathlib import Path

SCOPES: tuple[str, ...] = ("project", "user")
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
    return os.path.expanduser(configured) if configured else os.path.join(os.path.expanduser("~"), ".lllm")


def check_scope(scope: str | None, *, allow_none: bool = False) -> str | None:
    """Return ``scope`` if valid (``"user"``, ``"project"``, or ``None`` when allowed), else ``ValueError``."""
    if scope is None and allow_none:
        return None
    if scope not in SCOPES:
        allowed = ", ".join(repr(s) for s in SCOPES) + (" or None" if allow_none else "")
        raise ValueError(f"Invalid scope {scope!r}: expected {allowed}.")
    return scope


def find_project_root(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder of the nearest ``lllm.toml`` at or above ``start`` (default: the cwd)."""
    from pathlib import Path

    root = project_root_text(start)
    return None if root is None else Path(root)


def project_root_text(start: str | os.PathLike[str] | None = None) -> str | None:
    """``find_project_root(start)`` as a string (what a warm start uses: no ``Path``)."""
    folder = os.path.abspath(os.getcwd() if start is None else start)
    while True:
        if os.path.isfile(os.path.join(folder, MANIFEST_NAME)):
            return folder
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
        if not name.startswith((".", "_")) and os.path.isfile(os.path.join(folder, name, MANIFEST_NAME))
    ]


def entry_point_packages() -> list[tuple[str, str]]:
    """``(entry point name, package folder)`` for every ``lllm.packages`` entry point that loads.

    When every entry point names a module, the answer is kept in the index cache's
    environment facts, so a process whose environment is unchanged reads no distribution
    metadata. An entry point naming a callable or an attribute may give another folder in
    another process (it can read the environment): then the entry points are read every time.
    """
    from lllm._index.facts import environment_facts, save_environment_facts

    facts = environment_facts()
    if facts is not None:
        known = facts.get(PACKAGES_ENTRY_POINT_GROUP)
        if isinstance(known, list) and all(isinstance(i, list) and len(i) == 2 for i in known):
            # Only folders of installed code (under a sys.path entry) holding a manifest.
            roots = [os.path.realpath(p) + os.sep for p in sys.path if p and os.path.isdir(p)]
            if all(
                any(os.path.realpath(str(path)).startswith(root) for root in roots)
                and os.path.isfile(os.path.join(str(path), MANIFEST_NAME))
                for _, path in known
            ):
                return [(str(name), str(path)) for name, path in known]
    found, only_modules = _read_entry_point_packages()
    if facts is not None and only_modules:
        facts[PACKAGES_ENTRY_POINT_GROUP] = [[name, str(path)] for name, path in found]
        save_environment_facts(facts)
    return found


def _read_entry_point_packages() -> tuple[list[tuple[str, str]], bool]:
    """The entry points' packages, and whether every entry point names a module (so the
    answer can be kept)."""
    import warnings

    from lllm.entry_points import entry_points

    found: list[tuple[str, str]] = []
    only_modules = True
    for ep in entry_points(PACKAGES_ENTRY_POINT_GROUP):
        if ep.attr:
            only_modules = False
        try:
            target = ep.load()
            if callable(target) and not isinstance(target, type):
                target = target()
            module_file = getattr(target, "__file__", None)
            path = os.path.dirname(module_file) if module_file else os.fspath(target)
        except Exception as exc:
            only_modules = False  # a failure is never kept: the next process tries again
            warnings.warn(
                f"lllm: package entry point {ep.name!r} ({ep.value}) could not be loaded: "
                f"{type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        found.append((ep.name, path))
    return found, only_modules


def install_record(folder: str | os.PathLike[str]) -> dict[str, object]:
    """The install record of a package folder (``{}`` when absent or unreadable)."""
    try:
        with open(os.path.join(folder, INSTALL_RECORD), encoding="utf-8") as f:
            text = f.read()
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
