"""The ``lllm`` command: a thin shell over the public Python API.

lllm's own errors (``LllmError``) and operating-system errors are one line on stderr with exit
status 1; anything else is a bug and keeps its traceback. Usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from lllm import __version__
from lllm.core.errors import LllmError

# Errors a command reports as one line; anything else is a bug and keeps its traceback.
_EXPECTED_ERRORS: tuple[type[BaseException], ...] = (LllmError, OSError)


def _print_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> None:
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )


def _message(exc: BaseException) -> str:
    """The error as one line (multi-line messages, such as YAML parser errors, are joined)."""
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        text = exc.args[0]
    elif isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _relative(path: str | None) -> str:
    if not path:
        return "-"
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


# ---------------------------------------------------------------------------- runtimes


def _project_runtime(project: str | None) -> Any:
    """The runtime a program in ``project`` (or the cwd) would get from ``import lllm``."""
    from lllm import Runtime
    from lllm._project import populate
    from lllm._scopes import find_project_root

    if project is None and find_project_root() is None and not os.environ.get("LLLM_CONFIG"):
        raise FileNotFoundError(
            2,
            "No lllm.toml in this folder or above (use --project PATH or LLLM_CONFIG)",
            os.getcwd(),
        )
    runtime = Runtime()
    populate(runtime, project)
    return runtime


# ---------------------------------------------------------------------------- commands


def cmd_ls(args: argparse.Namespace) -> int:
    runtime = _project_runtime(args.project)
    nodes = list(runtime.iter_nodes(args.type))
    if args.json:
        from lllm._plugin_manager import BUILTIN_PLUGINS, describe_resource

        builtin = {name for name, _ in BUILTIN_PLUGINS}
        # Plugins are asked only when some resource comes from a plugin's section.
        plugin_sections = any(n.metadata.get("plugin") not in (None, "", *builtin) for n in nodes)
        print(
            json.dumps(
                [
                    _listed(n, describe_resource(n, runtime) if plugin_sections else None)
                    for n in nodes
                ],
                indent=2,
                default=str,
            )
        )
        return 0
    if not nodes:
        print("No resources found.")
        return 0
    _print_table(
        [(n.qualified_key, n.resource_type, _relative(n.metadata.get("file_path"))) for n in nodes],
        ("KEY", "TYPE", "SOURCE"),
    )
    return 0


def _listed(node: Any, description: dict[str, Any] | None) -> dict[str, Any]:
    """One resource of ``lllm ls --json``."""
    listed = {
        "key": node.qualified_key,
        "type": node.resource_type,
        "source": node.metadata.get("file_path"),
        "package": node.metadata.get("package"),
        "section": node.metadata.get("section"),
    }
    if description is not None:
        listed["description"] = description
    return listed


def _print_description(description: dict[str, Any]) -> None:
    """Print what a plugin's ``lllm_describe`` gave, bounded."""
    for label, shown in description.items():
        text = shown if isinstance(shown, str) else json.dumps(shown, default=str)
        if not isinstance(shown, str) and len(text) > 100:
            text = json.dumps(shown, indent=2, default=str)
        if "\n" in text:
            print(f"{label}:")
            print(_bounded(text))
        else:
            print(f"{label}: {_bounded(text)}")


#: The most characters ``lllm show`` prints of a value, and the largest file it reads whole.
PREVIEW_CHARACTERS = 4000
PREVIEW_FILE_BYTES = 1024 * 1024


