"""Package archives: a corpus of hostile or broken zips that install must refuse untouched.

Every archive is forged here with ``zipfile`` (raw ``ZipInfo`` entries, attributes patched
after writing where ``zipfile`` would reset them). For each one, ``install_package`` must
raise (``ArchiveError`` or ``ManifestError``, both ``ValueError``), name the archive (and the
entry at fault), and leave the disk exactly as it was: nothing in the user scope, nothing
anywhere around the test's folders.
"""

from __future__ import annotations

import os
import random
import stat
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

import lllm
from lllm._archive import ArchiveError, ArchiveLimits, ArchivePlan, inspect_archive
from lllm._manifest import ManifestError
from lllm._scopes import scope_dir
from lllm.core.runtime import Runtime

GOOD_MANIFEST = '[package]\nname = "pkg"\nversion = "1.0.0"\ndescription = "a package"\n'
REGULAR = stat.S_IFREG | 0o644
DIRECTORY = stat.S_IFDIR | 0o755


# ----------------------------------------------------------------------------- forging zips


def entry(
    name: str, *, mode: int | None = REGULAR, compress: int = zipfile.ZIP_DEFLATED
) -> zipfile.ZipInfo:
    """A raw entry: the name is kept exactly as given (no slash clean-up)."""
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.compress_type = compress
    if mode is not None:
        info.external_attr = mode << 16
    return info


Item = tuple  # (name, data) or (name, data, {"mode": ..., "after": callable(ZipInfo), "compress": ...})


