"""What a section plugin works with: ``SectionSpec`` and ``SectionFolder``.

``SectionFolder`` is the one argument of the ``lllm_discover`` hook: one folder of one section
of one package, with the walk rules, key rules and module imports every section shares.
"""

from __future__ import annotations

import os
import types
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from lllm._imports import (
    MODULE_ROOT,
    Dependency,
    ImportWatch,
    import_closure,
    import_file,
    module_root_name,
)
from lllm._section_spec import SectionSpec
from lllm._walk import import_anchor, inside, is_private_file, walk_stats
from lllm.core.resource import REFERENCE_LOADER, PackageInfo, ResourceNode

__all__ = [
    "MODULE_ROOT",
    "ProblemReporter",
    "SectionFolder",
    "SectionSpec",
    "import_anchor",
    "import_file",
    "module_root_name",
    "walk_stats",
]

# A problem found during discovery: ``report(message, file or None, kind="import")``. The
# loader records it as a ``LoadProblem`` of that kind (a warning, or a problem for ``lllm check``).
ProblemReporter = Callable[..., None]


def _warn_problem(message: str, file: Path | None, kind: str = "import") -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _with_suffix(files: list[Path], suffixes: Iterable[str] | None) -> list[Path]:
    """The ``files`` whose name ends with one of ``suffixes`` (any case; all when ``None``)."""
    if suffixes is None:
        return files
    wanted = tuple(s.lower() for s in suffixes)
    return [f for f in files if f.name.lower().endswith(wanted)]


def _without_suffix(relative: str) -> str:
    """``a/b.c.md`` → ``a/b.c``; a name without a dot (or only a leading one) is unchanged."""
    slash = relative.rfind("/")
    dot = relative.rfind(".")
    return relative[:dot] if dot > slash + 1 else relative


def _origin(obj: Any) -> str | None:
    """The module an object was created in: ``__module__`` for classes and functions."""
    if isinstance(obj, (type, types.FunctionType)):
        return obj.__module__
    return getattr(obj, "defined_in_module", None)