def _bounded(text: str, limit: int = PREVIEW_CHARACTERS) -> str:
    """``text``, cut at ``limit`` characters with a note saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… ({len(text) - limit:,} more characters not shown)"


def cmd_show(args: argparse.Namespace) -> int:
    from lllm import Prompt, resolve_config

    runtime = _project_runtime(args.project)
    node = runtime.get_node(args.key)  # the rule of Runtime.get
    source = node.metadata.get("file_path")
    size = None
    if source:
        try:
            size = os.stat(source).st_size
        except OSError:
            size = None
    preview_only = not node.is_loaded and size is not None and size > PREVIEW_FILE_BYTES
    # The value first (unless the file is too large to read whole): loading may add metadata.
    value = None
    if not preview_only:
        value = (
            resolve_config(node.qualified_key, runtime)
            if node.resource_type == "config"
            else node.value
        )
    print(f"key:     {node.qualified_key}")
    print(f"type:    {node.resource_type}")
    print(f"source:  {_relative(source)}")
    extra = {k: v for k, v in node.metadata.items() if k not in {"file_path"}}
    if extra:
        print(f"metadata: {_bounded(json.dumps(extra, default=str))}")
    if preview_only:
        print(f"size:    {size} bytes")
        with open(source, "rb") as f:
            head = f.read(PREVIEW_CHARACTERS)
        print(f"preview (first {len(head)} bytes, not loaded):")
        print(head.decode("utf-8", "replace"))
        return 0
    from lllm._plugin_manager import describe_resource

    description = describe_resource(node, runtime)
    if description is not None:
        _print_description(description)
    elif isinstance(value, Prompt):
        print(f"variables: {', '.join(value.ordered_template_vars) or '(none)'}")
        if value.metadata:
            print(f"prompt metadata: {_bounded(json.dumps(value.metadata, default=str))}")
        print("template:")
        print(_bounded(value.prompt))
    elif node.resource_type == "config":
        import yaml

        print("config (resolved):")
        print(_bounded(yaml.safe_dump(value, sort_keys=False).rstrip()))
    elif isinstance(value, type):
        print(f"class:   {value.__module__}.{value.__qualname__}")
        endpoints = getattr(value, "endpoints", None)
        if callable(endpoints):
            for name, info in endpoints().items():
                print(f"endpoint: {name} [{info.method}] {info.description}")
    else:
        print(f"size:    {size if size is not None else '?'} bytes")
        print(f"value:   {type(value).__name__}")
        if not isinstance(value, bytes):
            print(_bounded(json.dumps(value, indent=2, default=str)))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from lllm import Runtime, resolve_config
    from lllm._loader import PackageLoader
    from lllm._plugin_manager import PluginError
    from lllm._project import load_shared_packages
    from lllm._scopes import find_project_root

    target = args.path or find_project_root()
    if target is None:
        raise FileNotFoundError(2, "No lllm.toml in this folder or above", os.getcwd())
    target = os.path.abspath(target)
    problems: list[str] = []
    runtime = Runtime()
    loader = PackageLoader(
        runtime, on_problem=lambda problem: None
    )  # strict: collects every problem
    try:
        loader.load(target)
    except PluginError as exc:  # two plugins claiming one section, or a strict plugin failure
        problems.append(f"plugin: {_message(exc)}")
    except (LllmError, OSError, RecursionError) as exc:
        problems.append(f"manifest: {_message(exc)}")
    else:
        # The shared packages a program there would load: one that is broken is a problem too.
        load_shared_packages(loader, target if os.path.isdir(target) else os.path.dirname(target))
    problems.extend(f"{p.kind}: {p.message}" for p in loader.take_problems())
    for node in list(runtime.iter_nodes()):
        try:
            node.value  # noqa: B018 (reading the value is the check)
            if node.resource_type == "config":
                resolve_config(node.qualified_key, runtime)
        except Exception as exc:  # every failing resource is a problem to report
            problems.append(f"load: {node.qualified_key}: {_message(exc)}")
    if not any(p.startswith("manifest: ") for p in problems):
        from lllm._index.audit import stale_entries

        # What a warm start would have hidden: differences between the cache and the truth.
        root = target if os.path.isdir(target) else os.path.dirname(target)

        def load_again(cached_loader: PackageLoader) -> None:
            cached_loader.load(target)
            load_shared_packages(cached_loader, root)

        problems.extend(f"cache: {message}" for message in stale_entries(runtime, load_again))
    if problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) found in {target}.")
        return 1
    print(
        f"OK: {len(runtime.packages)} package(s), {len(runtime.keys())} resource(s), no problems."
    )
    return 0


def cmd_cache_info(args: argparse.Namespace) -> int:
    from lllm._index.location import cache_dir, default_cache_dir, describe

    directory = default_cache_dir()
    info = describe(directory)
    info["enabled"] = cache_dir() is not None
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    import datetime

    state = "on" if info["enabled"] else "off (LLLM_NO_CACHE)"
    print(f"folder:       {directory}")
    print(f"cache:        {state}")
    print(f"files:        {info['files']} ({info['bytes']:,} bytes)")
    print(f"environments: {len(info['environments'])}")
    for env in info["environments"]:
        written = datetime.datetime.fromtimestamp(env["written"]).strftime("%Y-%m-%d %H:%M")
        print(
            f"  Python {env['python']}, lllm {env['lllm']}, written {written}: {', '.join(env['paths']) or '-'}"
        )
    print(f"packages:     {len(info['packages'])}")
    for package in info["packages"]:
        gone = "" if package["exists"] else " (manifest gone)"
        print(f"  {package['manifest']}{gone}: {package['bytes']:,} bytes")
    print(f"bytecode:     {info['bytecode']['files']} file(s), {info['bytecode']['bytes']:,} bytes")
    return 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    from lllm._index.location import clear, default_cache_dir

    directory = default_cache_dir()
    print(f"Removed {clear(directory)} file(s) from {directory}")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from lllm._plugin_manager import PluginConflictError, list_plugins, process_host

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        records = list_plugins()
    conflict = None
    try:
        process_host().section_table()
    except PluginConflictError as exc:
        conflict = str(exc)
    if args.json:
        print(
            json.dumps({"plugins": [r.as_dict() for r in records], "conflict": conflict}, indent=2)
        )
    else:
        rows = []
        for r in records:
            sections = ", ".join(f"{s.name} ({s.resource_type})" for s in r.sections) or "-"
            status = (
                r.status if r.error is None or r.status == "loaded" else f"{r.status}: {r.error}"
            )
            rows.append((r.name, r.distribution or "(code)", r.version or "-", sections, status))
        _print_table(rows, ("PLUGIN", "DISTRIBUTION", "VERSION", "SECTIONS", "STATUS"))
        if conflict:
            print(f"conflict: {conflict}")
    return 1 if conflict else 0


def cmd_version(args: argparse.Namespace) -> int:
    print(f"lllm {__version__}")
    return 0


def cmd_pkg_install(args: argparse.Namespace) -> int:
    from lllm import install_package
    from lllm._manifest import read_manifest

    # Installing runs no package code: the package's files are imported when a project loads it.
    path = install_package(args.zip, alias=args.alias, scope=args.scope, load=False)
    version = read_manifest(path).version
    print(f"Installed {path.name} {version} ({args.scope} scope) to {path}")
    return 0


def cmd_pkg_list(args: argparse.Namespace) -> int:
    from lllm import list_packages

    packages = list_packages(args.scope)
    if not packages:
        print("No packages installed.")
        return 0
    _print_table(
        [(p["name"], p["version"], _scope_label(p), p["path"], p["description"]) for p in packages],
        ("NAME", "VERSION", "SCOPE", "PATH", "DESCRIPTION"),
    )
    return 0


def _scope_label(package: dict[str, Any]) -> str:
    """``user``, ``project``, or ``pip (distribution)``."""
    distribution = package.get("distribution")
    return f"{package['scope']} ({distribution})" if distribution else package["scope"]


def cmd_pkg_remove(args: argparse.Namespace) -> int:
    from lllm import remove_package

    path = remove_package(args.name, scope=args.scope)
    print(f"Removed {args.name} from {path}")
    return 0


def cmd_pkg_export(args: argparse.Namespace) -> int:
    from lllm import Runtime, export_package
    from lllm._manifest import ManifestError
    from lllm._project import populate

    # Packages are found from their manifests alone (discover=False): exporting runs no package code.
    runtime = Runtime()
    try:
        populate(runtime, args.project, discover=False)
    except (ManifestError, FileNotFoundError) as exc:
        if args.project is not None:
            raise
        print(
            f"lllm: warning: project not loaded ({_message(exc)}); looking in installed packages",
            file=sys.stderr,
        )
        runtime = Runtime()
        populate(runtime, discover_cwd=False, discover=False)
    path = export_package(args.name, args.out, bundle_deps=args.bundle_deps, runtime=runtime)
    suffix = " (bundled with its dependencies)" if args.bundle_deps else ""
    print(f"Exported {args.name} to {path}{suffix}")
    return 0


# ------------------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lllm`` command."""
    parser = argparse.ArgumentParser(
        prog="lllm", description="Inspect lllm projects and manage lllm packages."
    )
    parser.add_argument("--version", action="version", version=f"lllm {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ls = commands.add_parser("ls", help="list the resources of a project")
    ls.add_argument("--type", help="only resources of this type (prompt, config, …)")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.add_argument("--project", help="project folder or lllm.toml (default: the cwd's project)")
    ls.set_defaults(run=cmd_ls)

    show = commands.add_parser("show", help="show one resource")
    show.add_argument("key", help="a key, e.g. greet/hello, pkg:greet/hello or pkg.assets:logo.png")
    show.add_argument("--project", help="project folder or lllm.toml (default: the cwd's project)")
    show.set_defaults(run=cmd_show)

    check = commands.add_parser("check", help="load a package strictly and report every problem")
    check.add_argument(
        "path", nargs="?", help="package folder or lllm.toml (default: the cwd's project)"
    )
    check.set_defaults(run=cmd_check)

    cache = commands.add_parser(
        "cache", help="the discovery index cache: where it is, what it holds; clear it"
    )
    cache_commands = cache.add_subparsers(
        dest="cache_command", metavar="CACHE_COMMAND", required=True
    )
    cache_info = cache_commands.add_parser(
        "info", help="where the cache is, how big, which environments and packages"
    )
    cache_info.add_argument("--json", action="store_true", help="print JSON")
    cache_info.set_defaults(run=cmd_cache_info)
    cache_clear = cache_commands.add_parser("clear", help="remove every index file")
    cache_clear.set_defaults(run=cmd_cache_clear)

    plugins = commands.add_parser("plugins", help="list plugins, their distributions and sections")
    plugins.add_argument("--json", action="store_true", help="print JSON")
    plugins.set_defaults(run=cmd_plugins)

    pkg = commands.add_parser("pkg", help="install, list, remove and export packages")
    pkg_commands = pkg.add_subparsers(dest="pkg_command", metavar="PKG_COMMAND", required=True)
    install = pkg_commands.add_parser("install", help="install a package from a zip")
    install.add_argument("zip")
    install.add_argument("--alias", help="install under this package name")
    install.add_argument("--scope", choices=["user", "project"], default="user")
    install.add_argument(
        "--no-load",
        action="store_true",
        help="kept for compatibility: installing never loads the package",
    )
    install.set_defaults(run=cmd_pkg_install)
    listing = pkg_commands.add_parser("list", help="list installed packages")
    listing.add_argument("--scope", choices=["user", "project", "pip"])
    listing.set_defaults(run=cmd_pkg_list)
    remove = pkg_commands.add_parser("remove", help="remove an installed package")
    remove.add_argument("name")
    remove.add_argument("--scope", choices=["user", "project", "pip"])
    remove.set_defaults(run=cmd_pkg_remove)
    export = pkg_commands.add_parser("export", help="export a loaded package to a zip")
    export.add_argument("name")
    export.add_argument("out")
    export.add_argument(
        "--bundle-deps", action="store_true", help="include transitive dependencies"
    )
    export.add_argument(
        "--project", help="project folder or lllm.toml (default: the cwd's project)"
    )
    export.set_defaults(run=cmd_pkg_export)
    return parser


def _show_warning(
    message: Any,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: Any = None,
) -> None:
    text = str(message)
    print(f"lllm: warning: {text.removeprefix('lllm: ')}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the ``lllm`` command with ``argv`` (default: ``sys.argv[1:]``) and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    previous = warnings.showwarning
    warnings.showwarning = _show_warning  # put back when the command is over
    streams = [
        (stream, stream.errors)
        for stream in (sys.stdout, sys.stderr)
        if hasattr(stream, "reconfigure")
    ]
    for stream, _ in streams:  # a file name that is not valid UTF-8 never ends a command
        stream.reconfigure(errors="backslashreplace")  # type: ignore[attr-defined]
    try:
        return run(args)
    except BrokenPipeError:
        # The reader went away (`lllm ls | head`): stop quietly, and keep the interpreter's
        # final flush from failing again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except _EXPECTED_ERRORS as exc:
        print(f"lllm: error: {_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        warnings.showwarning = previous
        for stream, errors in streams:
            stream.reconfigure(errors=errors)  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
