"""Reading and checking ``lllm.toml`` (``lllm._manifest``)."""

from __future__ import annotations

import os
import pickle
import sys
import warnings
from pathlib import Path

import pytest

from lllm._manifest import (
    Manifest,
    ManifestError,
    PathEntry,
    SectionTable,
    manifest_for_folder,
    read_manifest,
    validate_package_name,
)

FULL_MANIFEST = """\
[package]
name = "my_pkg"
version = "1.2.0"
description = "All the forms."

[dependencies]
packages = [
    "../child",
    "../other as o",
    "../odd as name as last",
    { path = "../x", alias = "x2" },
    { path = "../y", as = "y2" },
    { path = "../z as kept" },
    "/abs/dep",
]

[prompts]
paths = [
    "prompts",
    "vendor under tools",
    { path = "more", prefix = "extra" },
    { path = "deep", under = "a/b" },
    "../shared/../common",
    { path = "plain" },
]

[data]
paths = ["data"]

[configs]

[proxies]
paths = []
"""


def write(folder: Path, text: str | bytes, name: str = "lllm.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / name
    if isinstance(text, bytes):
        file.write_bytes(text)
    else:
        file.write_text(text, encoding="utf-8")
    return file


def read_quietly(path: Path) -> Manifest:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_manifest(path)


# --- valid manifests -------------------------------------------------------------------------


def test_full_manifest(tmp_path: Path) -> None:
    base = tmp_path / "proj"
    file = write(base, FULL_MANIFEST)
    manifest = read_quietly(file)

    assert manifest.file == str(file)  # the model holds paths as strings
    assert manifest.base_dir == str(base)
    assert (manifest.name, manifest.version, manifest.description) == (
        "my_pkg",
        "1.2.0",
        "All the forms.",
    )
    assert manifest.dependencies == (
        PathEntry(str(tmp_path / "child"), "../child"),
        PathEntry(str(tmp_path / "other"), "../other as o", alias="o"),
        PathEntry(str(tmp_path / "odd as name"), "../odd as name as last", alias="last"),
        PathEntry(str(tmp_path / "x"), "../x", alias="x2"),
        PathEntry(str(tmp_path / "y"), "../y", alias="y2"),
        PathEntry(str(tmp_path / "z as kept"), "../z as kept"),
        PathEntry(str(Path("/abs/dep").absolute()), "/abs/dep"),
    )
    assert list(manifest.sections) == ["prompts", "data", "configs", "proxies"]
    prompts = manifest.sections["prompts"]
    assert prompts == SectionTable(
        "prompts",
        (
            PathEntry(str(base / "prompts"), "prompts"),
            PathEntry(str(base / "vendor"), "vendor under tools", prefix="tools"),
            PathEntry(str(base / "more"), "more", prefix="extra"),
            PathEntry(str(base / "deep"), "deep", prefix="a/b"),
            PathEntry(str(tmp_path / "common"), "../shared/../common"),
            PathEntry(str(base / "plain"), "plain"),
        ),
        {},
    )
    assert manifest.sections["data"].paths == (PathEntry(str(base / "data"), "data"),)
    assert manifest.sections["configs"].paths is None
    assert manifest.sections["proxies"].paths == ()
    assert all(os.path.isabs(entry.path) for entry in prompts.paths + manifest.dependencies)


def test_folder_and_file_give_the_same_manifest(tmp_path: Path) -> None:
    write(tmp_path / "proj", FULL_MANIFEST)
    assert read_quietly(tmp_path / "proj") == read_quietly(tmp_path / "proj" / "lllm.toml")


def test_relative_argument_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "proj", "[data]\npaths = ['d']\n")
    monkeypatch.chdir(tmp_path)
    manifest = read_quietly(Path("proj"))
    assert manifest.base_dir == str(tmp_path / "proj")
    assert manifest.sections["data"].paths[0].path == str(tmp_path / "proj" / "d")


def test_manifest_file_with_another_name(tmp_path: Path) -> None:
    file = write(tmp_path / "proj", "[package]\nname = 'alt'\n", name="other.toml")
    manifest = read_quietly(file)
    assert (manifest.name, manifest.file, manifest.base_dir) == (
        "alt",
        str(file),
        str(tmp_path / "proj"),
    )


