"""Plugins (spec §4): entry points, built-in and third-party sections, broken plugins,
environment switches, conflicts, in-code plugins and lazy loading.

Entry points are cached per process, so every in-process test goes through the ``plugins``
fixture, which resets lllm's plugin state before and after the test; tests about a fresh
process (what ``import lllm`` imports, auto-init) run a child interpreter.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
import threading
import types
import warnings
from pathlib import Path
from typing import Any

import pytest
from pkgtree import write_tree
from plugin_fixtures import (
    ALPHA_BUILTIN_KEYS,
    ALPHA_FILES,
    DATASETS_PLUGIN,
    LLLM_PLUGIN_SWITCHES,
    clean_env,
    make_distribution,
    run_python,
    section_plugin,
    top_level_modules,
    write_package,
)

import lllm
from lllm import _plugin_manager as plugin_manager
from lllm._discovery import SectionFolder, SectionSpec
from lllm._loader import load_package
from lllm._plugin_manager import (
    PluginConflictError,
    PluginError,
    PluginRecord,
    list_plugins,
    register_plugin,
    reset_plugins,
    unregister_plugin,
)
from lllm.core.runtime import Runtime, get_default_runtime
from lllm.hookspecs import hookimpl

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
FILE_LOADERS = {"file": "lllm.sections.loaders:file_value"}
BUILTIN_SPECS = {
    "prompts": SectionSpec(
        name="prompts",
        resource_type="prompt",
        cacheable=True,
        loaders={"text": "lllm.sections.loaders:text_prompt"},
    ),
    "proxies": SectionSpec(name="proxies", resource_type="proxy", cacheable=True),
    "tactics": SectionSpec(name="tactics", resource_type="tactic", cacheable=True),
    "configs": SectionSpec(
        name="configs",
        resource_type="config",
        cacheable=True,
        loaders={"config": "lllm.sections.loaders:config_value"},
    ),
    "assets": SectionSpec(
        name="assets", resource_type="asset", cacheable=True, loaders=FILE_LOADERS
    ),
}
BUILTIN_ORDER = ["prompts", "proxies", "tactics", "configs", "assets"]


class PluginSandbox:
    """Installs test distributions on ``sys.path`` and sets plugin switches, resetting lllm's
    plugin state after each change so the next load reads the new state."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp_path = tmp_path
        self.site = tmp_path / "site"
        self.monkeypatch = monkeypatch
        self.modules: set[str] = set()
        self._on_path = False

    def install(
        self, name: str, version: str, entry_points: dict[str, str], files: dict[str, str]
    ) -> Path:
        """Install a test distribution (see ``make_distribution``) and make it visible."""
        info = make_distribution(self.site, name, version, entry_points, files)
        self.modules |= top_level_modules(files)
        if not self._on_path:
            self.monkeypatch.syspath_prepend(str(self.site))
            self._on_path = True
        importlib.invalidate_caches()
        reset_plugins()
        return info

    def setenv(self, name: str, value: str) -> None:
        self.monkeypatch.setenv(name, value)
        reset_plugins()

    def package(
        self, name: str, files: dict[str, str | bytes] | None = None, manifest: str = ""
    ) -> Path:
        return write_package(
            self.tmp_path / "packages" / name,
            name,
            ALPHA_FILES if files is None else files,
            manifest=manifest,
        )

    def cleanup(self) -> None:
        for module in list(sys.modules):
            if module.partition(".")[0] in self.modules:
                del sys.modules[module]


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name in LLLM_PLUGIN_SWITCHES:
        monkeypatch.delenv(name, raising=False)
    hide_other_plugin_distributions(monkeypatch, tmp_path)
    reset_plugins()
    sandbox = PluginSandbox(tmp_path, monkeypatch)
    try:
        yield sandbox
    finally:
        reset_plugins()
        sandbox.cleanup()


def hide_other_plugin_distributions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep only lllm's own entry points and the test's distributions visible.

    Other plugin distributions installed beside lllm (such as llm-function) would change
    the exact plugin lists these tests compare; the real importlib.metadata path is kept.
    """
    real = importlib.metadata.entry_points

    def filtered(**params):
        found = real(**params)
        if params.get("group") != "lllm.plugins":
            return found
        kept = []
        for ep in found:
            dist = getattr(ep, "dist", None)
            name = (dist.metadata["Name"] if dist is not None else "").lower()
            location = str(getattr(dist, "_path", ""))
            if name == "lllm" or location.startswith(str(tmp_path)):
                kept.append(ep)
        return importlib.metadata.EntryPoints(kept)

    monkeypatch.setattr(importlib.metadata, "entry_points", filtered)


def record_named(name: str, runtime: Runtime | None = None) -> PluginRecord:
    matches = [r for r in list_plugins(runtime) if r.name == name]
    assert len(matches) == 1, [r.name for r in list_plugins(runtime)]
    return matches[0]


def runtime_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def load_recording(path: Path, runtime: Runtime) -> list[str]:
    """Load ``path`` into ``runtime`` and return the messages of every RuntimeWarning raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_package(path, runtime=runtime)
    return runtime_warnings(caught)


def section_keys(runtime: Runtime, *types_: str) -> list[str]:
    return sorted(k for t in types_ for k in runtime.keys(t))


BUILTIN_TYPES = ("prompt", "proxy", "tactic", "config", "asset")


# ================================================================== 1. built-in sections


def pyproject_plugins() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(data["project"]["entry-points"]["lllm.plugins"])


def test_builtin_plugins_constant_matches_pyproject_entry_points() -> None:
    assert dict(plugin_manager.BUILTIN_PLUGINS) == pyproject_plugins()
    assert [name for name, _ in plugin_manager.BUILTIN_PLUGINS] == BUILTIN_ORDER


def test_builtin_sections_are_entry_points_of_the_lllm_distribution(plugins: PluginSandbox) -> None:
    found = importlib.metadata.entry_points(group="lllm.plugins")
    from_lllm = {ep.name: ep.value for ep in found if ep.dist.metadata["Name"] == "lllm"}
    assert from_lllm == pyproject_plugins()
    assert set(from_lllm) == set(BUILTIN_ORDER)
    # lllm's own cached reader sees the same entry points, each from distribution lllm.
    cached = {
        ep.name: (ep.value, ep.dist.metadata["Name"])
        for ep in plugin_manager.entry_points("lllm.plugins")
    }
    assert {name: cached[name] for name in BUILTIN_ORDER} == {
        name: (value, "lllm") for name, value in from_lllm.items()
    }