def forge(path: Path, items: list[Item]) -> Path:
    """Write a zip of ``items``; ``after`` patches the ``ZipInfo`` once written, which changes
    only the central directory (what ``infolist`` reports), not the local header."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name" is the point of some archives
        with zipfile.ZipFile(path, "w") as zf:
            for item in items:
                name, data = item[0], item[1]
                options = item[2] if len(item) > 2 else {}
                info = entry(
                    name,
                    mode=options.get("mode", DIRECTORY if name.endswith("/") else REGULAR),
                    compress=options.get("compress", zipfile.ZIP_DEFLATED),
                )
                zf.writestr(info, data)
                if "after" in options:
                    options["after"](info)
    return path


def with_package(*extra: Item, root: str = "pkg", manifest: str = GOOD_MANIFEST) -> list[Item]:
    """A valid package in a top-level folder, plus ``extra`` entries."""
    return [(f"{root}/lllm.toml", manifest), (f"{root}/prompts/hello.md", "Hello {name}"), *extra]


def valid_zip_bytes(tmp: Path) -> bytes:
    items = with_package(*[(f"pkg/data/f{i}.txt", f"line {i}\n" * 200) for i in range(20)])
    return forge(tmp / "valid-source.zip", items).read_bytes()


def _set_encrypted(info: zipfile.ZipInfo) -> None:
    info.flag_bits |= 0x1


def _bad_crc(info: zipfile.ZipInfo) -> None:
    info.CRC ^= 0xFFFFFFFF


def _rename_in_directory(info: zipfile.ZipInfo) -> None:
    # the central directory says one name, the local header another (a zip confusion trick)
    info.filename = info.orig_filename = "pkg/prompts/innocent.md"


def _unknown_method(info: zipfile.ZipInfo) -> None:
    info.compress_type = 99


def _ratio_bomb_items() -> list[Item]:
    return with_package(("pkg/zeros.bin", b"\0" * (4 * 1024 * 1024)))


def _incompressible(size: int) -> bytes:
    return random.Random(7).randbytes(size)


# Each case: (id, build(tmp) -> zip path, expected error, fragments the message must hold, limits)
Case = tuple[str, Callable[[Path], Path], type[Exception], tuple[str, ...], ArchiveLimits | None]


def _zip(items: list[Item]) -> Callable[[Path], Path]:
    return lambda tmp: forge(tmp / "hostile.zip", items)


def _raw(make: Callable[[Path], bytes], filename: str = "hostile.zip") -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        target = tmp / filename
        target.write_bytes(make(tmp))
        return target

    return build


CASES: list[Case] = [
    ("dotdot", _zip(with_package(("../evil.txt", "pwned"))), ArchiveError, ("evil.txt",), None),
    (
        "dotdot-inside",
        _zip(with_package(("pkg/../../evil.txt", "pwned"))),
        ArchiveError,
        ("evil.txt",),
        None,
    ),
    (
        "dotdot-backslash",
        _zip(with_package(("..\\evil.txt", "pwned"))),
        ArchiveError,
        ("evil.txt",),
        None,
    ),
    (
        "dotdot-backslash-inside",
        _zip(with_package(("pkg\\..\\..\\evil", "pwned"))),
        ArchiveError,
        ("evil",),
        None,
    ),
    (
        "dotdot-deep",
        _zip(with_package(("pkg/prompts/../../../../evil-deep.txt", "pwned"))),
        ArchiveError,
        ("evil-deep",),
        None,
    ),
    ("absolute", _zip(with_package(("/etc/x", "pwned"))), ArchiveError, ("/etc/x",), None),
    (
        "absolute-root-package",
        _zip([("/pkg/lllm.toml", GOOD_MANIFEST)]),
        ArchiveError,
        ("/pkg/lllm.toml",),
        None,
    ),
    ("drive-slash", _zip(with_package(("C:/x", "pwned"))), ArchiveError, ("C:/x",), None),
    ("drive-backslash", _zip(with_package(("C:\\x", "pwned"))), ArchiveError, ("C:",), None),
    (
        "unc-path",
        _zip(with_package(("\\\\server\\share\\x", "pwned"))),
        ArchiveError,
        ("server",),
        None,
    ),
    (
        "symlink",
        _zip(
            with_package(
                ("pkg/prompts/link.md", "../../../../etc/passwd", {"mode": stat.S_IFLNK | 0o777})
            )
        ),
        ArchiveError,
        ("pkg/prompts/link.md", "link"),
        None,
    ),
    (
        "symlink-dir",
        _zip(with_package(("pkg/escape", "/", {"mode": stat.S_IFLNK | 0o777}))),
        ArchiveError,
        ("pkg/escape",),
        None,
    ),
    (
        "fifo",
        _zip(with_package(("pkg/pipe", b"", {"mode": stat.S_IFIFO | 0o644}))),
        ArchiveError,
        ("pkg/pipe",),
        None,
    ),
    (
        "char-device",
        _zip(with_package(("pkg/null", b"", {"mode": stat.S_IFCHR | 0o666}))),
        ArchiveError,
        ("pkg/null",),
        None,
    ),
    (
        "block-device",
        _zip(with_package(("pkg/disk", b"", {"mode": stat.S_IFBLK | 0o660}))),
        ArchiveError,
        ("pkg/disk",),
        None,
    ),
    ("ratio-bomb", _zip(_ratio_bomb_items()), ArchiveError, ("pkg/zeros.bin", "ratio"), None),
    (
        "total-size-limit",
        _zip(with_package(("pkg/data/blob.bin", _incompressible(200_000)))),
        ArchiveError,
        ("size",),
        ArchiveLimits(max_total_size=100_000),
    ),
    (
        "too-many-entries",
        _zip(with_package(*[(f"pkg/data/f{i}.txt", "x") for i in range(9)])),  # 11 entries
        ArchiveError,
        ("11", "10"),
        ArchiveLimits(max_entries=10),
    ),
    (
        "duplicate",
        _zip(with_package(("pkg/dup.txt", "one"), ("pkg/dup.txt", "two"))),
        ArchiveError,
        ("pkg/dup.txt",),
        None,
    ),
    (
        "duplicate-manifest",
        _zip(with_package(("pkg/lllm.toml", '[package]\nname = "other"\n'))),
        ArchiveError,
        ("pkg/lllm.toml",),
        None,
    ),
    (
        "duplicate-after-normalising",
        _zip(with_package(("pkg/prompts\\hello.md", "shadow"))),
        ArchiveError,
        ("hello.md",),
        None,
    ),
    (
        "file-then-folder",
        _zip(with_package(("pkg/thing", "a file"), ("pkg/thing/", b""))),
        ArchiveError,
        ("pkg/thing",),
        None,
    ),
    (
        "folder-then-file",
        _zip(with_package(("pkg/thing/", b""), ("pkg/thing", "a file"))),
        ArchiveError,
        ("pkg/thing",),
        None,
    ),
    (
        "file-then-child",
        _zip(with_package(("pkg/thing", "a file"), ("pkg/thing/inner.txt", "x"))),
        ArchiveError,
        ("pkg/thing",),
        None,
    ),
    (
        "child-then-file",
        _zip(with_package(("pkg/thing/inner.txt", "x"), ("pkg/thing", "a file"))),
        ArchiveError,
        ("pkg/thing",),
        None,
    ),
    (
        "two-packages",
        _zip([*with_package(root="one"), *with_package(root="two")]),
        ArchiveError,
        ("one", "two"),
        None,
    ),
    (
        "package-and-stray-top-level",
        _zip(with_package(("stray.txt", "x"))),
        ArchiveError,
        ("stray.txt",),
        None,
    ),
    (
        "no-manifest",
        _zip([("pkg/prompts/hello.md", "Hello"), ("README.md", "hi")]),
        ArchiveError,
        ("lllm.toml",),
        None,
    ),
    (
        "manifest-too-deep",
        _zip([("a/b/lllm.toml", GOOD_MANIFEST)]),
        ArchiveError,
        ("lllm.toml",),
        None,
    ),
    ("empty-zip", _zip([]), ArchiveError, ("lllm.toml",), None),
    (
        "invalid-toml",
        _zip(with_package(manifest='[package]\nname = "pkg"\nversion = \n')),
        ManifestError,
        ("pkg/lllm.toml", "line 3"),
        None,
    ),
    (
        "name-traversal",
        _zip(with_package(manifest='[package]\nname = "../../x"\n')),
        ManifestError,
        ("../../x", "pkg/lllm.toml"),
        None,
    ),
    (
        "name-with-dot",
        _zip(with_package(manifest='[package]\nname = "a.b"\n')),
        ManifestError,
        ("a.b", "pkg/lllm.toml"),
        None,
    ),
    (
        "name-empty",
        _zip(with_package(manifest='[package]\nname = ""\n')),
        ManifestError,
        ("pkg/lllm.toml",),
        None,
    ),
    (
        "manifest-not-utf8",
        _zip(with_package(manifest=b'[package]\nname = "\xff\xfe"\n')),
        ArchiveError,
        ("lllm.toml",),
        None,
    ),
    (
        "manifest-too-large",
        _zip(with_package(manifest="#" * (1024 * 1024 + 10) + "\n" + GOOD_MANIFEST)),
        ArchiveError,
        ("lllm.toml",),
        None,
    ),
    (
        "not-a-zip",
        _raw(lambda tmp: b"this is plain text, not a zip archive\n" * 20),
        ArchiveError,
        (),
        None,
    ),
    (
        "not-a-zip-named-toml",
        _raw(lambda tmp: GOOD_MANIFEST.encode(), "lllm.toml"),
        ArchiveError,
        (),
        None,
    ),
    (
        "truncated",
        _raw(lambda tmp: (data := valid_zip_bytes(tmp))[: len(data) // 2]),
        ArchiveError,
        (),
        None,
    ),
    ("truncated-tail", _raw(lambda tmp: valid_zip_bytes(tmp)[:-10]), ArchiveError, (), None),
    ("empty-file", _raw(lambda tmp: b""), ArchiveError, (), None),
    (
        "encrypted-flag",
        _zip(with_package(("pkg/secret.txt", "hidden", {"after": _set_encrypted}))),
        ArchiveError,
        ("pkg/secret.txt",),
        None,
    ),
    (
        "encrypted-manifest",
        _zip([("pkg/lllm.toml", GOOD_MANIFEST, {"after": _set_encrypted})]),
        ArchiveError,
        ("pkg/lllm.toml",),
        None,
    ),
    (
        "manifest-is-a-folder",
        _zip([("pkg/lllm.toml/", b""), ("pkg/prompts/hello.md", "Hello")]),
        ArchiveError,
        ("lllm.toml",),
        None,
    ),
    (
        "manifest-is-a-folder-with-content",
        _zip(
            [
                ("pkg/lllm.toml/", b""),
                ("pkg/lllm.toml/inner.txt", "x"),
                ("pkg/prompts/hello.md", "Hello"),
            ]
        ),
        ArchiveError,
        ("lllm.toml",),
        None,
    ),
    (
        "root-manifest-is-a-folder",
        _zip([("lllm.toml/", b""), ("prompts/hello.md", "Hello")]),
        ArchiveError,
        ("lllm.toml",),
        None,
    ),
    # Broken entry data: only visible when the entry is read, i.e. while extracting.
    (
        "bad-crc",
        _zip(with_package(("pkg/data/corrupt.txt", "some data " * 100, {"after": _bad_crc}))),
        ArchiveError,
        ("corrupt.txt",),
        None,
    ),
    (
        "header-name-mismatch",
        _zip(with_package(("pkg/prompts/evil-header.md", "x", {"after": _rename_in_directory}))),
        ArchiveError,
        ("innocent.md",),
        None,
    ),
    (
        "unknown-compression",
        _zip(with_package(("pkg/data/odd.bin", "odd data", {"after": _unknown_method}))),
        ArchiveError,
        ("odd.bin",),
        None,
    ),
]

assert len(CASES) >= 18


# ----------------------------------------------------------------------------- isolation


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    home = tmp_path / "home"
    project = tmp_path / "project"
    work = tmp_path / "work"
    for folder in (home, project, work):
        folder.mkdir()
    monkeypatch.setenv("LLLM_HOME", str(home))
    monkeypatch.chdir(project)
    return {"home": home, "project": project, "work": work}


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path below ``root`` (not following links) with its kind, size and mtime."""
    found: dict[str, tuple[int, int, int]] = {}
    for folder, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            path = os.path.join(folder, name)
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            size = st.st_size if kind != stat.S_IFDIR else 0
            mtime = st.st_mtime_ns if kind != stat.S_IFDIR else 0
            found[os.path.relpath(path, root)] = (kind, size, mtime)
    return found