@pytest.mark.parametrize(
    "text",
    ["", "[package]\n", "[package]\nversion = '2.0'\n", "# only a comment\n"],
    ids=["empty-file", "empty-package", "version-only", "comment-only"],
)
def test_defaults_and_folder_name(tmp_path: Path, text: str) -> None:
    manifest = read_quietly(write(tmp_path / "folder-name_1", text))
    assert manifest.name == "folder-name_1"
    assert manifest.version == ("2.0" if "version" in text else "0.0.0")
    assert manifest.description == ""
    assert manifest.dependencies == ()
    assert dict(manifest.sections) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[prompts]\n", None),
        ("[prompts]\npaths = []\n", ()),
        ("[prompts]\npaths = ['p']\n", ("p",)),
    ],
    ids=["absent", "empty-list", "one"],
)
def test_paths_absent_versus_empty(
    tmp_path: Path, text: str, expected: tuple[str, ...] | None
) -> None:
    paths = read_quietly(write(tmp_path / "pkg", text)).sections["prompts"].paths
    if expected is None:
        assert paths is None
    else:
        assert tuple(entry.raw for entry in paths) == expected


def test_empty_dependencies_table(tmp_path: Path) -> None:
    assert read_quietly(write(tmp_path / "pkg", "[dependencies]\n")).dependencies == ()
    assert (
        read_quietly(write(tmp_path / "pkg", "[dependencies]\npackages = []\n")).dependencies == ()
    )


def test_empty_table_prefix_means_no_prefix(tmp_path: Path) -> None:
    manifest = read_quietly(
        write(tmp_path / "pkg", "[data]\npaths = [{ path = 'd', prefix = '' }]\n")
    )
    assert manifest.sections["data"].paths[0].prefix == ""


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    manifest = read_quietly(
        write(tmp_path / "pkg", "\ufeff[package]\nname = 'bom'\n".encode("utf-8"))
    )
    assert manifest.name == "bom"


def test_manifest_is_immutable_and_hashable(tmp_path: Path) -> None:
    manifest = read_quietly(write(tmp_path / "proj", FULL_MANIFEST))
    with pytest.raises(AttributeError):
        manifest.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        manifest.sections["new"] = manifest.sections["data"]  # type: ignore[index]
    assert hash(manifest) == hash(read_quietly(tmp_path / "proj"))


# --- manifest_for_folder and validate_package_name ------------------------------------------


def test_manifest_for_folder(tmp_path: Path) -> None:
    folder = tmp_path / "drop_in"
    manifest = manifest_for_folder(folder)
    assert manifest == Manifest(file=None, base_dir=str(folder), name="drop_in")
    assert manifest.version == "0.0.0"
    assert manifest.dependencies == ()
    assert dict(manifest.sections) == {}


def test_manifest_for_folder_with_invalid_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="my.pkg") as info:
        manifest_for_folder(tmp_path / "my.pkg")
    assert not isinstance(info.value, ManifestError)


@pytest.mark.parametrize("name", ["a", "my_pkg", "My-Pkg-2", "_", "123"])
def test_valid_package_names(name: str) -> None:
    assert validate_package_name(name) == name


@pytest.mark.parametrize("name", ["", "a.b", "a:b", "a/b", "a b", "é", 3, None])
def test_invalid_package_names(name: object, tmp_path: Path) -> None:
    with pytest.raises(ValueError) as plain:
        validate_package_name(name)  # type: ignore[arg-type]
    assert not isinstance(plain.value, ManifestError)
    file = tmp_path / "lllm.toml"
    with pytest.raises(ManifestError) as info:
        validate_package_name(name, file=file, key="dependencies.packages[0].alias")  # type: ignore[arg-type]
    assert info.value.file == file
    assert info.value.key == "dependencies.packages[0].alias"
    assert str(info.value).startswith(f"{file}: dependencies.packages[0].alias: ")


# --- files that are missing or cannot be read -----------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "lllm.toml"
    with pytest.raises(FileNotFoundError) as info:
        read_manifest(missing)
    assert info.value.filename == str(missing)
    assert str(missing) in str(info.value)


