"""lllm's pytest plugin, used the way a project would: a test file run by pytest in a subprocess."""

from __future__ import annotations

import pytest

USER_TESTS = """
import lllm
from lllm import load_package

def test_runtime_is_fresh(lllm_runtime):
    assert lllm_runtime.keys() == []
    assert lllm_runtime is not lllm.get_default_runtime()

def test_package_factory_and_loading(lllm_package, lllm_runtime):
    path = lllm_package({"prompts/hello.md": "Hi {name}", "configs/c.yaml": "a: 1"}, name="demo")
    assert (path / "lllm.toml").read_text().startswith('[package]\\nname = "demo"')
    load_package(path, runtime=lllm_runtime)
    assert lllm_runtime.keys() == ["demo.configs:c", "demo.prompts:hello"]
    assert lllm_runtime.get_prompt("demo:hello")(name="Ada") == "Hi Ada"

def test_two_packages_get_two_folders(lllm_package):
    assert lllm_package(name="a") != lllm_package(name="a")

def test_home_is_isolated(lllm_home):
    import os
    assert os.environ["LLLM_HOME"] == str(lllm_home)
    assert list((lllm_home / "packages").iterdir()) == []
    assert lllm.list_packages("user") == []

def test_a_dirty_test_fills_and_replaces_the_default(lllm_package):
    default = lllm.get_default_runtime()
    default.register_config("leak", {"x": 1}, namespace="dirty.configs")
    lllm.set_default_runtime(lllm.Runtime())

def test_the_next_test_sees_the_original_default():
    default = lllm.get_default_runtime()
    assert default.name == "default"
    assert not default.has("dirty.configs:leak")
"""


def test_fixtures_from_a_pytester_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=6)


def test_fixtures_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    text = result.stdout.str()
    for name in ("lllm_runtime", "lllm_package", "lllm_home"):
        assert name in text
    assert "isolated" in text


def test_pytest_start_up_neither_imports_lllm_nor_touches_the_users_cache(
    pytester: pytest.Pytester, tmp_path, monkeypatch
) -> None:
    # A project with an lllm.toml: were lllm imported when pytest loads its plugins, its
    # automatic loading would run then, with the user's own index cache.
    pytester.makefile(".toml", lllm='[package]\nname = "proj"\n')
    pytester.mkdir("prompts")
    pytester.path.joinpath("prompts", "a.md").write_text("Hi", encoding="utf-8")
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_lllm_is_not_imported_by_the_plugin():
            assert "lllm" not in sys.modules
        """,
    )
    pytester.makepyfile(
        test_uses_lllm="""
        import os
        CACHE_AT_IMPORT = os.environ.get("LLLM_CACHE_DIR")
        import lllm

        def test_the_private_cache_was_in_place_at_import():
            assert CACHE_AT_IMPORT and "lllm-index-cache-" in CACHE_AT_IMPORT
            assert lllm.get_default_runtime().keys() == ["proj.prompts:a"]
        """,
    )
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("LLLM_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "test_plain.py")
    result.assert_outcomes(passed=1)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "test_uses_lllm.py")
    result.assert_outcomes(passed=1)
    assert not (home / ".cache" / "lllm").exists()  # the user's cache was never written