def assert_unchanged(before: dict, after: dict, root: Path, scope: Path) -> None:
    """``after`` equals ``before`` except for the scope folder itself and hidden lock files in it."""
    allowed_dir = os.path.relpath(scope, root)
    removed = sorted(set(before) - set(after))
    assert removed == [], f"paths disappeared: {removed}"
    changed = sorted(p for p in before if before[p] != after[p])
    assert changed == [], f"paths changed: {changed}"
    added = sorted(set(after) - set(before))
    unexpected = [
        p
        for p in added
        if not (
            p == allowed_dir
            or (
                os.path.dirname(p) == allowed_dir
                and os.path.basename(p).startswith(".")
                and p.endswith(".lllm-lock")
            )
        )
    ]
    assert unexpected == [], f"new paths appeared: {unexpected}"


# ----------------------------------------------------------------------------- the corpus


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_archive_is_refused_and_nothing_is_written(
    case: Case, env: dict[str, Path], tmp_path: Path
) -> None:
    case_id, build, expected, fragments, limits = case
    archive = build(env["work"])
    scope = scope_dir("user")
    assert scope == env["home"] / "packages"
    watched = tmp_path.parent
    before_all = snapshot(watched)
    before_home = snapshot(env["home"])
    rt = Runtime()

    error: BaseException | None = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            install_kwargs = {"limits": limits} if limits is not None else {}
            lllm.install_package(archive, scope="user", runtime=rt, **install_kwargs)
        except Exception as exc:  # noqa: BLE001 - checked below, after the disk
            error = exc

    # The disk first: whatever was raised, nothing may have been written.
    assert_unchanged(before_home, snapshot(env["home"]), env["home"], scope)
    assert_unchanged(before_all, snapshot(watched), watched, scope)
    if scope.exists():
        assert [n for n in os.listdir(scope) if not n.endswith(".lllm-lock")] == []
    assert lllm.list_packages(runtime=rt) == []
    assert len(rt.packages) == 0 and rt.keys() == []

    assert error is not None, f"{case_id}: the archive was installed"
    assert isinstance(error, expected), (
        f"{case_id}: expected {expected.__name__}, got {type(error).__name__}: {error}"
    )
    assert isinstance(error, ValueError)
    message = str(error)
    assert str(archive) in message, f"{case_id}: the message does not name the archive: {message}"
    for fragment in fragments:
        assert fragment in message, f"{case_id}: {fragment!r} not in {message!r}"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_project_scope_refuses_the_same_archives(
    case: Case, env: dict[str, Path], tmp_path: Path
) -> None:
    case_id, build, expected, fragments, limits = case
    archive = build(env["work"])
    scope = scope_dir("project")
    assert scope == env["project"] / "lllm_packages"
    before = snapshot(tmp_path.parent)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(expected):
            lllm.install_package(
                archive,
                scope="project",
                runtime=Runtime(),
                **({"limits": limits} if limits else {}),
            )
    assert_unchanged(before, snapshot(tmp_path.parent), tmp_path.parent, scope)