def test_list_plugins_shows_builtins_loaded_with_their_sections(plugins: PluginSandbox) -> None:
    records = list_plugins()
    assert [r.name for r in records[:5]] == BUILTIN_ORDER
    for record in records[:5]:
        assert record.builtin is True
        assert record.status == "loaded", record.error
        assert record.error is None
        assert record.distribution == "lllm"
        assert record.version == lllm.__version__
        assert record.source == f"lllm.sections.{record.name}"
        assert record.plugin is importlib.import_module(f"lllm.sections.{record.name}")
        assert record.sections == (BUILTIN_SPECS[record.name],)
        (spec,) = record.sections
        assert spec.folder_name == record.name
        described = record.as_dict()
        assert described["sections"] == [
            {
                "name": spec.name,
                "resource_type": spec.resource_type,
                "default_folder": record.name,
                "description": "",
            }
        ]
        assert described["builtin"] is True and described["distribution"] == "lllm"
    assert [spec.name for spec in plugin_manager.iter_section_specs()][:5] == BUILTIN_ORDER


def test_builtin_sections_load_a_package(plugins: PluginSandbox) -> None:
    rt = Runtime()
    assert load_recording(plugins.package("alpha"), rt) == []
    assert section_keys(rt, *BUILTIN_TYPES) == ALPHA_BUILTIN_KEYS
    node = rt.get_node("alpha.tactics:solo")
    assert node.metadata["plugin"] == "tactics" and node.metadata["section"] == "tactics"
    # Without a datasets plugin the datasets/ folder (and its files) is nobody's business.
    assert not any(":x" in k or "datasets" in k for k in rt.keys())


def test_builtins_come_from_the_entry_points_not_a_fixed_list(
    plugins: PluginSandbox, monkeypatch
) -> None:
    """Removing lllm's ``assets`` entry point removes the assets section: built-ins take the
    same path a third-party plugin takes."""
    real = importlib.metadata.entry_points

    def without_assets(**params: Any):
        found = real(**params)
        if params.get("group") != "lllm.plugins":
            return found
        return [ep for ep in found if ep.name != "assets"]

    monkeypatch.setattr(importlib.metadata, "entry_points", without_assets)
    reset_plugins()
    assert [r.name for r in list_plugins()] == ["prompts", "proxies", "tactics", "configs"]
    rt = Runtime()
    load_package(plugins.package("alpha"), runtime=rt)
    assert rt.keys("asset") == []
    assert rt.keys("config") == ["alpha.configs:base"]


def test_builtins_fall_back_to_the_fixed_list_without_installed_metadata(
    plugins: PluginSandbox, monkeypatch
) -> None:
    real = importlib.metadata.entry_points

    def no_lllm_metadata(**params: Any):
        found = real(**params)
        if params.get("group") != "lllm.plugins":
            return found
        return [ep for ep in found if ep.dist.metadata["Name"] != "lllm"]

    monkeypatch.setattr(importlib.metadata, "entry_points", no_lllm_metadata)
    reset_plugins()
    records = list_plugins()
    assert [(r.name, r.source, r.distribution, r.builtin, r.status) for r in records] == [
        (name, module, "lllm", True, "loaded") for name, module in plugin_manager.BUILTIN_PLUGINS
    ]
    rt = Runtime()
    load_package(plugins.package("alpha"), runtime=rt)
    assert section_keys(rt, *BUILTIN_TYPES) == ALPHA_BUILTIN_KEYS


# ============================================================ 2. a third-party section


def install_datasets(
    plugins: PluginSandbox, name: str = "lllm-datasets", version: str = "1.2.3"
) -> None:
    plugins.install(
        name,
        version,
        {"datasets": "lllm_datasets_plugin"},
        {"lllm_datasets_plugin.py": DATASETS_PLUGIN},
    )


def test_third_party_distribution_adds_a_section(plugins: PluginSandbox) -> None:
    install_datasets(plugins)
    alpha = plugins.package("alpha")
    beta = plugins.package(
        "beta",
        {"more/z.csv": "k,v\nq,1\n", "datasets/ignored.csv": "never\n", "prompts/p.md": "P"},
        manifest='[datasets]\npaths = ["more"]\n',
    )
    rt = Runtime()
    assert load_recording(alpha, rt) == []
    assert load_recording(beta, rt) == []

    assert rt.keys("dataset") == ["alpha.datasets:sub/y", "alpha.datasets:x", "beta.datasets:z"]
    # Built-ins still find everything, and nothing else was claimed by them.
    assert section_keys(rt, *BUILTIN_TYPES) == sorted(ALPHA_BUILTIN_KEYS + ["beta.prompts:p"])

    plugin_module = sys.modules["lllm_datasets_plugin"]
    assert plugin_module.READS == []  # discovery read no file contents
    node = rt.get_node("alpha.datasets:x")
    assert node.resource_type == "dataset" and not node.is_loaded
    assert node.metadata["plugin"] == "datasets"
    assert node.metadata["section"] == "datasets"
    assert node.metadata["package"] == "alpha"
    assert Path(node.metadata["file_path"]) == alpha / "datasets" / "x.csv"

    # pkg:path with a type goes through the section registry: dataset -> datasets.
    assert rt.sections.section_for("dataset") == "datasets"
    assert rt.sections.type_for("datasets") == "dataset"
    assert rt.get("alpha:x", "dataset") == [["a", "b"], ["1", "2"]]
    assert rt.get("beta:z", "dataset") == [["k", "v"], ["q", "1"]]
    assert rt.get("x", "dataset") == [["a", "b"], ["1", "2"]]  # alpha is the default package
    assert rt.has("alpha:sub/y", "dataset")
    assert plugin_module.READS == [str(alpha / "datasets" / "x.csv"), str(beta / "more" / "z.csv")]


def test_plugin_sections_are_declared_to_a_runtime_before_any_resource(
    plugins: PluginSandbox,
) -> None:
    install_datasets(plugins)
    rt = Runtime()
    load_package(plugins.package("plain", {"prompts/p.md": "P"}), runtime=rt)
    assert rt.keys("dataset") == []
    assert rt.sections.type_for("datasets") == "dataset"


