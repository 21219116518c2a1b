"""Checking package archives before anything is written, and extracting them safely.

``inspect_archive`` reads a zip's central directory and refuses anything hostile or broken:
not a zip, absolute paths, ``..`` segments (either slash), links and special files,
encrypted or duplicate entries, too many entries, too much data, suspicious compression
ratios, no package or more than one. ``extract_package`` then writes only the package's own
entries below a destination folder that must not exist yet.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import attrs

from lllm._manifest import MANIFEST_NAME, Manifest, parse_manifest
from lllm.core.errors import LllmError

DEFAULT_MAX_TOTAL_SIZE = 512 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 50_000
DEFAULT_MAX_RATIO = 200
# Entries smaller than this are not held to the ratio limit (tiny files compress absurdly well).
_RATIO_FLOOR = 64 * 1024
_IGNORED_TOP_LEVEL = frozenset({"__MACOSX"})


class ArchiveError(LllmError, ValueError):
    """A package archive is broken or unsafe; the message names the archive and the entry."""


@attrs.frozen
class ArchiveLimits:
    """Limits an archive must respect: total uncompressed bytes, entry count, compression ratio."""

    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE
    max_entries: int = DEFAULT_MAX_ENTRIES
    max_ratio: float = DEFAULT_MAX_RATIO


@attrs.frozen
class ArchivePlan:
    """A checked archive: its package's manifest, and which entries to write where.

    ``files`` maps entry names in the zip to paths relative to the package folder.
    """

    archive: Path
    manifest: Manifest
    root: str
    files: tuple[tuple[zipfile.ZipInfo, str], ...]
    directories: tuple[str, ...]


def _entry_parts(archive: Path, name: str) -> tuple[str, ...]:
    normalised = name.replace("\\", "/")
    if (
        normalised.startswith("/")
        or (len(normalised) > 1 and normalised[1] == ":")
        or "\x00" in normalised
    ):
        raise ArchiveError(f"{archive}: entry {name!r} has an absolute path.")
    if any(ord(char) < 32 or ord(char) == 127 for char in normalised):
        raise ArchiveError(f"{archive}: entry {name!r} has a control character in its name.")
    parts = tuple(p for p in normalised.split("/") if p not in ("", "."))
    if ".." in parts:
        raise ArchiveError(f"{archive}: entry {name!r} leaves the package folder ('..').")
    if not parts:
        raise ArchiveError(f"{archive}: entry {name!r} has an empty path.")
    return parts


def _check_kind(archive: Path, info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{archive}: entry {info.filename!r} is encrypted.")
    file_type = stat.S_IFMT(info.external_attr >> 16)
    # No type bits (as zipfile.writestr writes) means a plain file.
    if file_type and file_type not in (stat.S_IFREG, stat.S_IFDIR):
        kind = "a symbolic link" if file_type == stat.S_IFLNK else "a special file"
        raise ArchiveError(
            f"{archive}: entry {info.filename!r} is {kind}; only files and folders are allowed."
        )


def inspect_archive(
    archive: str | os.PathLike[str], limits: ArchiveLimits = ArchiveLimits()
) -> ArchivePlan:
    """Check ``archive`` completely and return what to extract, or raise ``ArchiveError``.

    A missing file raises ``FileNotFoundError``. Nothing is written.
    """
    path = Path(archive)
    if not path.is_file():
        raise FileNotFoundError(2, "No such package archive", str(path))
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            plan_entries = _check_entries(path, infos, limits)
            root = _package_root(path, plan_entries)
            manifest_name = f"{root}/{MANIFEST_NAME}" if root else MANIFEST_NAME
            manifest_info = plan_entries[manifest_name][0]
            if manifest_info.file_size > 1024 * 1024:
                raise ArchiveError(f"{path}: {manifest_name} is larger than 1 MiB.")
            raw = zf.read(manifest_info)
            _read_everything(path, zf, plan_entries)
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"{path}: not a valid zip archive ({exc}).") from exc
    except (OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise ArchiveError(
            f"{path}: the archive cannot be read ({type(exc).__name__}: {exc})."
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArchiveError(f"{path}: {manifest_name} is not UTF-8 text.") from exc
    manifest = parse_manifest(text, Path(f"{path}!") / manifest_name)
    prefix = f"{root}/" if root else ""
    files = []
    directories = []
    for joined, (info, is_dir) in plan_entries.items():
        if root and not (joined == root or joined.startswith(prefix)):
            continue
        relative = joined[len(prefix) :]
        if not relative:
            continue
        (directories.append(relative) if is_dir else files.append((info, relative)))
    return ArchivePlan(path, manifest, root, tuple(files), tuple(directories))


def _check_entries(
    path: Path, infos: list[zipfile.ZipInfo], limits: ArchiveLimits
) -> dict[str, tuple[zipfile.ZipInfo, bool]]:
    if len(infos) > limits.max_entries:
        raise ArchiveError(
            f"{path}: {len(infos)} entries, more than the limit of {limits.max_entries}."
        )
    entries: dict[str, tuple[zipfile.ZipInfo, bool]] = {}
    kinds: dict[str, bool] = {}
    total = 0
    for info in infos:
        parts = _entry_parts(path, info.filename)
        _check_kind(path, info)
        if parts[0] in _IGNORED_TOP_LEVEL:
            continue
        joined = "/".join(parts)
        is_dir = info.is_dir()
        if joined in entries:
            raise ArchiveError(f"{path}: entry {info.filename!r} appears twice.")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if kinds.get(parent) is False:
                raise ArchiveError(
                    f"{path}: entry {info.filename!r} is inside {parent!r}, which is a file."
                )
            kinds[parent] = True
        if kinds.get(joined) is True and not is_dir:
            raise ArchiveError(f"{path}: entry {info.filename!r} is both a file and a folder.")
        kinds[joined] = is_dir
        entries[joined] = (info, is_dir)
        total += info.file_size
        if total > limits.max_total_size:
            raise ArchiveError(
                f"{path}: more than {limits.max_total_size} bytes uncompressed, the size limit."
            )
        if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise ArchiveError(
                f"{path}: entry {info.filename!r} expands {info.file_size / max(info.compress_size, 1):.0f} times, "
                f"more than the ratio limit of {limits.max_ratio}."
            )
    return entries


def _read_everything(
    path: Path, zf: zipfile.ZipFile, entries: dict[str, tuple[zipfile.ZipInfo, bool]]
) -> None:
    """Decompress every file once (checking CRCs, methods and headers) before anything is written."""
    for info, is_dir in entries.values():
        if is_dir:
            continue
        try:
            with zf.open(info) as stream:
                while stream.read(1024 * 1024):
                    pass
        except (
            zipfile.BadZipFile,
            OSError,
            EOFError,
            RuntimeError,
            NotImplementedError,
            ValueError,
        ) as exc:
            raise ArchiveError(
                f"{path}: entry {info.filename!r} is corrupt or unreadable ({type(exc).__name__}: {exc})."
            ) from exc


def _package_root(path: Path, entries: dict[str, tuple[zipfile.ZipInfo, bool]]) -> str:
    def is_file(name: str) -> bool:
        return name in entries and not entries[name][1]

    if is_file(MANIFEST_NAME):
        return ""
    top_level = {name.split("/", 1)[0] for name in entries}
    roots = sorted(t for t in top_level if is_file(f"{t}/{MANIFEST_NAME}"))
    if not roots:
        raise ArchiveError(
            f"{path}: no package found (no {MANIFEST_NAME} at the top or in a top-level folder)."
        )
    if len(top_level) > 1:
        raise ArchiveError(
            f"{path}: expected exactly one package, found top-level entries {', '.join(sorted(top_level))}."
        )
    return roots[0]


def extract_package(plan: ArchivePlan, destination: Path) -> None:
    """Write the package entries of ``plan`` below ``destination`` (created; must not exist).

    Every target is checked to stay inside ``destination``; files are created exclusively,
    and no more bytes are written than the archive declared.
    """
    from lllm._fs import make_folders

    destination.mkdir(mode=0o755)
    base = os.path.realpath(destination)
    with zipfile.ZipFile(plan.archive) as zf:
        for relative in plan.directories:
            make_folders(_inside(base, destination / relative))
        for info, relative in plan.files:
            target = _inside(base, destination / relative)
            make_folders(target.parent)
            remaining = info.file_size
            with zf.open(info) as source, open(target, "xb") as sink:
                while True:
                    chunk = source.read(min(1024 * 1024, remaining + 1))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    if remaining < 0:
                        raise ArchiveError(
                            f"{plan.archive}: entry {info.filename!r} is larger than it declares."
                        )
                    sink.write(chunk)


def _inside(base: str, target: Path) -> Path:
    real_parent = os.path.realpath(target.parent)
    if real_parent != base and not real_parent.startswith(base + os.sep):
        raise ArchiveError(f"refusing to write {target}: outside {base}")
    return target
