"""``lllm._scopes``: where shared packages live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lllm import _scopes as scopes
from lllm._scopes import (
    check_scope,
    find_project_root,
    lllm_home,
    packages_in,
    scope_dir,
)


def _has_manifest_above(folder: Path) -> bool:
    return any((parent / "lllm.toml").is_file() for parent in (folder, *folder.parents))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A folder with no ``lllm.toml`` at or above it."""
    folder = tmp_path / "tree"
    folder.mkdir()
    if _has_manifest_above(folder):
        pytest.fail(f"an lllm.toml above {folder} would spoil the upward search")
    return folder


def _manifest(folder: Path, text: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lllm.toml").write_text(text, encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------ lllm_home


def test_lllm_home_honours_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LLLM_HOME", str(tmp_path / "custom"))
    assert lllm_home() == tmp_path / "custom"
    assert isinstance(lllm_home(), Path)


def test_lllm_home_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LLLM_HOME", "~/elsewhere")
    assert lllm_home() == tmp_path / "elsewhere"


@pytest.mark.parametrize("value", [None, ""])
def test_lllm_home_defaults_to_dot_lllm(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str | None
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    if value is None:
        monkeypatch.delenv("LLLM_HOME", raising=False)
    else:
        monkeypatch.setenv("LLLM_HOME", value)
    assert lllm_home() == Path.home() / ".lllm"
    assert lllm_home() == tmp_path / ".lllm"


# ---------------------------------------------------------------------------- check_scope


@pytest.mark.parametrize("scope", ["user", "project"])
def test_check_scope_valid(scope: str) -> None:
    assert check_scope(scope) == scope
    assert check_scope(scope, allow_none=True) == scope


@pytest.mark.parametrize("scope", ["global", "User", "", "system", 3])
def test_check_scope_invalid(scope: object) -> None:
    with pytest.raises(ValueError) as info:
        check_scope(scope)  # type: ignore[arg-type]
    message = str(info.value)
    assert repr(scope) in message
    assert "'user'" in message and "'project'" in message


def test_check_scope_none_only_when_allowed() -> None:
    assert check_scope(None, allow_none=True) is None
    with pytest.raises(ValueError) as info:
        check_scope(None)
    assert "None" in str(info.value)


def test_check_scope_invalid_mentions_none_when_allowed() -> None:
    with pytest.raises(ValueError, match="None"):
        check_scope("nope", allow_none=True)


def test_scopes_constant() -> None:
    assert set(scopes.SCOPES) == {"user", "project"}


# ------------------------------------------------------------------------------ scope_dir


def test_scope_dir_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LLLM_HOME", str(tmp_path / "home"))
    assert scope_dir("user") == tmp_path / "home" / "packages"
    # the project root is irrelevant for the user scope
    assert scope_dir("user", tmp_path / "some_project") == tmp_path / "home" / "packages"


def test_scope_dir_project_explicit_root(tmp_path: Path) -> None:
    assert scope_dir("project", tmp_path / "proj") == tmp_path / "proj" / "lllm_packages"
    assert scope_dir("project", str(tmp_path / "proj")) == tmp_path / "proj" / "lllm_packages"


def test_scope_dir_project_found_upward(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _manifest(tree / "proj")
    (root / "src" / "deep").mkdir(parents=True)
    monkeypatch.chdir(root / "src" / "deep")
    assert scope_dir("project") == root / "lllm_packages"


def test_scope_dir_project_without_a_project_uses_cwd(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree)
    assert scope_dir("project") == tree / "lllm_packages"


@pytest.mark.parametrize("scope", ["global", None])
def test_scope_dir_invalid_scope(scope: object) -> None:
    with pytest.raises(ValueError):
        scope_dir(scope)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- find_project_root


def test_find_project_root_at_start(tree: Path) -> None:
    root = _manifest(tree / "proj")
    assert find_project_root(root) == root
    assert find_project_root(str(root)) == root


def test_find_project_root_upward(tree: Path) -> None:
    root = _manifest(tree / "proj")
    deep = root / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == root


def test_find_project_root_nearest_wins(tree: Path) -> None:
    outer = _manifest(tree / "outer")
    inner = _manifest(outer / "packages" / "inner")
    (inner / "sub").mkdir()
    assert find_project_root(inner / "sub") == inner
    assert find_project_root(outer / "packages") == outer


def test_find_project_root_none(tree: Path) -> None:
    (tree / "a" / "b").mkdir(parents=True)
    assert find_project_root(tree / "a" / "b") is None


def test_find_project_root_ignores_a_folder_named_like_the_manifest(tree: Path) -> None:
    (tree / "proj" / "lllm.toml").mkdir(parents=True)  # a directory, not a file
    assert find_project_root(tree / "proj") is None


def test_find_project_root_defaults_to_cwd(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _manifest(tree / "proj")
    (root / "sub").mkdir()
    monkeypatch.chdir(root / "sub")
    assert find_project_root() == root


def test_find_project_root_relative_start(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _manifest(tree / "proj")
    (root / "sub").mkdir()
    monkeypatch.chdir(root)
    found = find_project_root("sub")
    assert found == root
    assert found.is_absolute()


# ---------------------------------------------------------------------------- packages_in


def test_packages_in(tree: Path) -> None:
    folder = tree / "packages"
    _manifest(folder / "zeta")
    _manifest(folder / "alpha")
    _manifest(folder / ".hidden")
    _manifest(folder / "_private")
    (folder / "no_manifest" / "prompts").mkdir(parents=True)
    (folder / "file.txt").write_text("not a package", encoding="utf-8")
    (folder / "lllm.toml").write_text(
        "", encoding="utf-8"
    )  # a manifest directly in the folder is no package in it
    (folder / "dir_manifest" / "lllm.toml").mkdir(parents=True)
    assert packages_in(folder) == [folder / "alpha", folder / "zeta"]


def test_packages_in_missing_or_not_a_folder(tree: Path) -> None:
    assert packages_in(tree / "missing") == []
    file = tree / "file.txt"
    file.write_text("x", encoding="utf-8")
    assert packages_in(file) == []


def test_packages_in_empty(tree: Path) -> None:
    assert packages_in(tree) == []


def test_constants() -> None:
    assert scopes.PROJECT_PACKAGES_FOLDER == "lllm_packages"
    assert scopes.PACKAGES_ENTRY_POINT_GROUP == "lllm.packages"


def test_lllm_home_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LLLM_HOME", str(tmp_path / "one"))
    first = lllm_home()
    monkeypatch.setenv("LLLM_HOME", str(tmp_path / "two"))
    assert first != lllm_home() == tmp_path / "two"
    assert os.environ["LLLM_HOME"] == str(tmp_path / "two")