def test_folder_without_manifest(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="lllm.toml") as info:
        read_manifest(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(info.value)


def test_non_utf8_file(tmp_path: Path) -> None:
    file = write(tmp_path / "pkg", b"[package]\nname = 'caf\xe9'\n")
    with pytest.raises(ManifestError, match="UTF-8") as info:
        read_manifest(file)
    assert isinstance(info.value, ValueError)
    assert info.value.file == file
    assert str(file) in str(info.value)
    assert (info.value.line, info.value.column) == (2, 12)


@pytest.mark.skipif(
    sys.platform == "win32" or (hasattr(os, "geteuid") and os.geteuid() == 0),
    reason="file permissions do not stop this user",
)
def test_unreadable_file(tmp_path: Path) -> None:
    file = write(tmp_path / "pkg", "[package]\n")
    file.chmod(0)
    try:
        with pytest.raises(ManifestError, match="cannot read") as info:
            read_manifest(file)
    finally:
        file.chmod(0o644)
    assert str(file) in str(info.value)


def test_manifest_path_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "lllm.toml").mkdir(parents=True)
    with pytest.raises(ManifestError, match="cannot read") as info:
        read_manifest(tmp_path / "pkg")
    assert str(tmp_path / "pkg" / "lllm.toml") in str(info.value)


# --- syntax errors ---------------------------------------------------------------------------

SYNTAX_ERRORS = [
    # (manifest text, key named in the error or None, line, column)
    ('[package]\nname = "unclosed\n', "package.name", 2, 17),
    ('[package]\nname = "a"\nname = "b"\n', "package.name", 3, 11),
    ("[package]\nversion = nope\n", "package.version", 2, 11),
    ("[prompts\npaths = []\n", "prompts", 1, 9),
    ("[package]\n[package]\n", "package", 2, 9),
    ('[prompts]\npaths = ["a", "b"\n', "prompts.paths", 3, 1),
    ("[data]\npaths = [] []\n", "data.paths", 2, 12),
    ('description = """never closed\n', "description", 2, 1),
    ("[dependencies]\npackages = [{ path = 'x' alias = 'y' }]\n", "dependencies.packages", 2, 26),
    ("[package]\nversion = 1.2.3\n", "package.version", 2, 14),
    ("[package]\n= 'no key'\n", None, 2, 1),
    ('[data]\npaths = ["\\q"]\n', "data.paths", 2, 13),
    ('[package]\nname = "p"\n\n[prompts]\npaths = [\n  "a",\n  "b"\n', "prompts.paths", 8, 1),
]


@pytest.mark.parametrize(
    ("text", "key", "line", "column"),
    SYNTAX_ERRORS,
    ids=[
        "unclosed-string",
        "duplicate-key",
        "bad-value",
        "unclosed-table-header",
        "duplicate-table",
        "unclosed-array",
        "two-values",
        "unclosed-multiline-string",
        "missing-comma-inline-table",
        "bad-number",
        "missing-key",
        "bad-escape",
        "unclosed-multiline-array",
    ],
)
def test_syntax_errors(tmp_path: Path, text: str, key: str | None, line: int, column: int) -> None:
    file = write(tmp_path / "pkg", text)
    with pytest.raises(ManifestError) as info:
        read_manifest(file)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.file == file
    assert (err.key, err.line, err.column) == (key, line, column)
    message = str(err)
    assert message.startswith(f"{file}: ")
    assert "invalid TOML" in message
    assert message.endswith(f" (line {line}, column {column})")
    assert "(at " not in message
    if key is not None:
        assert f": {key}: " in message
    assert err.__cause__ is not None


# --- structural errors -----------------------------------------------------------------------