def test_ratio_bomb_passes_with_a_lenient_ratio_but_not_a_low_total_size(
    env: dict[str, Path],
) -> None:
    archive = forge(env["work"] / "bomb.zip", _ratio_bomb_items())
    # The same archive is accepted when the ratio limit is lifted: the ratio is what refused it.
    plan = inspect_archive(archive, ArchiveLimits(max_ratio=1_000_000))
    assert plan.manifest.name == "pkg"
    with pytest.raises(ArchiveError, match="ratio"):
        inspect_archive(archive)
    with pytest.raises(ArchiveError, match="size") as caught:
        inspect_archive(archive, ArchiveLimits(max_total_size=1024 * 1024, max_ratio=1_000_000))
    assert str(archive) in str(caught.value)


def test_entry_limit_is_inclusive(env: dict[str, Path]) -> None:
    items = with_package(*[(f"pkg/data/f{i}.txt", "x") for i in range(8)])  # 10 entries
    archive = forge(env["work"] / "ten.zip", items)
    assert len(inspect_archive(archive, ArchiveLimits(max_entries=10)).files) == 10


def test_missing_archive_is_file_not_found(env: dict[str, Path]) -> None:
    missing = env["work"] / "nope.zip"
    with pytest.raises(FileNotFoundError) as caught:
        lllm.install_package(missing, scope="user", runtime=Runtime())
    assert str(missing) in str(caught.value)
    with pytest.raises(FileNotFoundError):
        inspect_archive(missing)
    assert not (env["home"] / "packages").exists()


