"""lllm.testing: what a plugin author uses to test a section plugin."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import lllm
from lllm.plugin import SectionSpec, file_nodes, hookimpl
from lllm.testing import (
    assert_keys,
    installed_distribution,
    isolated_default_runtime,
    load_with_plugin,
    write_package,
)


class NotesPlugin:
    """A section plugin written as a class, registered in code."""

    @hookimpl
    def lllm_sections(self):
        return [SectionSpec(name="notes", resource_type="note", discover=self.discover)]

    def discover(self, folder):
        return file_nodes(folder)


def test_load_with_plugin_registers_for_one_runtime_only(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg", {"notes/a.txt": "A", "prompts/p.md": "P"})
    runtime = load_with_plugin(NotesPlugin(), package)
    assert_keys(runtime, ["pkg.notes:a.txt"], "note")
    assert runtime.get("pkg:a.txt", "note") == b"A"
    other = lllm.Runtime()
    lllm.load_package(package, runtime=other)
    assert other.keys("note") == []


def test_load_with_plugin_is_strict(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg", {"prompts/broken.py": "raise ValueError('no')\n"})
    with pytest.raises(lllm.PackageProblemsError, match="broken.py"):
        load_with_plugin(NotesPlugin(), package)


def test_assert_keys_reports_differences() -> None:
    runtime = lllm.Runtime()
    runtime.register_config("a", {}, namespace="p.configs")
    assert_keys(runtime, ["p.configs:a"])
    with pytest.raises(AssertionError, match=r"missing: \['p.configs:b'\]"):
        assert_keys(runtime, ["p.configs:a", "p.configs:b"])


def test_write_package_manifest_options(tmp_path: Path) -> None:
    root = write_package(
        tmp_path / "x", {"data/d.csv": "a\n"}, name="named", manifest='[data]\npaths = ["data"]\n'
    )
    text = (root / "lllm.toml").read_text()
    assert 'name = "named"' in text and "[data]" in text
    runtime = lllm.Runtime()
    lllm.load_package(root, runtime=runtime)
    assert runtime.keys() == ["named.data:d.csv"]


def test_installed_distribution_exercises_the_real_entry_point_path(tmp_path: Path) -> None:
    plugin_source = """
        from lllm.plugin import SectionSpec, hookimpl, file_nodes
        @hookimpl
        def lllm_sections():
            return [SectionSpec(name="notes", resource_type="note", discover=discover)]
        def discover(folder):
            return file_nodes(folder)
    """
    package = write_package(tmp_path / "pkg", {"notes/todo.txt": "milk"})
    with installed_distribution(
        tmp_path / "site",
        "acme-notes",
        version="2.1",
        entry_points={"lllm.plugins": {"notes": "acme_notes_plugin"}},
        modules={"acme_notes_plugin.py": plugin_source},
    ):
        from lllm._plugin_manager import list_plugins

        record = next(r for r in list_plugins(lllm.Runtime()) if r.name == "notes")
        assert (record.distribution, record.version, record.status) == (
            "acme-notes",
            "2.1",
            "loaded",
        )
        runtime = lllm.Runtime()
        lllm.load_package(package, runtime=runtime)
        assert runtime.get("pkg.notes:todo.txt") == b"milk"
    assert "acme_notes_plugin" not in sys.modules
    after = lllm.Runtime()
    lllm.load_package(package, runtime=after)
    assert after.keys("note") == []


def test_isolated_default_runtime_puts_the_old_one_back() -> None:
    before = lllm.get_default_runtime()
    with isolated_default_runtime() as runtime:
        assert lllm.get_default_runtime() is runtime and runtime is not before
    assert lllm.get_default_runtime() is before
