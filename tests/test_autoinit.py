"""Automatic initialisation at ``import lllm`` and the named runtimes of ``load_runtime``.

Everything about ``import lllm`` runs in a fresh interpreter (``run_import``): the default
runtime is populated once per process, so only a real subprocess shows what a user sees.
The child records warnings from before ``import lllm``, takes a snapshot of the interesting
``sys.modules`` entries right after it, and prints one JSON line that the test parses.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import lllm
import lllm.core.runtime as runtime_module
from lllm import get_runtime, load_runtime
from lllm.core.runtime import Runtime, get_default_runtime

# ----------------------------------------------------------------------------- helpers

_MARKER = "@@LLLM-PROBE@@"

#: Module families the child reports on (each name and its submodules).
_WATCHED = ("lllm", "pluggy", "yaml", "importlib.metadata", "attr", "attrs")

_PROBE = textwrap.dedent(
    f"""
    import json, sys, warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import lllm
        watched = {_WATCHED!r}
        modules = sorted(
            name for name in sys.modules
            if any(name == root or name.startswith(root + ".") for root in watched)
        )
        from lllm.core.runtime import get_default_runtime
        rt = get_default_runtime()
        result = {{
            "keys": rt.keys(),
            "prompt_keys": rt.keys("prompt"),
            "packages": sorted(rt.packages),
            "package_dirs": {{name: str(info.base_dir) for name, info in rt.packages.items()}},
            "default_namespace": rt.default_namespace,
            "modules": modules,
        }}
    result["warnings"] = [
        {{"category": w.category.__name__, "message": str(w.message)}} for w in caught
    ]
    print({_MARKER!r} + json.dumps(result))
    """
)


def child_env(home: Path, **variables: str) -> dict[str, str]:
    """``os.environ`` without any ``LLLM_*`` variable, ``LLLM_HOME`` at ``home``, plus ``variables``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LLLM_")}
    env["LLLM_HOME"] = str(home)
    env.update(variables)
    return env