def test_third_party_plugin_is_listed_with_its_distribution(plugins: PluginSandbox) -> None:
    install_datasets(plugins)
    names = [r.name for r in list_plugins()]
    assert names[:5] == BUILTIN_ORDER and names[5:] == ["datasets"]
    record = record_named("datasets")
    assert (record.distribution, record.version, record.builtin, record.status) == (
        "lllm-datasets",
        "1.2.3",
        False,
        "loaded",
    )
    assert record.source == "lllm_datasets_plugin"
    assert record.plugin is sys.modules["lllm_datasets_plugin"]
    assert record.sections == (
        SectionSpec(name="datasets", resource_type="dataset", description="CSV tables"),
    )
    assert record.as_dict()["sections"] == [
        {
            "name": "datasets",
            "resource_type": "dataset",
            "default_folder": "datasets",
            "description": "CSV tables",
        }
    ]
    assert "datasets" in [spec.name for spec in plugin_manager.iter_section_specs()]


def test_entry_point_can_name_an_object_with_a_default_folder(plugins: PluginSandbox) -> None:
    source = """
        from lllm.plugin import SectionSpec, hookimpl


        class Corpora:
            @hookimpl
            def lllm_sections(self):
                return [SectionSpec(name="corpora", resource_type="corpus", default_folder="texts", discover=self.discover)]

            def discover(self, folder):
                return [folder.eager(folder.file_key(f), f.read_text().strip(), f) for f in folder.files()]


        plugin = Corpora()
    """
    plugins.install(
        "lllm-corpora",
        "0.3",
        {"corpora": "lllm_corpora_plugin:plugin"},
        {"lllm_corpora_plugin.py": source},
    )
    rt = Runtime()
    pkg = plugins.package(
        "gamma", {"texts/a.txt": "alpha text\n", "corpora/b.txt": "not the default folder"}
    )
    load_package(pkg, runtime=rt)
    assert rt.keys("corpus") == ["gamma.corpora:a"]
    assert rt.get("gamma:a", "corpus") == "alpha text"
    record = record_named("corpora")
    assert record.source == "lllm_corpora_plugin:plugin"
    assert record.plugin is sys.modules["lllm_corpora_plugin"].plugin
    assert record.as_dict()["sections"][0]["default_folder"] == "texts"


def test_hookspecs_docstring_example_works_as_written(plugins: PluginSandbox) -> None:
    """The minimal plugin shown in ``lllm.hookspecs``' docstring must run unmodified."""
    import lllm.hookspecs

    doc = lllm.hookspecs.__doc__
    example = doc.split("is a minimal plugin::", 1)[1]
    lines = example.splitlines()[1:]
    code = "\n".join(
        line.removeprefix("    ") for line in lines if line.startswith("    ") or not line.strip()
    )
    plugins.install(
        "lllm-doc-example",
        "1.0",
        {"doc_example": "lllm_doc_example"},
        {"lllm_doc_example.py": code},
    )
    rt = Runtime()
    warned = load_recording(plugins.package("delta", {"datasets/t.csv": "h\n1\n"}), rt)
    assert warned == []
    assert record_named("doc_example").status == "loaded"
    assert rt.get("delta:t", "dataset") == "h\n1\n"


# ================================================================= 3. broken plugins

