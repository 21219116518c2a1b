"""Populating a runtime the way ``import lllm`` and ``load_runtime`` do.

Order: the project (an explicit path, ``$LLLM_CONFIG``, the nearest ``lllm.toml`` upward from
the cwd, or the cwd fallback), then the shared packages: project scope, user scope, then
pip-installed packages (``lllm.packages`` entry points), each shadowing the next.
"""

from __future__ import annotations

import os
import warnings

from lllm._loader import PackageLoader, warn_problems
from lllm._manifest import Manifest, manifest_for_folder
from lllm._scopes import (
    PROJECT_PACKAGES_FOLDER,
    entry_point_packages,
    lllm_home_text,
    package_folders_in,
    project_root_text,
)
from lllm.core.runtime import (
    Runtime,
    get_default_runtime,
    set_default_runtime,
    set_runtime,
)

#: Folders whose presence in the cwd triggers the fallback when there is no lllm.toml.
STANDARD_FOLDERS: tuple[str, ...] = ("prompts", "configs", "tactics", "proxies")


def _fallback_manifest(cwd: str) -> Manifest:
    folder_name = os.path.basename(cwd)
    name = (
        "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in folder_name)
        or "project"
    )
    try:
        return manifest_for_folder(cwd)
    except ValueError:
        return Manifest(file=None, base_dir=cwd, name=name)


def load_project(
    loader: PackageLoader, *, cwd: str | os.PathLike[str] | None = None, cwd_fallback: bool = True
) -> str | None:
    """Load the project for ``cwd`` into ``loader``'s runtime and return its root folder (or ``None``)."""
    cwd = os.path.abspath(os.getcwd() if cwd is None else cwd)
    configured = os.environ.get("LLLM_CONFIG")
    if configured:
        path = os.path.abspath(os.path.expanduser(configured))
        if not os.path.exists(path):
            warnings.warn(
                f"lllm: LLLM_CONFIG points to {path}, which does not exist; nothing loaded.",
                RuntimeWarning,
                stacklevel=2,
            )
            return None
        loader.load(path)
        return os.path.dirname(path) if os.path.isfile(path) else path
    root = project_root_text(cwd)
    if root is not None:
        loader.load(root)
        return root
    if cwd_fallback:
        present = [name for name in STANDARD_FOLDERS if os.path.isdir(os.path.join(cwd, name))]
        if present:
            manifest = _fallback_manifest(cwd)
            warnings.warn(
                f"lllm: no lllm.toml found in {cwd} or above; loaded its {', '.join(p + '/' for p in present)} "
                f"as package {manifest.name!r}. Add an lllm.toml to name the package and list its sections.",
                RuntimeWarning,
                stacklevel=2,
            )
            loader.load_manifest(manifest)
            return cwd
    return None


def load_shared_packages(
    loader: PackageLoader, project_root: str | None, *, include_installed: bool = True
) -> None:
    """Load drop-in packages (project scope, then user scope) and, if asked, pip-installed ones.

    A package whose name is already loaded is shadowed silently. A package that cannot be
    loaded at all (a broken manifest, a name that is not valid, a pip entry point whose
    folder has no ``lllm.toml``) is skipped: a ``package`` problem names it and where it came
    from, and the others load.
    """
    sources: list[tuple[str, str]] = []
    if project_root is not None:
        project_scope = os.path.join(project_root, PROJECT_PACKAGES_FOLDER)
        sources.extend(
            (folder, f"project-scope package {folder}")
            for folder in package_folders_in(project_scope)
        )
    user_scope = os.path.join(lllm_home_text(), "packages")
    sources.extend(
        (folder, f"user-scope package {folder}") for folder in package_folders_in(user_scope)
    )
    if include_installed:
        for found in entry_point_packages(loader.report, run_code=loader.discover):
            sources.append((found.folder, found.origin))
    for folder, origin in sources:
        try:
            loader.load(folder, as_dependency=True, shadow_ok=True, confined=True)
        except (OSError, ValueError, RecursionError) as exc:  # ManifestError is a ValueError
            loader.report(
                "package", f"lllm: {origin} was skipped: {type(exc).__name__}: {exc}", folder
            )


def populate(
    runtime: Runtime,
    path: str | os.PathLike[str] | None = None,
    *,
    discover_cwd: bool = True,
    discover_shared_packages: bool = True,
    cwd_fallback: bool = True,
    installed_packages: bool | None = True,
    discover: bool = True,
) -> str | None:
    """Fill ``runtime`` from ``path`` (or the cwd's project) and the shared packages; return the
    project root (a string).

    ``installed_packages`` says whether pip-installed packages join the shared packages;
    ``None`` means only when a project was found (auto-init reads no entry points otherwise).
    ``discover=False`` registers the packages without discovering their sections: no package
    code runs. Problems are given as warnings once the load is over.
    """
    import gc

    loader = PackageLoader(runtime, discover=discover)
    root: str | None = None
    # Loading allocates many small objects and frees few: pause the cyclic collector.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if path is not None:
            target = os.path.abspath(path)
            loader.load(target)
            root = os.path.dirname(target) if os.path.isfile(target) else target
        elif discover_cwd:
            root = load_project(loader, cwd_fallback=cwd_fallback)
        if discover_shared_packages:
            include_installed = (
                root is not None if installed_packages is None else installed_packages
            )
            load_shared_packages(loader, root, include_installed=include_installed)
    finally:
        if collecting:
            gc.enable()
        warn_problems(loader.take_problems())
    runtime.discovery_done = True
    return root


def load_runtime(
    path: str | os.PathLike[str] | None = None,
    name: str | None = None,
    *,
    discover_cwd: bool = True,
    discover_shared_packages: bool = True,
) -> Runtime:
    """Create a runtime, populate it and store it.

    ``path`` is a manifest or package folder; without it the cwd's project is discovered
    (``discover_cwd``). Shared packages (drop-ins and pip-installed) load afterwards unless
    ``discover_shared_packages=False``. With no ``name`` the new runtime replaces the
    default one; with a name it is stored for ``get_runtime(name)``.
    """
    runtime = Runtime(name=name)
    populate(
        runtime, path, discover_cwd=discover_cwd, discover_shared_packages=discover_shared_packages
    )
    if name is None:
        set_default_runtime(runtime)
    else:
        set_runtime(name, runtime)
    return runtime


def auto_init() -> None:
    """What ``import lllm`` runs: populate the default runtime, never raising.

    ``LLLM_AUTO_INIT=0`` skips everything, ``LLLM_AUTO_CWD_FALLBACK=0`` the cwd fallback,
    ``LLLM_AUTO_SHARED_PACKAGES=0`` the shared packages. Any error (a broken manifest, say)
    becomes a ``RuntimeWarning`` naming it, and the default runtime starts empty.
    """
    runtime = get_default_runtime()
    try:
        populate(
            runtime,
            cwd_fallback=_enabled("LLLM_AUTO_CWD_FALLBACK"),
            discover_shared_packages=_enabled("LLLM_AUTO_SHARED_PACKAGES"),
            installed_packages=None,
        )
    except Exception as exc:
        runtime.reset()
        warnings.warn(
            f"lllm: automatic loading failed, starting empty: {exc}", RuntimeWarning, stacklevel=2
        )


def _enabled(variable: str) -> bool:
    from lllm._flags import flag

    return flag(variable, True)