class SectionFolder:
    """One folder of one section of one package, handed to the ``lllm_discover`` hook.

    Attributes: ``section`` (the ``SectionSpec``), ``path`` (the folder, absolute),
    ``package`` (the ``PackageInfo``), ``prefix`` (the key prefix, ``""`` for none),
    ``namespace`` (``<package>.<section>``), ``plugin_name`` (the plugin that owns the section)
    and ``package_root`` (the folder relative imports are anchored at).
    """

    def __init__(
        self,
        section: SectionSpec,
        path: str | os.PathLike[str],
        package: PackageInfo,
        prefix: str = "",
        *,
        plugin_name: str = "",
        package_root: str | os.PathLike[str] | None = None,
        report: ProblemReporter | None = None,
        only: Iterable[str | os.PathLike[str]] | None = None,
        options: Mapping[str, Any] | None = None,
        confine: str | None = None,
    ) -> None:
        self.section = section
        self.path = Path(path)
        self._path_text = str(self.path)
        self.package = package
        self.prefix = prefix.strip("/")
        self.namespace = f"{package.effective_name}.{section.name}"
        self.plugin_name = plugin_name
        self.package_root = self._anchor(package_root)
        self._report = report or _warn_problem
        self._only = None if only is None else [Path(p) for p in only]
        # The real folder an installed package's walks may not leave (links outside are skipped).
        self._confine = confine
        #: Extra keys of the section's table in ``lllm.toml`` (read-only), for plugins with options.
        self.options: Mapping[str, Any] = types.MappingProxyType(dict(options or {}))
        # id(object) -> (file, attribute) for objects found by objects_in, file -> what its
        # import depends on, and file -> how its module's code was read: the index cache
        # records them.
        self.origins: dict[int, tuple[Path, str]] = {}
        self.dependencies: dict[str, list[Dependency]] = {}
        self.module_stats: dict[str, tuple[os.stat_result, int] | None] = {}

    def _anchor(self, package_root: str | os.PathLike[str] | None) -> Path:
        anchor = import_anchor(
            self._path_text, None if package_root is None else os.fspath(package_root)
        )
        return self.path if anchor == self._path_text else Path(anchor)

    def __repr__(self) -> str:
        return f"<SectionFolder {self.namespace} {self.path} prefix={self.prefix!r}>"

    # ----------------------------------------------------------------------------- keys

    def key(self, *parts: str) -> str:
        """Join the prefix and ``parts`` into a key (``prefix/part/part``)."""
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p and p.strip("/"))

    def relative_path(self, file: Path) -> str:
        """``file``'s path relative to the folder, with ``/`` separators."""
        text, base = str(file), self._path_text
        if text.startswith(base) and text[len(base) : len(base) + 1] == os.sep:
            relative = text[len(base) + 1 :]
            return relative if os.sep == "/" else relative.replace(os.sep, "/")
        return Path(file).relative_to(self.path).as_posix()

    def file_key(self, file: Path, keep_suffix: bool = False) -> str:
        """The key of a file: prefix + its relative path, with or without the suffix."""
        relative = self.relative_path(file)
        if not keep_suffix:
            relative = _without_suffix(relative)
        return self.key(relative)

    # ---------------------------------------------------------------------------- files

    def files(self, suffixes: Iterable[str] | None = None, *, private: bool = False) -> list[Path]:
        """Files of the folder in sorted walk order, at any depth: hidden (``.``) names and
        ``__pycache__`` skipped, and files whose name starts with ``_`` unless ``private``
        (``_helpers.py``, ``_draft.md``; a ``_`` folder is walked). ``suffixes`` match
        case-insensitively.

        When the loader re-discovers only some files (the index cache found the others
        unchanged), only those are returned.
        """
        if self._only is None:
            walked, _, problems = walk_stats(self._path_text, self._confine)
            for problem in problems:
                self._report(problem.message, Path(problem.path), kind=problem.kind)
            found = _with_suffix([Path(path) for path, _, _ in walked], suffixes)
        else:
            # The loader already walked the folder and names the files to look at, in walk order.
            found = _with_suffix(self._only, suffixes)
            if self._confine is not None:  # a link may have been pointed elsewhere since the walk
                inside_folder = [f for f in found if inside(os.path.realpath(f), self._confine)]
                for file in found:
                    if file not in inside_folder:
                        message = f"{file}: skipped: it leads to {os.path.realpath(file)}, outside the package folder {self._confine}"
                        self._report(message, file, kind="confinement")
                found = inside_folder
        usable = []
        for file in found:
            if not private and is_private_file(file.name):
                continue
            if ":" in self.relative_path(file):
                self.report(f"{file}: skipped: ':' cannot appear in a resource key.", file)
            else:
                usable.append(file)
        return usable

    def module_key(self, file: Path, *parts: str) -> str:
        """The key of something defined in Python file ``file``: prefix + its path without ``.py`` + ``parts``."""
        return self.key(_without_suffix(self.relative_path(file)), *parts)

    def objects_in(self, file: Path, predicate: Callable[[Any], bool]) -> list[Any]:
        """The top-level objects of Python file ``file`` that satisfy ``predicate`` and were created there.

        The file is imported once per process (see ``import_file``); one that fails to import
        (any exception but ``KeyboardInterrupt``, ``SystemExit`` included) is reported (a warning naming the file and the error, or a problem for ``lllm check``)
        and gives ``[]``. An object imported from another module is left to that module:
        classes and functions are matched by ``__module__``, other objects by a
        ``defined_in_module`` attribute (``Prompt`` records it). Each object comes once, in
        the module's definition order.
        """
        try:
            with ImportWatch() as watch:
                module = import_file(file, self.package_root)
        except KeyboardInterrupt:
            raise
        except (
            BaseException
        ) as exc:  # a user's file may raise anything at import: sys.exit(), argparse...
            self.report(f"{file}: failed to import: {type(exc).__name__}: {exc}", file)
            return []
        self.dependencies[str(file)] = import_closure([module.__name__, *watch.added])
        loader = getattr(getattr(module, "__spec__", None), "loader", None)
        self.module_stats[str(file)] = getattr(loader, "executed_stat", None)
        found: list[Any] = []
        seen: set[int] = set()
        for attribute, value in list(vars(module).items()):
            try:  # a package's objects may raise anything when looked at
                if id(value) in seen or not predicate(value) or _origin(value) != module.__name__:
                    continue
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                self.report(f"{file}: {attribute} skipped: {type(exc).__name__}: {exc}", file)
                continue
            seen.add(id(value))
            found.append(value)
            self.origins[id(value)] = (Path(file), attribute)
        return found

    def report(self, message: str, file: Path | None = None) -> None:
        """Report a problem found while discovering (a ``RuntimeWarning`` unless the loader collects them)."""
        self._report(message, file)

    # ---------------------------------------------------------------------------- nodes

    def _metadata(self, file: Path | None, extra: dict[str, Any]) -> dict[str, Any]:
        metadata = {
            "file_path": None if file is None else str(file),
            "package": self.package.effective_name,
            "section": self.section.name,
            "plugin": self.plugin_name,
        }
        metadata.update(extra)
        return metadata

    def eager(self, key: str, value: Any, file: Path | None, **metadata: Any) -> ResourceNode:
        """A loaded node in this folder's namespace, of the section's type, with discovery metadata."""
        return ResourceNode(
            key,
            self.namespace,
            self.section.resource_type,
            self._metadata(file, metadata),
            _value=value,
        )

    def lazy(
        self, key: str, loader: Callable[[], Any] | str, file: Path | None, **metadata: Any
    ) -> ResourceNode:
        """A lazy node in this folder's namespace, of the section's type, with discovery metadata.

        ``loader`` is a callable of no arguments, or the name of a loader the section declared
        (``SectionSpec.loaders``), which is called with the node. Only the second kind can be
        kept by the index cache, so a cacheable section uses declared loaders.
        """
        if isinstance(loader, str):
            target: Callable[[], Any] | tuple[str, ...] = (
                REFERENCE_LOADER,
                self.section.loader_reference(loader),
            )
        elif callable(loader):
            target = loader
        else:
            raise TypeError(
                f"The loader of resource {key!r} must be callable or a declared loader's name, got {loader!r}."
            )
        return ResourceNode(
            key,
            self.namespace,
            self.section.resource_type,
            self._metadata(file, metadata),
            _loader=target,
        )