def run_python(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def run_import(cwd: Path, home: Path, **variables: str) -> dict:
    """Run ``import lllm`` in a fresh interpreter and return what the probe reports."""
    proc = run_python(_PROBE, cwd, child_env(home, **variables))
    lines = [line for line in proc.stdout.splitlines() if line.startswith(_MARKER)]
    assert len(lines) == 1, f"no probe output:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[0][len(_MARKER) :])


def runtime_warnings(report: dict) -> list[str]:
    return [w["message"] for w in report["warnings"] if w["category"] == "RuntimeWarning"]


def make_package(
    folder: Path, name: str | None, prompts: dict[str, str] | None = None, *, extra: str = ""
) -> Path:
    """A package folder with an ``lllm.toml`` (naming it ``name`` if given) and markdown prompts."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = f'[package]\nname = "{name}"\n' if name else ""
    (folder / "lllm.toml").write_text(manifest + extra, encoding="utf-8")
    for key, text in (prompts or {}).items():
        file = folder / "prompts" / f"{key}.md"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    return folder


def _has_manifest_above(folder: Path) -> bool:
    return any((parent / "lllm.toml").is_file() for parent in (folder, *folder.parents))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty ``LLLM_HOME``."""
    folder = tmp_path / "lllm_home"
    folder.mkdir()
    return folder


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder for projects, with no ``lllm.toml`` at or above it (the tests rely on that)."""
    folder = tmp_path / "work"
    folder.mkdir()
    if _has_manifest_above(folder):
        pytest.fail(f"an lllm.toml above {folder} would spoil the upward search")
    return folder


@pytest.fixture
def project(work: Path) -> Path:
    """A project ``proj`` with two prompts and a config."""
    root = make_package(
        work / "proj", "proj", {"greet": "Hello {name}", "support/triage": "Triage."}
    )
    (root / "configs").mkdir()
    (root / "configs" / "default.yaml").write_text("model: small\n", encoding="utf-8")
    return root


PROJECT_PROMPTS = ["proj.prompts:greet", "proj.prompts:support/triage"]


# ------------------------------------------------------------------- 1. the project in cwd


def test_project_in_cwd_populates_default_runtime(project: Path, home: Path) -> None:
    report = run_import(project, home)
    assert report["prompt_keys"] == PROJECT_PROMPTS
    assert "proj.configs:default" in report["keys"]
    assert report["packages"] == ["proj"]
    assert report["default_namespace"] == "proj"
    assert report["warnings"] == []


def test_project_found_upward_from_a_subfolder(project: Path, home: Path) -> None:
    # The subfolder even has a prompts/ folder of its own: the upward search wins over the
    # cwd fallback, so no package named after the subfolder and no fallback warning.
    sub = project / "scripts" / "nested"
    (sub / "prompts").mkdir(parents=True)
    (sub / "prompts" / "stray.md").write_text("stray", encoding="utf-8")
    report = run_import(sub, home)
    assert report["prompt_keys"] == PROJECT_PROMPTS
    assert report["packages"] == ["proj"]
    assert report["default_namespace"] == "proj"
    assert report["warnings"] == []


# ------------------------------------------------------------------------- 2. LLLM_CONFIG


def test_lllm_config_manifest_file_from_unrelated_cwd(
    project: Path, work: Path, home: Path
) -> None:
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    report = run_import(elsewhere, home, LLLM_CONFIG=str(project / "lllm.toml"))
    assert report["prompt_keys"] == PROJECT_PROMPTS
    assert report["default_namespace"] == "proj"
    assert report["warnings"] == []


def test_lllm_config_folder_wins_over_the_cwd_project(
    project: Path, work: Path, home: Path
) -> None:
    other = make_package(work / "other", "other", {"mine": "mine"})
    report = run_import(other, home, LLLM_CONFIG=str(project))
    assert report["prompt_keys"] == PROJECT_PROMPTS
    assert report["packages"] == ["proj"]
    assert report["default_namespace"] == "proj"
    assert report["warnings"] == []


def test_lllm_config_missing_path_warns_and_loads_nothing(
    project: Path, home: Path, work: Path
) -> None:
    missing = work / "no_such_project" / "lllm.toml"
    # Even from inside a project: an explicit setting that is wrong is not silently replaced.
    report = run_import(project, home, LLLM_CONFIG=str(missing))
    assert report["keys"] == []
    assert report["packages"] == []
    assert report["default_namespace"] is None
    messages = runtime_warnings(report)
    assert len(messages) == 1, report["warnings"]
    assert str(missing) in messages[0]
    assert "LLLM_CONFIG" in messages[0]


# ----------------------------------------------------------------------- 3. cwd fallback


def test_cwd_fallback_loads_standard_folders_and_suggests_a_manifest(
    work: Path, home: Path
) -> None:
    folder = work / "loose_project"
    (folder / "prompts").mkdir(parents=True)
    (folder / "prompts" / "hello.md").write_text("Hello", encoding="utf-8")
    (folder / "configs").mkdir()
    (folder / "configs" / "base.yaml").write_text("model: tiny\n", encoding="utf-8")
    report = run_import(folder, home)
    assert "loose_project.prompts:hello" in report["keys"]
    assert "loose_project.configs:base" in report["keys"]
    assert report["default_namespace"] == "loose_project"
    messages = runtime_warnings(report)
    assert len(messages) == 1, report["warnings"]
    assert "lllm.toml" in messages[0]
    assert str(folder) in messages[0]


def test_cwd_fallback_with_only_configs(work: Path, home: Path) -> None:
    folder = work / "configs_only"
    (folder / "configs").mkdir(parents=True)
    (folder / "configs" / "run.yaml").write_text("steps: 3\n", encoding="utf-8")
    report = run_import(folder, home)
    assert report["keys"] == ["configs_only.configs:run"]
    messages = runtime_warnings(report)
    assert len(messages) == 1 and "lllm.toml" in messages[0], report["warnings"]


def test_cwd_fallback_switched_off(work: Path, home: Path) -> None:
    folder = work / "loose_project"
    (folder / "prompts").mkdir(parents=True)
    (folder / "prompts" / "hello.md").write_text("Hello", encoding="utf-8")
    report = run_import(folder, home, LLLM_AUTO_CWD_FALLBACK="0")
    assert report["keys"] == []
    assert report["packages"] == []
    assert report["warnings"] == []


# -------------------------------------------------------------------- 4. LLLM_AUTO_INIT=0


def test_auto_init_switched_off(project: Path, home: Path) -> None:
    make_package(home / "packages" / "user_pkg", "user_pkg", {"u": "u"})
    report = run_import(project, home, LLLM_AUTO_INIT="0")
    assert report["keys"] == []
    assert report["packages"] == []
    assert report["default_namespace"] is None
    assert report["warnings"] == []


# -------------------------------------------------------------------- 5. broken manifests


def test_invalid_toml_upward_warns_with_file_and_line(work: Path, home: Path) -> None:
    root = work / "broken"
    root.mkdir()
    manifest = root / "lllm.toml"
    manifest.write_text('[package]\nname = "broken"\nversion = \n', encoding="utf-8")
    (root / "prompts").mkdir()
    (root / "prompts" / "p.md").write_text("p", encoding="utf-8")
    sub = root / "sub"
    sub.mkdir()
    report = run_import(sub, home)
    assert report["keys"] == []
    assert report["packages"] == []
    messages = runtime_warnings(report)
    assert len(messages) == 1, report["warnings"]
    assert str(manifest) in messages[0]
    assert "line 3" in messages[0]


def test_manifest_with_wrong_type_warns_with_file_and_key(work: Path, home: Path) -> None:
    root = make_package(work / "wrong", "wrong", {"p": "p"}, extra='[prompts]\npaths = "prompts"\n')
    report = run_import(root, home)
    assert report["keys"] == []
    assert report["packages"] == []
    messages = runtime_warnings(report)
    assert len(messages) == 1, report["warnings"]
    assert str(root / "lllm.toml") in messages[0]
    assert "prompts.paths" in messages[0]


# ------------------------------------------------------------------------ 6. empty folder


def test_empty_folder_import_is_cheap_and_silent(work: Path, home: Path) -> None:
    report = run_import(work, home)
    modules = report["modules"]
    assert not [m for m in modules if m.startswith("lllm.sections")], modules
    for family in ("pluggy", "yaml", "importlib.metadata", "attr", "attrs"):
        assert not [m for m in modules if m == family or m.startswith(family + ".")], (
            family,
            modules,
        )
    assert report["warnings"] == []
    assert report["keys"] == []
    assert report["packages"] == []
    assert report["default_namespace"] is None


# ------------------------------------------------------------------ 7. drop-in packages


def test_drop_in_packages_project_scope_shadows_user_scope(project: Path, home: Path) -> None:
    dropins = project / "lllm_packages"
    make_package(dropins / "shared", "shared", {"from_project": "p"})
    make_package(dropins / "proj_only", "proj_only", {"a": "a"})
    make_package(dropins / "_private", "private_pkg", {"hidden": "h"})
    make_package(dropins / ".hidden", "dot_pkg", {"hidden": "h"})
    (dropins / "no_manifest" / "prompts").mkdir(parents=True)
    (dropins / "no_manifest" / "prompts" / "x.md").write_text("x", encoding="utf-8")
    user = home / "packages"
    make_package(user / "shared", "shared", {"from_user": "u"})
    make_package(user / "user_only", "user_only", {"b": "b"})

    report = run_import(project, home)
    keys = report["keys"]
    assert "shared.prompts:from_project" in keys
    assert "shared.prompts:from_user" not in keys
    assert "proj_only.prompts:a" in keys
    assert "user_only.prompts:b" in keys
    assert set(PROJECT_PROMPTS) <= set(keys)
    assert report["packages"] == ["proj", "proj_only", "shared", "user_only"]
    assert report["package_dirs"]["shared"] == str(dropins / "shared")
    assert report["default_namespace"] == "proj"
    assert report["warnings"] == []  # the shadowing is silent


def test_drop_in_packages_switched_off(project: Path, home: Path) -> None:
    make_package(project / "lllm_packages" / "proj_only", "proj_only", {"a": "a"})
    make_package(home / "packages" / "user_only", "user_only", {"b": "b"})
    report = run_import(project, home, LLLM_AUTO_SHARED_PACKAGES="0")
    assert report["packages"] == ["proj"]
    assert report["prompt_keys"] == PROJECT_PROMPTS
    assert report["warnings"] == []


def test_user_scope_packages_load_without_a_project(work: Path, home: Path) -> None:
    make_package(home / "packages" / "user_only", "user_only", {"b": "b"})
    report = run_import(work, home)
    assert report["keys"] == ["user_only.prompts:b"]
    assert report["packages"] == ["user_only"]
    assert report["warnings"] == []


def test_user_scope_packages_load_without_a_project_when_home_uses_tilde(
    work: Path, tmp_path: Path
) -> None:
    # ``LLLM_HOME=~/...`` is expanded (``lllm._scopes.lllm_home``), so the import-time check
    # must look in the same place and find the user-scope package.
    fake_user_home = tmp_path / "user_home"
    make_package(fake_user_home / "my_lllm" / "packages" / "user_only", "user_only", {"b": "b"})
    report = run_import(work, work, LLLM_HOME="~/my_lllm", HOME=str(fake_user_home))
    assert report["keys"] == ["user_only.prompts:b"]
    assert report["warnings"] == []


# ---------------------------------------------------------- 8. pip-installed packages


def test_entry_point_package_loads_with_a_project(
    project: Path, home: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    dist_info = site / "acme_dist-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-dist\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        "[lllm.packages]\nacme = acme_pkg\n", encoding="utf-8"
    )
    module = site / "acme_pkg"
    make_package(module, "acme", {"x": "from a wheel"})
    (module / "__init__.py").write_text("", encoding="utf-8")

    pythonpath = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    report = run_import(project, home, PYTHONPATH=pythonpath)
    assert "acme.prompts:x" in report["keys"]
    assert set(PROJECT_PROMPTS) <= set(report["keys"])
    assert report["package_dirs"]["acme"] == str(module)
    assert report["default_namespace"] == "proj"
    assert report["warnings"] == []


# ------------------------------------------------------------ 10. the seed's example


def test_seed_default_runtime_example_in_a_project(project: Path, home: Path) -> None:
    code = (
        "from lllm.core.runtime import get_default_runtime\n"
        "\n"
        "runtime = get_default_runtime()\n"
        'print(runtime.keys("prompt"))   # list qualified keys of all prompts\n'
    )
    proc = run_python(code, project, child_env(home))
    assert ast.literal_eval(proc.stdout.strip()) == PROJECT_PROMPTS


# ---------------------------------------------------------- 9. named runtimes (in-process)


@pytest.fixture
def isolated_runtimes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Keep this process's default and named runtimes as they were; no LLLM_* settings; empty home."""
    for key in [k for k in os.environ if k.startswith("LLLM_")]:
        monkeypatch.delenv(key)
    empty_home = tmp_path / "in_process_home"
    empty_home.mkdir()
    monkeypatch.setenv("LLLM_HOME", str(empty_home))
    monkeypatch.setattr(runtime_module, "_default_runtime", get_default_runtime())
    monkeypatch.setattr(runtime_module, "_named_runtimes", {})
    return empty_home


@pytest.fixture
def experiments(work: Path, monkeypatch: pytest.MonkeyPatch, isolated_runtimes: Path) -> Path:
    make_package(work / "experiment_a", "exp_a_pkg", {"greet": "Hello from A", "only_a": "a"})
    make_package(work / "experiment_b", "exp_b_pkg", {"greet": "Hello from B"})
    monkeypatch.chdir(work)
    return work


def test_named_runtimes_are_isolated(experiments: Path) -> None:
    default_before = get_default_runtime()
    default_keys = default_before.keys()

    # The seed's example, as written.
    load_runtime("experiment_a/lllm.toml", name="exp_a")
    load_runtime("experiment_b/lllm.toml", name="exp_b")

    rt_a = get_runtime("exp_a")
    rt_b = get_runtime("exp_b")

    assert isinstance(rt_a, Runtime) and isinstance(rt_b, Runtime)
    assert rt_a is not rt_b
    assert rt_a.keys() == ["exp_a_pkg.prompts:greet", "exp_a_pkg.prompts:only_a"]
    assert rt_b.keys() == ["exp_b_pkg.prompts:greet"]
    assert rt_a.default_namespace == "exp_a_pkg"
    assert rt_b.default_namespace == "exp_b_pkg"
    assert rt_a.has("greet", "prompt") and rt_b.has("greet", "prompt")
    assert not rt_b.has("only_a")
    assert rt_a.discovery_done and rt_b.discovery_done
    # The default runtime is untouched by named loads.
    assert get_default_runtime() is default_before
    assert get_default_runtime().keys() == default_keys
    assert lllm.get_runtime() is default_before


def test_load_runtime_returns_the_stored_runtime_and_replaces_a_name(experiments: Path) -> None:
    first = load_runtime("experiment_a", name="exp")
    assert get_runtime("exp") is first
    second = load_runtime("experiment_b", name="exp")
    assert get_runtime("exp") is second
    assert second.keys() == ["exp_b_pkg.prompts:greet"]


def test_load_runtime_without_a_name_replaces_the_default(
    experiments: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = get_default_runtime()
    monkeypatch.chdir(experiments / "experiment_a")
    new = load_runtime()
    assert new is not old
    assert get_default_runtime() is new
    assert lllm.get_default_runtime() is new
    assert get_runtime() is new
    assert new.keys() == ["exp_a_pkg.prompts:greet", "exp_a_pkg.prompts:only_a"]
    assert new.default_namespace == "exp_a_pkg"
    # The module helpers follow the new default.
    assert lllm.load_prompt("only_a") is new.get_prompt("only_a")


def test_get_runtime_unknown_name_lists_known_ones(experiments: Path) -> None:
    load_runtime("experiment_a/lllm.toml", name="exp_a")
    load_runtime("experiment_b/lllm.toml", name="exp_b")
    with pytest.raises(KeyError) as info:
        get_runtime("nope")
    message = str(info.value)
    assert "nope" in message
    assert "exp_a" in message and "exp_b" in message


def test_load_runtime_missing_path(experiments: Path) -> None:
    default_before = get_default_runtime()
    with pytest.raises(FileNotFoundError):
        load_runtime("missing/path")
    with pytest.raises(FileNotFoundError):
        load_runtime("missing/path", name="broken")
    assert get_default_runtime() is default_before
    with pytest.raises(KeyError):
        get_runtime("broken")


def test_load_runtime_shared_packages_switch(
    work: Path, monkeypatch: pytest.MonkeyPatch, isolated_runtimes: Path
) -> None:
    root = make_package(work / "proj", "proj", {"main": "main"})
    make_package(root / "lllm_packages" / "dropin", "dropin", {"d": "d"})
    make_package(isolated_runtimes / "packages" / "user_pkg", "user_pkg", {"u": "u"})
    monkeypatch.chdir(work)

    with_shared = load_runtime(root, name="with_shared")
    assert with_shared.keys() == ["dropin.prompts:d", "proj.prompts:main", "user_pkg.prompts:u"]
    assert with_shared.default_namespace == "proj"

    without = load_runtime(root, name="without", discover_shared_packages=False)
    assert without.keys() == ["proj.prompts:main"]
    assert sorted(without.packages) == ["proj"]


def test_load_runtime_discovers_the_cwd_project(
    work: Path, monkeypatch: pytest.MonkeyPatch, isolated_runtimes: Path
) -> None:
    root = make_package(work / "proj", "proj", {"main": "main"})
    make_package(root / "lllm_packages" / "dropin", "dropin", {"d": "d"})
    (root / "deeper").mkdir()
    monkeypatch.chdir(root / "deeper")
    found = load_runtime(name="found")
    assert found.keys() == ["dropin.prompts:d", "proj.prompts:main"]
    assert found.default_namespace == "proj"


def test_load_runtime_without_cwd_discovery_is_empty(
    work: Path, monkeypatch: pytest.MonkeyPatch, isolated_runtimes: Path
) -> None:
    root = make_package(work / "proj", "proj", {"main": "main"})
    make_package(root / "lllm_packages" / "dropin", "dropin", {"d": "d"})
    monkeypatch.chdir(root)
    empty = load_runtime(name="empty", discover_cwd=False)
    assert empty.keys() == []
    assert dict(empty.packages) == {}
    assert empty.default_namespace is None
    assert get_runtime("empty") is empty


@pytest.mark.parametrize(
    "variable,value,expect",
    [
        ("LLLM_NO_CACHE", "2", "it stays off"),
        ("LLLM_AUTO_INIT", "2", "it stays on"),
        ("LLLM_AUTO_INIT", "nope", "it stays on"),
    ],
)
def test_a_switch_value_not_understood_is_named_and_keeps_the_default(
    tmp_path: Path, variable: str, value: str, expect: str
) -> None:
    from lllm.testing import write_files

    write_files(tmp_path / "proj", {"lllm.toml": '[package]\nname = "proj"\n', "prompts/a.md": "A"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env.update(
        {
            "LLLM_HOME": str(tmp_path / "home"),
            "LLLM_CACHE_DIR": str(tmp_path / "cache"),
            variable: value,
        }
    )
    code = "import warnings\nwarnings.simplefilter('always')\nimport lllm\nprint(lllm.get_default_runtime().keys())\n"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path / "proj",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"{variable}={value!r} is not understood" in result.stderr and expect in result.stderr, (
        result.stderr
    )
    assert "proj.prompts:a" in result.stdout  # auto-init ran: the default
    if variable == "LLLM_NO_CACHE":
        assert any((tmp_path / "cache").glob("*.idx"))  # the cache stayed on