BROKEN_PLUGINS = {
    "import-error": (
        """
        raise ImportError("no module named tensorflow_lite_9000")
        """,
        ["ImportError", "tensorflow_lite_9000"],
    ),
    "sections-raises": (
        """
        from lllm.hookspecs import hookimpl

        @hookimpl
        def lllm_sections():
            raise ValueError("sections exploded")
        def discover(folder):
            return []
        """,
        ["ValueError", "sections exploded"],
    ),
    "sections-not-a-spec": (
        """
        from lllm.hookspecs import hookimpl

        @hookimpl
        def lllm_sections():
            return [{"name": "datasets", "resource_type": "dataset"}]
        def discover(folder):
            return []
        """,
        ["TypeError", "SectionSpec"],
    ),
    "wrong-argument-name": (
        """
        from lllm.plugin import SectionSpec, hookimpl

        @hookimpl
        def lllm_sections():
            return [SectionSpec(name="datasets", resource_type="dataset", discover=list)]

        @hookimpl
        def lllm_discover(directory):
            return []
        """,
        ["PluginValidationError", "directory"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN_PLUGINS))
def test_broken_plugin_is_reported_once_and_skipped(plugins: PluginSandbox, case: str) -> None:
    source, error_parts = BROKEN_PLUGINS[case]
    plugins.install(
        "lllm-shaky", "0.9.1", {"shaky": "lllm_shaky_plugin"}, {"lllm_shaky_plugin.py": source}
    )
    rt = Runtime()
    warned = load_recording(plugins.package("alpha"), rt)

    assert len(warned) == 1, warned
    (message,) = warned
    for part in ["'shaky'", "lllm-shaky", "0.9.1", *error_parts]:
        assert part in message, (part, message)

    # Skipped; the built-ins keep working.
    assert section_keys(rt, *BUILTIN_TYPES) == ALPHA_BUILTIN_KEYS
    assert rt.keys("dataset") == []
    assert rt.get("alpha:hi", "prompt").prompt == "Hello {name}\n"
    record = record_named("shaky")
    assert record.status == "broken"
    assert error_parts[0] in record.error and error_parts[1] in record.error
    assert all(r.status == "loaded" for r in list_plugins() if r.builtin)

    # Reported once: later loads (any runtime) and listings stay silent.
    rt2 = Runtime()
    assert (
        load_recording(plugins.package("beta", {"prompts/p.md": "P", "datasets/d.csv": "1"}), rt2)
        == []
    )
    assert rt2.keys("prompt") == ["beta.prompts:p"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list_plugins()
    assert runtime_warnings(caught) == []


RAISING_DISCOVER = """
    from lllm.plugin import SectionSpec, hookimpl

    CALLS = []

    @hookimpl
    def lllm_sections():
        return [SectionSpec(name="datasets", resource_type="dataset", discover=discover)]

    def discover(folder):
        CALLS.append(folder.path.name)
        if folder.path.name == "datasets":
            raise OSError("disk on fire")
        return [folder.eager(folder.file_key(f), f.read_text(), f) for f in folder.files()]
"""


def test_a_discover_that_raises_is_a_problem_of_that_folder_only(plugins: PluginSandbox) -> None:
    plugins.install(
        "lllm-fiery",
        "2.0",
        {"fiery": "lllm_fiery_plugin"},
        {"lllm_fiery_plugin.py": RAISING_DISCOVER},
    )
    pkg = plugins.package(
        "alpha",
        {**ALPHA_FILES, "d2/w.csv": "1\n"},
        manifest='[datasets]\npaths = ["datasets", "d2"]\n',
    )
    rt = Runtime()
    warned = load_recording(pkg, rt)
    assert len(warned) == 1, warned
    for part in ["'fiery'", "lllm-fiery", "2.0", "OSError", "disk on fire", "[datasets]"]:
        assert part in warned[0], (part, warned[0])
    assert str(pkg / "datasets") in warned[0]
    assert section_keys(rt, *BUILTIN_TYPES) == ALPHA_BUILTIN_KEYS
    assert rt.keys("dataset") == ["alpha.datasets:w"]  # the other folder still loads

    record = record_named("fiery")
    assert record.status == "loaded" and record.error is None
    calls = sys.modules["lllm_fiery_plugin"].CALLS
    assert calls == ["datasets", "d2"]

    rt2 = Runtime()
    beta = plugins.package("beta", {"datasets/d.csv": "1", "d3/e.csv": "2", "prompts/p.md": "P"})
    (beta / "lllm.toml").write_text(
        '[package]\nname = "beta"\n[datasets]\npaths = ["d3"]\n[prompts]\npaths = ["prompts"]\n'
    )
    assert load_recording(beta, rt2) == []
    assert rt2.keys("dataset") == ["beta.datasets:e"]
    assert rt2.keys("prompt") == ["beta.prompts:p"]


def test_a_discover_that_returns_something_else_is_a_folder_problem(
    plugins: PluginSandbox,
) -> None:
    source = """
        from lllm.plugin import SectionSpec, hookimpl

        @hookimpl
        def lllm_sections():
            return [SectionSpec(name="datasets", resource_type="dataset", discover=discover)]

        def discover(folder):
            return [str(f) for f in folder.files()]
    """
    plugins.install(
        "lllm-sloppy", "0.1", {"sloppy": "lllm_sloppy_plugin"}, {"lllm_sloppy_plugin.py": source}
    )
    rt = Runtime()
    warned = load_recording(plugins.package("alpha"), rt)
    assert len(warned) == 1, warned
    for part in ["'sloppy'", "lllm-sloppy", "0.1", "TypeError", "ResourceNode"]:
        assert part in warned[0], (part, warned[0])
    assert rt.keys("dataset") == []
    assert section_keys(rt, *BUILTIN_TYPES) == ALPHA_BUILTIN_KEYS
    assert record_named("sloppy").status == "loaded"


def test_hookimpl_for_an_unknown_hook_is_reported(plugins: PluginSandbox) -> None:
    """A hook implementation whose name matches no hook (a typo) is an invalid hook: the
    plugin would otherwise declare its section and silently never discover anything."""
    source = """
        from lllm.plugin import SectionSpec, hookimpl

        @hookimpl
        def lllm_sections():
            return [SectionSpec(name="datasets", resource_type="dataset", discover=list)]

        @hookimpl
        def lllm_discovr(folder):
            return []
    """
    plugins.install(
        "lllm-typo", "0.2", {"typo": "lllm_typo_plugin"}, {"lllm_typo_plugin.py": source}
    )
    rt = Runtime()
    warned = load_recording(plugins.package("alpha"), rt)
    assert len(warned) == 1, warned
    for part in ["'typo'", "lllm-typo", "lllm_discovr"]:
        assert part in warned[0], (part, warned[0])
    assert section_keys(rt, *BUILTIN_TYPES) == ALPHA_BUILTIN_KEYS
    assert record_named("typo").status == "broken"


# =================================================================== 4. strict mode


@pytest.mark.parametrize(
    "source, where",
    [
        (BROKEN_PLUGINS["import-error"][0], "tensorflow_lite_9000"),
        (RAISING_DISCOVER, "disk on fire"),
    ],
    ids=["import-error", "discover-raises"],
)
def test_strict_plugins_raises_plugin_error(
    plugins: PluginSandbox, source: str, where: str
) -> None:
    plugins.install(
        "lllm-shaky", "0.9.1", {"shaky": "lllm_shaky_plugin"}, {"lllm_shaky_plugin.py": source}
    )
    plugins.setenv("LLLM_STRICT_PLUGINS", "1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(PluginError) as info:
            load_package(plugins.package("alpha"), runtime=Runtime())
    message = str(info.value)
    for part in ["'shaky'", "lllm-shaky", "0.9.1", where]:
        assert part in message, (part, message)
    assert not isinstance(info.value, PluginConflictError)
    assert info.value.__cause__ is not None and where in str(info.value.__cause__)
    assert runtime_warnings(caught) == []


def test_strict_plugins_off_values_keep_warning(plugins: PluginSandbox) -> None:
    plugins.install(
        "lllm-shaky",
        "0.9.1",
        {"shaky": "lllm_shaky_plugin"},
        {"lllm_shaky_plugin.py": BROKEN_PLUGINS["import-error"][0]},
    )
    plugins.setenv("LLLM_STRICT_PLUGINS", "0")
    warned = load_recording(plugins.package("alpha"), Runtime())
    assert len(warned) == 1 and "'shaky'" in warned[0]


# ============================================================ 5. disabling plugins by name

EXPLODING_MODULE = """
    raise RuntimeError("this plugin must never be imported")
"""


def test_disabled_plugins_are_never_imported(plugins: PluginSandbox) -> None:
    install_datasets(plugins)
    plugins.install(
        "lllm-bomb", "1.0", {"bomb": "lllm_bomb_plugin"}, {"lllm_bomb_plugin.py": EXPLODING_MODULE}
    )
    plugins.setenv("LLLM_DISABLE_PLUGINS", " bomb , datasets ")
    rt = Runtime()
    assert load_recording(plugins.package("alpha"), rt) == []
    assert "lllm_bomb_plugin" not in sys.modules
    assert "lllm_datasets_plugin" not in sys.modules
    assert rt.keys("dataset") == []
    assert section_keys(rt, *BUILTIN_TYPES) == ALPHA_BUILTIN_KEYS
    for name, distribution in [("bomb", "lllm-bomb"), ("datasets", "lllm-datasets")]:
        record = record_named(name)
        assert (record.status, record.distribution, record.plugin) == (
            "disabled",
            distribution,
            None,
        )
        assert "LLLM_DISABLE_PLUGINS" in record.error
    assert "lllm_bomb_plugin" not in sys.modules


def test_disabling_a_builtin_plugin_drops_its_section(plugins: PluginSandbox) -> None:
    plugins.setenv("LLLM_DISABLE_PLUGINS", "tactics")
    files = {**ALPHA_FILES, "tactics/boom.py": EXPLODING_MODULE}
    rt = Runtime()
    assert load_recording(plugins.package("alpha", files), rt) == []  # tactics/ never imported
    assert rt.keys("tactic") == []
    assert not any(k.startswith("alpha.tactics:") for k in rt.keys())
    assert section_keys(rt, *BUILTIN_TYPES) == [
        k for k in ALPHA_BUILTIN_KEYS if ".tactics:" not in k
    ]
    record = record_named("tactics")
    assert record.status == "disabled" and record.builtin
    assert "tactics" not in [spec.name for spec in plugin_manager.iter_section_specs()]


# ============================================================== 6. built-ins only (autoload)


@pytest.mark.parametrize("value", ["0", "false", "off"])
def test_autoload_off_loads_builtins_only(plugins: PluginSandbox, value: str) -> None:
    install_datasets(plugins)
    plugins.install(
        "lllm-bomb", "1.0", {"bomb": "lllm_bomb_plugin"}, {"lllm_bomb_plugin.py": EXPLODING_MODULE}
    )
    plugins.setenv("LLLM_PLUGINS_AUTOLOAD", value)
    rt = Runtime()
    assert load_recording(plugins.package("alpha"), rt) == []
    assert "lllm_datasets_plugin" not in sys.modules
    assert "lllm_bomb_plugin" not in sys.modules
    assert rt.keys("dataset") == []
    assert section_keys(rt, *BUILTIN_TYPES) == ALPHA_BUILTIN_KEYS
    statuses = {r.name: (r.status, r.builtin) for r in list_plugins()}
    assert statuses == {
        **{name: ("loaded", True) for name in BUILTIN_ORDER},
        "datasets": ("disabled", False),
        "bomb": ("disabled", False),
    }


def test_autoload_off_still_accepts_plugins_registered_in_code(plugins: PluginSandbox) -> None:
    plugins.setenv("LLLM_PLUGINS_AUTOLOAD", "0")
    rt = Runtime()
    register_plugin(CorporaPlugin(), name="corpora", runtime=rt)
    load_package(plugins.package("gamma", {"texts/a.txt": "A"}), runtime=rt)
    assert rt.keys("corpus") == ["gamma.corpora:a"]


# ==================================================================== 7. section conflicts


def test_third_party_plugin_claiming_a_builtin_section_is_an_error(plugins: PluginSandbox) -> None:
    plugins.install(
        "lllm-fancy-prompts",
        "2.0",
        {"fancy": "lllm_fancy_plugin"},
        {"lllm_fancy_plugin.py": section_plugin("prompts", "prompt")},
    )
    with pytest.raises(PluginConflictError) as info:
        load_package(plugins.package("alpha"), runtime=Runtime())
    message = str(info.value)
    for part in ["'prompts'", "'fancy'", "lllm-fancy-prompts", "distribution lllm "]:
        assert part in message, (part, message)
    assert isinstance(info.value, PluginError)


def test_two_third_party_plugins_claiming_one_section(plugins: PluginSandbox) -> None:
    plugins.install(
        "ds-one",
        "1.0",
        {"ds_one": "lllm_ds_one"},
        {"lllm_ds_one.py": section_plugin("datasets", "dataset", ".csv")},
    )
    plugins.install(
        "ds-two",
        "2.0",
        {"ds_two": "lllm_ds_two"},
        {"lllm_ds_two.py": section_plugin("datasets", "dataset", ".csv")},
    )
    pkg = plugins.package("alpha")
    with pytest.raises(PluginConflictError) as info:
        load_package(pkg, runtime=Runtime())
    message = str(info.value)
    for part in ["'datasets'", "'ds_one'", "ds-one", "'ds_two'", "ds-two"]:
        assert part in message, (part, message)

    # Blocking one of them, as the message suggests, resolves it.
    plugins.setenv("LLLM_DISABLE_PLUGINS", "ds_two")
    rt = Runtime()
    load_package(pkg, runtime=rt)
    assert rt.get("alpha:x", "dataset") == "a,b\n1,2"
    assert rt.get_node("alpha:x", "dataset").metadata["plugin"] == "ds_one"


def test_in_code_plugin_claiming_a_builtin_section_is_an_error(plugins: PluginSandbox) -> None:
    rt = Runtime()
    impostor = types.SimpleNamespace(
        lllm_sections=hookimpl(
            lambda: [
                SectionSpec(name="configs", resource_type="config", discover=lambda folder: [])
            ]
        ),
    )
    register_plugin(impostor, name="impostor", runtime=rt)
    with pytest.raises(PluginConflictError) as info:
        load_package(plugins.package("alpha"), runtime=rt)
    message = str(info.value)
    for part in ["'configs'", "'impostor'", "registered in code", "distribution lllm"]:
        assert part in message, (part, message)
    # Only that runtime is affected.
    rt2 = Runtime()
    load_package(plugins.package("beta", {"configs/c.yaml": "a: 1\n"}), runtime=rt2)
    assert rt2.get("beta:c", "config") == {"a": 1}


# ===================================================== 8. plugins registered in code, per runtime


class CorporaPlugin:
    """An in-code plugin: section ``corpora`` (type ``corpus``, default folder ``texts``)."""

    def __init__(self) -> None:
        self.folders: list[SectionFolder] = []

    @hookimpl
    def lllm_sections(self) -> list[SectionSpec]:
        return [
            SectionSpec(
                name="corpora",
                resource_type="corpus",
                default_folder="texts",
                discover=self.discover,
            )
        ]

    def discover(self, folder: SectionFolder) -> list:
        self.folders.append(folder)
        return [
            folder.eager(folder.file_key(f), f.read_text().strip(), f)
            for f in folder.files(suffixes=(".txt",))
        ]


def test_register_plugin_for_one_runtime(plugins: PluginSandbox) -> None:
    rt_a, rt_b = Runtime(), Runtime()
    plugin = CorporaPlugin()
    record = register_plugin(plugin, name="corpora", runtime=rt_a)
    assert isinstance(record, PluginRecord)
    assert (record.name, record.distribution, record.builtin, record.plugin) == (
        "corpora",
        None,
        False,
        plugin,
    )

    files = {**ALPHA_FILES, "texts/a.txt": "alpha text\n", "texts/sub/b.txt": "bee\n"}
    pkg = plugins.package("alpha", files)
    assert load_recording(pkg, rt_a) == []
    assert rt_a.keys("corpus") == ["alpha.corpora:a", "alpha.corpora:sub/b"]
    assert rt_a.get("alpha:a", "corpus") == "alpha text"
    assert rt_a.get_node("alpha:sub/b", "corpus").metadata["plugin"] == "corpora"
    assert section_keys(rt_a, *BUILTIN_TYPES) == ALPHA_BUILTIN_KEYS
    assert [f.namespace for f in plugin.folders] == ["alpha.corpora"]
    assert record.status == "loaded"
    assert record_named("corpora", rt_a).plugin is plugin

    # Another runtime, and the process-wide plugins, do not know it.
    assert rt_b.keys() == [] and dict(rt_b.packages) == {}
    assert load_recording(pkg, rt_b) == []
    assert rt_b.keys("corpus") == []
    assert section_keys(rt_b, *BUILTIN_TYPES) == ALPHA_BUILTIN_KEYS
    assert len(plugin.folders) == 1
    assert "corpora" not in [r.name for r in list_plugins()]
    assert "corpora" not in [r.name for r in list_plugins(rt_b)]
    assert "corpora" not in [s.name for s in plugin_manager.iter_section_specs()]
    assert "corpora" in [s.name for s in plugin_manager.iter_section_specs(rt_a)]
    # The runtime's host still lists the entry-point plugins.
    assert [r.name for r in list_plugins(rt_a)] == BUILTIN_ORDER + ["corpora"]


def test_register_plugin_namespace_object_and_unregister(plugins: PluginSandbox) -> None:
    rt = Runtime()
    plugin = types.SimpleNamespace(
        lllm_sections=hookimpl(
            lambda: [
                SectionSpec(
                    name="notes",
                    resource_type="note",
                    discover=lambda folder: [
                        folder.lazy(folder.file_key(f), f.read_text, f) for f in folder.files()
                    ],
                )
            ]
        ),
    )
    register_plugin(plugin, name="notes", runtime=rt)
    load_package(plugins.package("one", {"notes/n.txt": "first"}), runtime=rt)
    assert rt.get("one:n", "note") == "first"

    unregister_plugin("notes", runtime=rt)
    load_package(plugins.package("two", {"notes/n.txt": "second", "prompts/p.md": "P"}), runtime=rt)
    assert rt.keys("note") == ["one.notes:n"]
    assert rt.keys("prompt") == ["two.prompts:p"]
    assert "notes" not in [r.name for r in list_plugins(rt)]


def test_in_code_plugin_with_a_bad_hook_is_reported_and_skipped(plugins: PluginSandbox) -> None:
    rt = Runtime()

    class Bad:
        @hookimpl
        def lllm_discover(self, path):
            return []

    register_plugin(Bad(), name="bad", runtime=rt)
    warned = load_recording(plugins.package("alpha"), rt)
    assert len(warned) == 1 and "'bad'" in warned[0] and "registered in code" in warned[0]
    assert section_keys(rt, *BUILTIN_TYPES) == ALPHA_BUILTIN_KEYS
    assert record_named("bad", rt).status == "broken"


def test_list_plugins_without_runtime_matches_what_load_package_uses(
    plugins: PluginSandbox,
) -> None:
    """``register_plugin`` and ``load_package`` default to the default runtime; so must
    ``list_plugins`` (it should list what a plain ``load_package`` will use)."""
    default = get_default_runtime()
    register_plugin(CorporaPlugin(), name="default_corpora")
    try:
        assert "default_corpora" in [r.name for r in list_plugins(default)]
        assert "default_corpora" in [r.name for r in list_plugins()]
    finally:
        unregister_plugin("default_corpora")


def test_discovery_into_one_runtime_leaves_others_untouched(plugins: PluginSandbox) -> None:
    install_datasets(plugins)
    default = get_default_runtime()
    before = (default.keys(), dict(default.packages))
    rt_a, rt_b = Runtime(), Runtime()
    load_package(plugins.package("alpha"), runtime=rt_a)
    assert (
        rt_a.keys("dataset") and rt_a.keys("prompt") and rt_a.keys("tactic") and rt_a.keys("proxy")
    )
    assert rt_b.keys() == [] and dict(rt_b.packages) == {} and rt_b.default_namespace is None
    assert (default.keys(), dict(default.packages)) == before


# ================================================== 9. entry points are read once per process


def counting_entry_points(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Wrap ``importlib.metadata.entry_points``; return the list of groups it is asked for."""
    real = importlib.metadata.entry_points
    calls: list[Any] = []

    def counting(*args: Any, **params: Any):
        calls.append(params.get("group", args[0] if args else None))
        return real(*args, **params)

    monkeypatch.setattr(importlib.metadata, "entry_points", counting)
    return calls


def test_entry_points_are_read_once_per_process(plugins: PluginSandbox, monkeypatch) -> None:
    install_datasets(plugins)
    calls = counting_entry_points(monkeypatch)
    Runtime()  # creating a runtime reads nothing
    assert calls == []
    rt1, rt2 = Runtime(), Runtime()
    load_package(plugins.package("alpha"), runtime=rt1)
    load_package(plugins.package("beta", {"datasets/b.csv": "1"}), runtime=rt2)
    list_plugins()
    list_plugins(rt1)
    rt3 = Runtime()
    register_plugin(CorporaPlugin(), name="corpora", runtime=rt3)
    load_package(plugins.package("gamma", {"texts/a.txt": "A"}), runtime=rt3)
    plugin_manager.entry_points("lllm.plugins")
    assert calls.count("lllm.plugins") == 1
    assert rt1.keys("dataset") and rt2.keys("dataset") == ["beta.datasets:b"] and rt3.keys("corpus")


def test_entry_points_are_read_once_by_concurrent_first_users(
    plugins: PluginSandbox, monkeypatch
) -> None:
    install_datasets(plugins)
    calls = counting_entry_points(monkeypatch)
    pkg = plugins.package("alpha")
    barrier = threading.Barrier(8)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            rt = Runtime()
            if i % 2:
                load_package(pkg, runtime=rt)
                results.append(rt.keys("dataset"))
            else:
                results.append([r.name for r in list_plugins()])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert calls.count("lllm.plugins") == 1
    assert sorted(map(tuple, results)) == sorted(
        [tuple(BUILTIN_ORDER + ["datasets"])] * 4
        + [("alpha.datasets:sub/y", "alpha.datasets:x")] * 4
    )


# ====================================================== 10. plugins are imported only when needed


def lazy_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    make_distribution(
        site,
        "lllm-datasets",
        "1.2.3",
        {"datasets": "lllm_datasets_plugin"},
        {"lllm_datasets_plugin.py": DATASETS_PLUGIN},
    )
    return site


@pytest.mark.parametrize("trigger", ["load_package", "list_plugins"])
def test_plugin_module_is_imported_only_when_needed(tmp_path: Path, trigger: str) -> None:
    site = lazy_site(tmp_path)
    pkg = write_package(tmp_path / "pkgs" / "alpha", "alpha", {"datasets/x.csv": "a\n1\n"})
    empty = tmp_path / "empty"
    empty.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    action = {
        "load_package": f"rt = lllm.Runtime(); lllm.load_package({str(pkg)!r}, runtime=rt); rows = rt.get('alpha:x', 'dataset')",
        "list_plugins": "from lllm._plugin_manager import list_plugins; rows = [r.name for r in list_plugins()]",
    }[trigger]
    code = f"""
        import json, sys
        import lllm
        watched = ("lllm_datasets_plugin", "pluggy", "importlib.metadata", "lllm._plugin_manager")
        at_import = {{m: m in sys.modules for m in watched}}
        rt = lllm.Runtime()
        after_runtime = {{m: m in sys.modules for m in watched}}
        {action}
        after = {{m: m in sys.modules for m in watched}}
        print(json.dumps([at_import, after_runtime, after, rows]))
    """
    # Auto-init is on (the default): an empty folder with an empty LLLM_HOME has nothing to load.
    env = clean_env(home, site)
    at_import, after_runtime, after, rows = run_python(code, cwd=empty, env=env)
    assert at_import == {m: False for m in at_import}
    assert after_runtime == {m: False for m in after_runtime}
    assert after["lllm_datasets_plugin"] is True
    if trigger == "load_package":
        assert rows == [["a"], ["1"]]
    else:  # other plugin distributions installed beside lllm may be listed too
        expected = BUILTIN_ORDER + ["datasets"]
        assert [name for name in rows if name in expected] == expected


def test_pip_installed_plugin_works_with_auto_init(tmp_path: Path) -> None:
    """After "pip install" (the distribution on sys.path), the user's project gets the new
    resource type with no change to lllm or to the user's code."""
    site = lazy_site(tmp_path)
    project = write_package(
        tmp_path / "proj", "proj", {"datasets/x.csv": "a,b\n1,2\n", "prompts/hello.md": "Hello"}
    )
    home = tmp_path / "home"
    home.mkdir()
    code = """
        import json, sys, warnings
        warnings.simplefilter("error")
        import lllm
        rt = lllm.get_default_runtime()
        print(json.dumps([rt.default_namespace, rt.get("proj:x", "dataset"), lllm.load_resource("datasets:x"),
                          rt.keys("dataset"), rt.keys("prompt")]))
    """
    env = clean_env(home, site)
    namespace, typed, via_resource, dataset_keys, prompt_keys = run_python(
        code, cwd=project, env=env
    )
    assert namespace == "proj"
    assert typed == via_resource == [["a", "b"], ["1", "2"]]
    assert dataset_keys == ["proj.datasets:x"]
    assert prompt_keys == ["proj.prompts:hello"]


def test_switches_in_a_fresh_process(tmp_path: Path) -> None:
    """The environment switches as a user sets them: before the process starts."""
    site = tmp_path / "site"
    make_distribution(
        site,
        "lllm-datasets",
        "1.2.3",
        {"datasets": "lllm_datasets_plugin"},
        {"lllm_datasets_plugin.py": DATASETS_PLUGIN},
    )
    make_distribution(
        site,
        "lllm-bomb",
        "1.0",
        {"bomb": "lllm_bomb_plugin"},
        {"lllm_bomb_plugin.py": EXPLODING_MODULE},
    )
    pkg = write_package(
        tmp_path / "pkgs" / "alpha", "alpha", {"datasets/x.csv": "a\n", "prompts/p.md": "P"}
    )
    home = tmp_path / "home"
    home.mkdir()
    code = f"""
        import json, sys, warnings
        import lllm
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rt = lllm.Runtime()
            try:
                lllm.load_package({str(pkg)!r}, runtime=rt)
                outcome = "ok"
            except lllm.PluginError as exc:
                outcome = "PluginError: " + str(exc)
        from lllm._plugin_manager import list_plugins
        try:
            statuses = {{r.name: r.status for r in list_plugins()}}
        except lllm.PluginError:
            statuses = None
        print(json.dumps({{
            "outcome": outcome,
            "warnings": [str(w.message) for w in caught],
            "imported": [m for m in ("lllm_datasets_plugin", "lllm_bomb_plugin") if m in sys.modules],
            "keys": rt.keys(),
            "statuses": statuses,
        }}))
    """

    def run(**switches: str) -> dict[str, Any]:
        return run_python(
            code, cwd=tmp_path, env=clean_env(home, site, LLLM_AUTO_INIT="0", **switches)
        )

    default = run()
    assert default["outcome"] == "ok"
    assert (
        len(default["warnings"]) == 1
        and "'bomb'" in default["warnings"][0]
        and "lllm-bomb" in default["warnings"][0]
    )
    assert default["keys"] == ["alpha.datasets:x", "alpha.prompts:p"]
    assert default["statuses"]["bomb"] == "broken"

    disabled = run(LLLM_DISABLE_PLUGINS="bomb")
    assert (disabled["outcome"], disabled["warnings"], disabled["imported"]) == (
        "ok",
        [],
        ["lllm_datasets_plugin"],
    )
    assert disabled["keys"] == ["alpha.datasets:x", "alpha.prompts:p"]
    assert disabled["statuses"]["bomb"] == "disabled"

    builtins_only = run(LLLM_PLUGINS_AUTOLOAD="0")
    assert (builtins_only["outcome"], builtins_only["warnings"], builtins_only["imported"]) == (
        "ok",
        [],
        [],
    )
    assert builtins_only["keys"] == ["alpha.prompts:p"]

    strict = run(LLLM_STRICT_PLUGINS="1")
    assert (
        strict["outcome"].startswith("PluginError: ")
        and "'bomb'" in strict["outcome"]
        and "lllm-bomb" in strict["outcome"]
    )
    assert strict["warnings"] == [] and strict["keys"] == []


@pytest.mark.parametrize("folder", ["", "/abs", "../up", "a/../b", "a//b", "c:x", 5, "a\\..\\b"])
def test_a_default_folder_must_stay_inside_the_package(folder) -> None:
    with pytest.raises(ValueError, match="default folder"):
        SectionSpec(name="notes", resource_type="note", default_folder=folder)


def test_a_default_folder_may_be_nested() -> None:
    assert (
        SectionSpec(name="notes", resource_type="note", default_folder="data/notes").folder_name
        == "data/notes"
    )


def test_a_plugin_that_declares_nothing_and_unknown_disabled_names_are_said(tmp_path: Path) -> None:
    site = write_tree(
        tmp_path / "site",
        {
            "emptyplug/__init__.py": "",
            "emptyplug/hooks.py": "from lllm.plugin import hookimpl\n",
            "emptyplug-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: emptyplug\nVersion: 1.0\n",
            "emptyplug-1.0.dist-info/entry_points.txt": "[lllm.plugins]\nemptyplug = emptyplug\n",
        },
    )
    code = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import lllm
    lllm.load_package(".", runtime=lllm.Runtime())
print(json.dumps([str(w.message) for w in caught]))
"""
    package = write_tree(
        tmp_path / "pkg", {"lllm.toml": '[package]\nname = "pkg"\n', "prompts/a.md": "A"}
    )
    env = clean_env(
        tmp_path / "home",
        site,
        LLLM_CACHE_DIR=str(tmp_path / "cache"),
        LLLM_DISABLE_PLUGINS="nosuch,prompts",
    )
    messages = run_python(code, cwd=package, env=env)
    assert any("emptyplug" in m and "declares nothing" in m for m in messages), messages
    assert any("LLLM_DISABLE_PLUGINS names 'nosuch'" in m for m in messages), messages


# ------------------------------------------------------------ hooks called through pluggy

WRAPPING_PLUGIN = """
    from lllm.plugin import hookimpl

    SEEN = []

    @hookimpl(wrapper=True)
    def lllm_discover(folder):
        nodes = yield
        SEEN.append((folder.section.name, len(nodes)))
        return [node for node in nodes if "secret" not in node.key]
"""


def test_a_hook_wrapper_sees_and_filters_every_discovery(plugins: PluginSandbox) -> None:
    plugins.install(
        "lllm-audit",
        "1.0",
        {"audit": "lllm_audit_plugin"},
        {"lllm_audit_plugin.py": WRAPPING_PLUGIN},
    )
    rt = Runtime()
    package = plugins.package("delta", {"prompts/hello.md": "Hi", "prompts/secret.md": "S"})
    assert load_recording(package, rt) == []
    assert rt.keys("prompt") == ["delta.prompts:hello"]
    seen = sys.modules["lllm_audit_plugin"].SEEN
    assert ("prompts", 2) in seen


def test_a_tryfirst_implementation_takes_over_a_folder(plugins: PluginSandbox) -> None:
    source = """
        from lllm.plugin import hookimpl

        @hookimpl(tryfirst=True)
        def lllm_discover(folder):
            if folder.section.name != "configs":
                return None  # every other folder: the section's own discover
            return [folder.eager("fixed", {"from": "override"}, None)]
    """
    plugins.install(
        "lllm-override",
        "1.0",
        {"override": "lllm_override_plugin"},
        {"lllm_override_plugin.py": source},
    )
    rt = Runtime()
    package = plugins.package("eps", {"configs/real.yaml": "a: 1", "prompts/p.md": "P"})
    assert load_recording(package, rt) == []
    assert rt.keys("config") == ["eps.configs:fixed"]
    assert rt.get("fixed", "config") == {"from": "override"}
    assert rt.keys("prompt") == ["eps.prompts:p"]


def test_trace_plugins_prints_hook_calls(tmp_path: Path) -> None:
    from lllm.testing import write_package as write

    package = write(tmp_path / "pkg", {"prompts/p.md": "P"}, name="pkg")
    code = f"import lllm\nlllm.load_package({str(package)!r}, runtime=lllm.Runtime())\n"
    env = {**os.environ, "LLLM_TRACE_PLUGINS": "1", "LLLM_NO_CACHE": "1", "LLLM_AUTO_INIT": "0"}
    traced = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert traced.returncode == 0, traced.stderr
    assert "lllm_sections [hook]" in traced.stderr
    assert "lllm_discover [hook]" in traced.stderr and "prompts" in traced.stderr
    env["LLLM_TRACE_PLUGINS"] = "0"
    quiet = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert quiet.returncode == 0 and "[hook]" not in quiet.stderr


def test_a_section_without_a_discover_function_is_a_clear_plugin_error(
    plugins: PluginSandbox,
) -> None:
    source = """
        from lllm.plugin import SectionSpec, hookimpl

        @hookimpl
        def lllm_sections():
            return [SectionSpec(name="notes", resource_type="note")]
    """
    plugins.install("lllm-old", "0.1", {"old": "lllm_old_plugin"}, {"lllm_old_plugin.py": source})
    warned = load_recording(plugins.package("alpha"), Runtime())
    assert len(warned) == 1 and "no discover function" in warned[0], warned
    assert "SectionSpec(name='notes', ..., discover=" in warned[0]
    assert record_named("old").status == "broken"


# -------------------------------------------------- an installed plugin registered in code


def test_registering_an_installed_plugin_in_code_uses_the_same_plugin(
    plugins: PluginSandbox,
) -> None:
    install_datasets(plugins)
    import importlib

    module = importlib.import_module("lllm_datasets_plugin")
    rt = Runtime()
    record = lllm.register_plugin(module, runtime=rt)
    assert record.name == "datasets" and record.distribution == "lllm-datasets"
    assert load_recording(plugins.package("alpha"), rt) == []
    assert rt.keys("dataset") == ["alpha.datasets:sub/y", "alpha.datasets:x"]
    assert [r.status for r in list_plugins(rt) if r.name == "datasets"] == ["loaded"]


def test_load_with_plugin_works_when_the_plugin_is_installed(plugins: PluginSandbox) -> None:
    from lllm.testing import load_with_plugin

    install_datasets(plugins)
    import importlib

    module = importlib.import_module("lllm_datasets_plugin")
    runtime = load_with_plugin(module, plugins.package("alpha"))
    assert runtime.keys("dataset") == ["alpha.datasets:sub/y", "alpha.datasets:x"]


# ------------------------------------------------------------- a disabled type on lookup


def test_a_lookup_of_a_disabled_plugins_type_says_so(plugins: PluginSandbox) -> None:
    install_datasets(plugins)
    plugins.setenv("LLLM_DISABLE_PLUGINS", "datasets")
    rt = Runtime()
    load_recording(plugins.package("alpha"), rt)
    with pytest.raises(lllm.ResourceNotFoundError) as info:
        rt.get("cities", "dataset")
    message = str(info.value)
    assert "no loaded section provides resources of type 'dataset'" in message
    assert "'datasets' (disabled by LLLM_DISABLE_PLUGINS)" in message
    assert "Did you mean" not in message
    assert info.value.reason is not None and info.value.suggestions == ()