BAD_MANIFESTS = [
    # (id, manifest text, key named in the error, a fragment of the message)
    ("package-not-table", 'package = "x"\n', "package", "must be a table"),
    ("name-not-string", "[package]\nname = 3\n", "package.name", "must be a string"),
    ("name-with-dot", "[package]\nname = 'my.pkg'\n", "package.name", "invalid package name"),
    ("name-with-space", "[package]\nname = 'my pkg'\n", "package.name", "invalid package name"),
    ("name-empty", "[package]\nname = ''\n", "package.name", "invalid package name"),
    ("version-not-string", "[package]\nversion = 1.2\n", "package.version", "must be a string"),
    (
        "description-not-string",
        "[package]\ndescription = ['a']\n",
        "package.description",
        "must be a string",
    ),
    ("dependencies-not-table", "dependencies = ['../x']\n", "dependencies", "must be a table"),
    (
        "packages-not-list",
        "[dependencies]\npackages = '../x'\n",
        "dependencies.packages",
        "must be a list",
    ),
    (
        "dep-entry-int",
        "[dependencies]\npackages = ['../a', 7]\n",
        "dependencies.packages[1]",
        "string or a table",
    ),
    (
        "dep-table-without-path",
        "[dependencies]\npackages = ['../a', '../b', { alias = 'b' }]\n",
        "dependencies.packages[2].path",
        "missing",
    ),
    (
        "dep-path-not-string",
        "[dependencies]\npackages = [{ path = 1 }]\n",
        "dependencies.packages[0].path",
        "must be a string",
    ),
    (
        "dep-path-empty",
        "[dependencies]\npackages = [{ path = ' ' }]\n",
        "dependencies.packages[0].path",
        "empty path",
    ),
    (
        "dep-string-empty",
        "[dependencies]\npackages = ['']\n",
        "dependencies.packages[0]",
        "empty path",
    ),
    (
        "dep-alias-invalid",
        "[dependencies]\npackages = ['../x as a.b']\n",
        "dependencies.packages[0].alias",
        "invalid package name",
    ),
    (
        "dep-alias-not-string",
        "[dependencies]\npackages = [{ path = '../x', alias = 2 }]\n",
        "dependencies.packages[0].alias",
        "must be a string",
    ),
    (
        "dep-as-not-string",
        "[dependencies]\npackages = [{ path = '../x', as = true }]\n",
        "dependencies.packages[0].as",
        "must be a string",
    ),
    (
        "dep-alias-and-as",
        "[dependencies]\npackages = [{ path = '../x', alias = 'a', as = 'b' }]\n",
        "dependencies.packages[0]",
        "not both",
    ),
    (
        "dep-as-nothing",
        "[dependencies]\npackages = ['../x as']\n",
        "dependencies.packages[0]",
        "nothing after 'as'",
    ),
    ("paths-string", "[prompts]\npaths = 'prompts'\n", "prompts.paths", "must be a list"),
    ("paths-table", "[prompts]\npaths = { path = 'p' }\n", "prompts.paths", "must be a list"),
    ("path-entry-list", "[prompts]\npaths = [['p']]\n", "prompts.paths[0]", "string or a table"),
    (
        "path-table-without-path",
        "[prompts]\npaths = ['a', { prefix = 'p' }]\n",
        "prompts.paths[1].path",
        "missing",
    ),
    (
        "prefix-not-string",
        "[prompts]\npaths = ['a', { path = 'b', prefix = 3 }]\n",
        "prompts.paths[1].prefix",
        "must be a string",
    ),
    (
        "under-not-string",
        "[prompts]\npaths = [{ path = 'b', under = [] }]\n",
        "prompts.paths[0].under",
        "must be a string",
    ),
    (
        "prefix-and-under",
        "[prompts]\npaths = [{ path = 'b', prefix = 'x', under = 'y' }]\n",
        "prompts.paths[0]",
        "not both",
    ),
    (
        "prefix-leading-slash",
        "[prompts]\npaths = ['a', { path = 'b', prefix = '/x' }]\n",
        "prompts.paths[1].prefix",
        "invalid prefix",
    ),
    (
        "prefix-trailing-slash",
        "[prompts]\npaths = ['vendor under tools/']\n",
        "prompts.paths[0].prefix",
        "invalid prefix",
    ),
    (
        "prefix-empty-segment",
        "[data]\npaths = ['a under x//y']\n",
        "data.paths[0].prefix",
        "invalid prefix",
    ),
    (
        "prefix-colon",
        "[data]\npaths = [{ path = 'a', under = 'x:y' }]\n",
        "data.paths[0].under",
        "invalid prefix",
    ),
    (
        "as-invalid-name",
        "[dependencies]\npackages = [{ path = '../x', as = 'a:b' }]\n",
        "dependencies.packages[0].as",
        "invalid package name",
    ),
    (
        "under-nothing",
        "[data]\npaths = ['vendor under']\n",
        "data.paths[0]",
        "nothing after 'under'",
    ),
    ("section-name-upper", "[My-Section]\npaths = []\n", "My-Section", "lower-case identifier"),
    ("section-name-digit", "[9lives]\n", "9lives", "lower-case identifier"),
    ("section-name-capital", "[Prompts]\npaths = ['p']\n", "Prompts", "lower-case identifier"),
]


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [case[1:] for case in BAD_MANIFESTS],
    ids=[case[0] for case in BAD_MANIFESTS],
)
def test_bad_manifests(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    file = write(tmp_path / "pkg", text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ManifestError) as info:
            read_manifest(file)
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.file, err.key) == (file, key)
    assert (err.line, err.column) == (None, None)
    assert fragment in err.message
    assert str(err) == f"{file}: {key}: {err.message}"