def test_a_folder_is_not_an_archive(env: dict[str, Path]) -> None:
    folder = env["work"] / "folder.zip"
    folder.mkdir()
    with pytest.raises((FileNotFoundError, ArchiveError)):
        lllm.install_package(folder, scope="user", runtime=Runtime())
    assert not (env["home"] / "packages").exists()


def test_errors_are_value_errors() -> None:
    assert issubclass(ArchiveError, ValueError)
    assert issubclass(ManifestError, ValueError)
    assert lllm.ArchiveError is ArchiveError


# ----------------------------------------------------------------------------- good archives


def _relative_files(plan: ArchivePlan) -> list[str]:
    return sorted(relative for _, relative in plan.files)


def test_inspect_accepts_a_root_manifest_and_ignores_macosx(env: dict[str, Path]) -> None:
    archive = forge(
        env["work"] / "root.zip",
        [
            ("lllm.toml", '[package]\nname = "rooty"\nversion = "2.0.0"\n'),
            ("prompts/", b""),
            ("prompts/hello.md", "Hello"),
            ("__MACOSX/", b""),
            ("__MACOSX/._lllm.toml", b"\0\5\26\7 resource fork"),
            ("__MACOSX/prompts/._hello.md", b"\0\5\26\7"),
        ],
    )
    plan = inspect_archive(archive)
    assert plan.root == ""
    assert plan.manifest.name == "rooty" and plan.manifest.version == "2.0.0"
    assert _relative_files(plan) == ["lllm.toml", "prompts/hello.md"]
    assert list(plan.directories) == ["prompts"]
    assert plan.archive == archive

    rt = Runtime()
    installed = lllm.install_package(archive, scope="user", runtime=rt)
    assert installed == env["home"] / "packages" / "rooty"
    assert not (installed / "__MACOSX").exists()
    assert sorted(
        p.relative_to(installed).as_posix() for p in installed.rglob("*") if p.is_file()
    ) == [
        ".lllm-install.json",
        "lllm.toml",
        "prompts/hello.md",
    ]
    assert rt.get_prompt("rooty:hello").prompt.strip() == "Hello"