def test_invalid_folder_name_without_explicit_name(tmp_path: Path) -> None:
    file = write(tmp_path / "my.project", "[data]\npaths = ['d']\n")
    with pytest.raises(ManifestError) as info:
        read_manifest(file)
    assert info.value.key == "package.name"
    assert "my.project" in str(info.value)
    assert "[package]" in str(info.value)
    assert str(file) in str(info.value)
    # An explicit name makes the same folder fine.
    write(tmp_path / "my.project", "[package]\nname = 'my_project'\n")
    assert read_quietly(tmp_path / "my.project").name == "my_project"


def test_manifest_error_format_and_pickling(tmp_path: Path) -> None:
    file = tmp_path / "lllm.toml"
    assert str(ManifestError(file, "bad")) == f"{file}: bad"
    assert str(ManifestError(file, "bad", "a.b")) == f"{file}: a.b: bad"
    err = ManifestError(file, "bad", "a.b", 3, 4)
    assert str(err) == f"{file}: a.b: bad (line 3, column 4)"
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.file, copy.key, copy.line, copy.column, str(copy)) == (file, "a.b", 3, 4, str(err))


# --- warnings --------------------------------------------------------------------------------

WARNING_CASES = [
    # (id, manifest text, expected warning key, check on the loaded manifest)
    (
        "section-typo",
        "[prompts]\nfolders = ['p']\n",
        "prompts.folders",
        lambda m: (
            m.sections["prompts"].paths is None
            and dict(m.sections["prompts"].options) == {"folders": ["p"]}
        ),
    ),
    (
        "section-extra-key-next-to-paths",
        "[data]\npaths = ['d']\nrecursive = false\n",
        "data.recursive",
        lambda m: (
            len(m.sections["data"].paths) == 1 and m.sections["data"].options["recursive"] is False
        ),
    ),
    (
        "package-unknown-key",
        "[package]\nname = 'p'\nauthors = ['me']\n",
        "package.authors",
        lambda m: m.name == "p",
    ),
    (
        "top-level-non-table",
        "name = 'x'\n[package]\nversion = '1.0'\n",
        "name",
        lambda m: m.name == "pkg" and m.version == "1.0" and "name" not in m.sections,
    ),
    (
        "top-level-array-of-tables",
        "[[prompts]]\npaths = ['p']\n",
        "prompts",
        lambda m: dict(m.sections) == {},
    ),
    (
        "dependencies-unknown-key",
        "[dependencies]\npackages = ['../a']\noptional = ['../b']\n",
        "dependencies.optional",
        lambda m: [entry.raw for entry in m.dependencies] == ["../a"],
    ),
    (
        "dependency-entry-unknown-key",
        "[dependencies]\npackages = [{ path = '../a', version = '1' }]\n",
        "dependencies.packages[0].version",
        lambda m: os.path.basename(m.dependencies[0].path) == "a",
    ),
    (
        "path-entry-unknown-key",
        "[data]\npaths = [{ path = 'd', prefixe = 'x' }]\n",
        "data.paths[0].prefixe",
        lambda m: m.sections["data"].paths[0].prefix == "",
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "check"),
    [case[1:] for case in WARNING_CASES],
    ids=[case[0] for case in WARNING_CASES],
)
def test_warnings(tmp_path: Path, text: str, key: str, check) -> None:
    file = write(tmp_path / "pkg", text)
    match = f"^{re_escape(str(file))}: {re_escape(key)}: "
    with pytest.warns(RuntimeWarning, match=match) as record:
        manifest = read_manifest(file)
    assert len(record) == 1
    assert record[0].filename == __file__
    assert check(manifest)


def test_top_level_package_key_hint(tmp_path: Path) -> None:
    with pytest.warns(RuntimeWarning, match=r"under \[package\]"):
        read_manifest(write(tmp_path / "pkg", "version = '1.0'\n"))


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_read_error_becomes_manifest_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = write(tmp_path / "pkg", "[package]\n")

    real_open = os.open

    def refuse(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fspath(path) == str(file):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(ManifestError, match="cannot read the file: Permission denied") as info:
        read_manifest(file)
    assert info.value.file == file
    assert str(info.value).startswith(f"{file}: ")
    assert isinstance(info.value.__cause__, PermissionError)