def test_inspect_accepts_one_top_level_folder_and_ignores_macosx(env: dict[str, Path]) -> None:
    archive = forge(
        env["work"] / "folder.zip",
        [
            ("__MACOSX/pkg/._lllm.toml", b"\0\5\26\7"),
            ("pkg/", b""),
            ("pkg/lllm.toml", GOOD_MANIFEST),
            ("pkg/prompts/", b""),
            ("pkg/prompts/hello.md", "Hello {name}"),
            ("pkg/prompts/empty/", b""),
            ("__MACOSX/pkg/prompts/._hello.md", b"\0\5\26\7"),
        ],
    )
    plan = inspect_archive(archive)
    assert plan.root == "pkg"
    assert plan.manifest.name == "pkg" and plan.manifest.description == "a package"
    assert _relative_files(plan) == ["lllm.toml", "prompts/hello.md"]
    assert sorted(plan.directories) == ["prompts", "prompts/empty"]

    rt = Runtime()
    installed = lllm.install_package(archive, scope="user", runtime=rt)
    assert installed == env["home"] / "packages" / "pkg"
    assert (installed / "prompts" / "empty").is_dir()
    assert not (installed / "__MACOSX").exists() and not (installed / "pkg").exists()
    assert (installed / "lllm.toml").read_text() == GOOD_MANIFEST
    assert rt.get_prompt("pkg:hello")(name="Ada") == "Hello Ada"


def test_inspect_writes_nothing(env: dict[str, Path], tmp_path: Path) -> None:
    archive = forge(env["work"] / "good.zip", with_package())
    before = snapshot(tmp_path.parent)
    inspect_archive(archive)
    assert snapshot(tmp_path.parent) == before


def test_backslash_separators_are_folders(env: dict[str, Path]) -> None:
    """A zip written on Windows with backslashes installs into the same folders."""
    archive = forge(
        env["work"] / "win.zip",
        [("pkg\\lllm.toml", GOOD_MANIFEST), ("pkg\\prompts\\hello.md", "Hi")],
    )
    plan = inspect_archive(archive)
    assert plan.root == "pkg"
    assert _relative_files(plan) == ["lllm.toml", "prompts/hello.md"]
    installed = lllm.install_package(archive, scope="user", runtime=Runtime(), load=False)
    assert (installed / "prompts" / "hello.md").read_text() == "Hi"


def test_folder_name_differs_from_declared_name(env: dict[str, Path]) -> None:
    archive = forge(
        env["work"] / "x.zip",
        with_package(root="whatever-1.0", manifest='[package]\nname = "real"\n'),
    )
    plan = inspect_archive(archive)
    assert plan.root == "whatever-1.0" and plan.manifest.name == "real"
    installed = lllm.install_package(archive, scope="user", runtime=Runtime(), load=False)
    assert installed.name == "real"


def test_small_highly_compressible_files_are_not_held_to_the_ratio(env: dict[str, Path]) -> None:
    archive = forge(env["work"] / "small.zip", with_package(("pkg/data/spaces.txt", " " * 60_000)))
    assert "data/spaces.txt" in _relative_files(inspect_archive(archive))
