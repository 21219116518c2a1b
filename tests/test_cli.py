"""The ``lllm`` command, run as a user runs it: the installed console script in a subprocess.

Every test works on copies of ``examples/acme_assistant`` and ``examples/common_prompts`` in a
temporary folder (nothing is written into the repository) and on a temporary ``LLLM_HOME``.
Read-only commands share one module-wide copy; commands that install or export get their own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from pkgtree import write_tree

import lllm
from lllm.testing import settle

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

_SCRIPT = shutil.which("lllm", path=os.path.dirname(sys.executable))
LLLM = (
    [_SCRIPT]
    if _SCRIPT
    else [sys.executable, "-c", "import lllm_cli, sys; sys.exit(lllm_cli.main())"]
)

BUILTIN_PLUGINS = {
    "prompts": ("prompts", "prompt"),
    "proxies": ("proxies", "proxy"),
    "tactics": ("tactics", "tactic"),
    "configs": ("configs", "config"),
    "assets": ("assets", "asset"),
}

#: key → (type, source file relative to the workspace) of the example project's resources.
EXPECTED_RESOURCES = {
    "acme_assistant.assets:faq.json": ("asset", "acme_assistant/assets/faq.json"),
    "acme_assistant.assets:logo.svg": ("asset", "acme_assistant/assets/logo.svg"),
    "acme_assistant.configs:default": ("config", "acme_assistant/configs/default.yaml"),
    "acme_assistant.configs:experiments/fast": (
        "config",
        "acme_assistant/configs/experiments/fast.yaml",
    ),
    "acme_assistant.data:cities.csv": ("data", "acme_assistant/data/cities.csv"),
    "acme_assistant.prompts:chat/answer": ("prompt", "acme_assistant/prompts/chat.py"),
    "acme_assistant.prompts:chat/summarize": ("prompt", "acme_assistant/prompts/chat.py"),
    "acme_assistant.prompts:support/escalate": (
        "prompt",
        "acme_assistant/prompts/support/escalate.txt",
    ),
    "acme_assistant.prompts:system": ("prompt", "acme_assistant/prompts/system.md"),
    "acme_assistant.proxies:weather": ("proxy", "acme_assistant/proxies/weather.py"),
    "acme_assistant.tactics:answer": ("tactic", "acme_assistant/tactics/answer.py"),
    "common_prompts.configs:base_model": ("config", "common_prompts/configs/base_model.yaml"),
    "common_prompts.prompts:greeting": ("prompt", "common_prompts/prompts/greeting.md"),
}


# ----------------------------------------------------------------------------- helpers


def _env(home: Path, *, third_party_plugins: bool = False, **extra: str) -> dict[str, str]:
    """The environment of a child: a private ``LLLM_HOME``, no inherited ``LLLM_*`` settings.

    Third-party plugins installed in the dev environment are switched off unless a test is
    about plugins, so a plugin someone is working on cannot change what these tests see.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env.pop("PYTHONPATH", None)
    env["LLLM_HOME"] = str(home)
    if not third_party_plugins:
        env["LLLM_PLUGINS_AUTOLOAD"] = "0"
    env.update(extra)
    return env


def run(
    args: list[str], cwd: Path, home: Path, *, third_party_plugins: bool = False, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    env = _env(home, third_party_plugins=third_party_plugins, **extra_env)
    return subprocess.run(
        [*LLLM, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, describe(result)
    assert "Traceback" not in result.stderr + result.stdout, describe(result)


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Exit 1, no traceback, and exactly one stderr line that is not a warning; return that line."""
    assert result.returncode == 1, describe(result)
    assert "Traceback" not in result.stderr + result.stdout, describe(result)
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not line.startswith("lllm: warning:")
    ]
    assert len(lines) == 1, describe(result)
    return lines[0]


def assert_usage_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2, describe(result)
    assert "Traceback" not in result.stderr + result.stdout, describe(result)
    assert result.stderr.strip(), describe(result)


def copy_examples(root: Path) -> Path:
    """Copy the example project and its dependency side by side under ``root``; return ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLES / "acme_assistant", root / "acme_assistant")
    shutil.copytree(EXAMPLES / "common_prompts", root / "common_prompts")
    return root


def table(stdout: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Parse an aligned table whose header holds ``columns``, checking the alignment of every row.

    Every column of every row must start at the offset its header starts at, with a space before
    it; the last listed column runs to the end of the line (or to the next header column).
    """
    lines = [line for line in stdout.splitlines() if line.strip()]
    header_index = next(
        i for i, line in enumerate(lines) if all(re.search(rf"\b{c}\b", line) for c in columns)
    )
    header = lines[header_index]
    headers = header.split()
    offsets = [header.index(name) for name in headers]
    assert offsets == sorted(offsets)
    rows = []
    for line in lines[header_index + 1 :]:
        row = {}
        for i, (name, start) in enumerate(zip(headers, offsets, strict=True)):
            end = offsets[i + 1] if i + 1 < len(offsets) else None
            if start > 0:
                assert len(line) > start and line[start - 1] == " " and line[start] != " ", (
                    f"column {name} not aligned at offset {start} in:\n{line!r}\n{stdout}"
                )
            row[name] = line[start:end].strip()
        rows.append(row)
    return rows


def ls_rows(stdout: str) -> dict[str, tuple[str, str]]:
    return {
        row["KEY"]: (row["TYPE"], row["SOURCE"]) for row in table(stdout, ("KEY", "TYPE", "SOURCE"))
    }


def assert_expected_resources(rows: dict[str, tuple[str, str]], cwd: Path, workspace: Path) -> None:
    for key, (resource_type, source) in EXPECTED_RESOURCES.items():
        assert key in rows, f"{key} missing from {sorted(rows)}"
        shown_type, shown_source = rows[key]
        assert shown_type == resource_type, key
        assert (cwd / shown_source).resolve() == (workspace / source).resolve(), (key, shown_source)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only copy of the examples shared by the inspection tests."""
    return copy_examples(tmp_path_factory.mktemp("workspace"))


@pytest.fixture(scope="module")
def project(workspace: Path) -> Path:
    return workspace / "acme_assistant"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "lllm_home"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Export the example project plainly and with its dependencies, from inside the project."""
    root = copy_examples(tmp_path_factory.mktemp("export"))
    project_dir = root / "acme_assistant"
    home = tmp_path_factory.mktemp("export_home")
    plain = run(["pkg", "export", "acme_assistant", "out/acme-v1.2"], project_dir, home)
    bundled = run(
        ["pkg", "export", "acme_assistant", "out/acme-bundled", "--bundle-deps"], project_dir, home
    )
    return {
        "plain": plain,
        "bundled": bundled,
        "plain_zip": project_dir / "out" / "acme-v1.2.zip",
        "bundled_zip": project_dir / "out" / "acme-bundled.zip",
    }


@pytest.fixture(scope="module")
def broken_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package with one of each problem ``lllm check`` must report."""
    root = tmp_path_factory.mktemp("broken")
    return write_tree(
        root / "broken_pkg",
        {
            "lllm.toml": """\
            [package]
            name = "broken_pkg"
            version = "0.1.0"

            [dependencies]
            packages = ["../no_such_dependency"]
        """,
            "prompts/good.md": "Hello {name}.\n",
            "prompts/bad_import.py": "import lllm_no_such_module_for_tests\n",
            "configs/twin.yaml": "value: 1\n",
            "configs/twin.yml": "value: 2\n",
            "configs/invalid.yaml": "key: [unclosed\n  - : :\n",
        },
    )


# ----------------------------------------------------------------------------- --version


def test_version_matches_package(tmp_path: Path, home: Path) -> None:
    result = run(["--version"], tmp_path, home)
    assert_ok(result)
    assert result.stdout.strip() == f"lllm {lllm.__version__}"


# ----------------------------------------------------------------------------- ls


def test_ls_in_project_lists_every_resource_with_type_and_source(
    workspace: Path, project: Path, home: Path
) -> None:
    result = run(["ls"], project, home)
    assert_ok(result)
    assert_expected_resources(ls_rows(result.stdout), project, workspace)


def test_ls_from_a_subfolder_finds_the_project(workspace: Path, project: Path, home: Path) -> None:
    cwd = project / "prompts" / "support"
    result = run(["ls"], cwd, home)
    assert_ok(result)
    assert_expected_resources(ls_rows(result.stdout), cwd, workspace)


def test_ls_with_project_option_from_elsewhere(
    workspace: Path, project: Path, home: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(["ls", "--project", str(project)], elsewhere, home)
    assert_ok(result)
    assert_expected_resources(ls_rows(result.stdout), elsewhere, workspace)


def test_ls_type_filter(project: Path, home: Path) -> None:
    result = run(["ls", "--type", "prompt"], project, home)
    assert_ok(result)
    rows = ls_rows(result.stdout)
    assert rows and {t for t, _ in rows.values()} == {"prompt"}
    expected = {k for k, (t, _) in EXPECTED_RESOURCES.items() if t == "prompt"}
    assert expected <= set(rows)


def test_ls_json(workspace: Path, project: Path, home: Path) -> None:
    result = run(["ls", "--json"], project, home)
    assert_ok(result)
    entries = json.loads(result.stdout)
    assert isinstance(entries, list)
    for entry in entries:
        assert {"key", "type", "source"} <= set(entry)
    by_key = {entry["key"]: entry for entry in entries}
    for key, (resource_type, source) in EXPECTED_RESOURCES.items():
        assert by_key[key]["type"] == resource_type
        assert (project / by_key[key]["source"]).resolve() == (workspace / source).resolve()


def test_ls_without_project_is_a_one_line_error(tmp_path: Path, home: Path) -> None:
    empty = tmp_path / "no_project_here"
    empty.mkdir()
    result = run(["ls"], empty, home)
    line = assert_one_line_error(result)
    assert "lllm.toml" in line or "project" in line.lower()
    assert result.stdout.strip() == ""


# ----------------------------------------------------------------------------- show


def test_show_prompt_lists_template_and_variables(project: Path, home: Path) -> None:
    result = run(["show", "chat/answer"], project, home)
    assert_ok(result)
    out = result.stdout
    assert "acme_assistant.prompts:chat/answer" in out
    assert "Answer the customer's question:" in out
    variable_lines = [line for line in out.splitlines() if "variable" in line.lower()]
    assert variable_lines, out
    assert any("assistant_name" in line and "question" in line for line in variable_lines), out


def test_show_config_prints_resolved_values_without_base(project: Path, home: Path) -> None:
    result = run(["show", "experiments/fast"], project, home)
    assert_ok(result)
    out = result.stdout
    assert "gpt-4o-mini" in out  # own value
    assert re.search(r"temperature\W+0\.2\b", out), out  # inherited from default
    assert re.search(r"max_turns\W+6\b", out), out  # inherited, nested dict merged
    assert re.search(r"max_tokens\W+300\b", out), out  # overridden
    assert not re.search(r"max_tokens\W+800\b", out), out
    assert not re.search(r"^\s*\"?base\"?\s*:", out, re.MULTILINE), out
    assert "does_not_exist" not in out


def test_show_asset_gives_size_and_metadata(project: Path, home: Path) -> None:
    result = run(["show", "acme_assistant.assets:faq.json"], project, home)
    assert_ok(result)
    out = result.stdout
    size = (project / "assets" / "faq.json").stat().st_size
    assert re.search(rf"\b{size}\s*bytes\b", out), out
    assert "asset" in out and "faq.json" in out
    assert "acme_assistant" in out  # package metadata


def test_show_proxy_gives_class_and_endpoints(project: Path, home: Path) -> None:
    result = run(["show", "weather"], project, home)
    assert_ok(result)
    assert "acme_assistant.proxies:weather" in result.stdout
    assert "WeatherProxy" in result.stdout
    assert "current" in result.stdout
    assert "Current conditions for a city." in result.stdout


def test_show_tactic(project: Path, home: Path) -> None:
    result = run(["show", "tactics:answer"], project, home)
    assert_ok(result)
    assert "acme_assistant.tactics:answer" in result.stdout
    assert "tactic" in result.stdout
    assert "AnswerTactic" in result.stdout


def test_show_unknown_key_suggests_close_match(project: Path, home: Path) -> None:
    line = assert_one_line_error(run(["show", "chat/answr"], project, home))
    assert "chat/answr" in line
    assert "chat/answer" in line.replace("chat/answr", "")


def test_show_resource_that_fails_to_load_is_a_one_line_error(
    broken_package: Path, home: Path
) -> None:
    # The YAML parser's message spans several lines; the CLI must still print one error line.
    result = run(
        ["show", "--project", str(broken_package), "broken_pkg.configs:invalid"],
        broken_package.parent,
        home,
    )
    line = assert_one_line_error(result)
    assert "invalid" in line


# ----------------------------------------------------------------------------- check


def test_check_clean_example_passes(project: Path, home: Path) -> None:
    result = run(["check"], project, home)
    assert_ok(result)


def test_check_reports_every_problem(broken_package: Path, home: Path) -> None:
    result = run(["check", str(broken_package)], broken_package.parent, home)
    assert result.returncode == 1, describe(result)
    assert "Traceback" not in result.stdout + result.stderr
    out = result.stdout
    assert "bad_import.py" in out and "lllm_no_such_module_for_tests" in out  # failing import
    assert "twin.yaml" in out and "twin.yml" in out  # key collision
    assert "no_such_dependency" in out  # missing dependency
    assert "invalid.yaml" in out or "broken_pkg.configs:invalid" in out  # invalid YAML


def test_check_broken_manifest_names_file_and_line(tmp_path: Path, home: Path) -> None:
    package = write_tree(
        tmp_path / "bad_manifest",
        {
            "lllm.toml": '[package]\nname = "bad_manifest"\nversion = 1.0.0\n',
            "prompts/hello.md": "Hello\n",
        },
    )
    result = run(["check"], package, home)
    assert result.returncode == 1, describe(result)
    assert "Traceback" not in result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert "lllm.toml" in out
    assert re.search(r"line\D{0,3}3\b", out), out


def test_check_reports_config_with_unresolvable_base(tmp_path: Path, home: Path) -> None:
    # `lllm show` fails on this config (its base does not exist), so `lllm check` must flag it.
    package = write_tree(
        tmp_path / "orphan",
        {
            "lllm.toml": '[package]\nname = "orphan"\n',
            "configs/child.yaml": "base: no_such_parent\nx: 1\n",
        },
    )
    result = run(["check"], package, home)
    assert result.returncode == 1, describe(result)
    assert "Traceback" not in result.stdout + result.stderr
    assert "no_such_parent" in result.stdout


# ----------------------------------------------------------------------------- plugins


def test_plugins_json_lists_builtins(tmp_path: Path, home: Path) -> None:
    result = run(["plugins", "--json"], tmp_path, home, third_party_plugins=True)
    assert_ok(result)
    data = json.loads(result.stdout)
    records = data["plugins"] if isinstance(data, dict) else data
    by_name = {r["name"]: r for r in records}
    for name, (section, resource_type) in BUILTIN_PLUGINS.items():
        record = by_name[name]
        assert record["distribution"] == "lllm"
        assert record["version"] == lllm.__version__
        assert record["status"] == "loaded"
        assert [(s["name"], s["resource_type"]) for s in record["sections"]] == [
            (section, resource_type)
        ]


def test_plugins_table_shows_builtins_and_a_broken_plugin(tmp_path: Path, home: Path) -> None:
    site = write_tree(
        tmp_path / "site",
        {
            "lllm_broken_test_plugin-4.5.6.dist-info/METADATA": (
                "Metadata-Version: 2.1\nName: lllm-broken-test-plugin\nVersion: 4.5.6\n"
            ),
            "lllm_broken_test_plugin-4.5.6.dist-info/entry_points.txt": (
                "[lllm.plugins]\nbrokentest = lllm_broken_test_plugin_mod\n"
            ),
            "lllm_broken_test_plugin_mod.py": 'raise ImportError("needs libfrobnicate, which is missing")\n',
        },
    )
    result = run(["plugins"], tmp_path, home, third_party_plugins=True, PYTHONPATH=str(site))
    assert_ok(result)  # a broken (not conflicting) plugin does not fail the command
    rows = {
        row["PLUGIN"]: row
        for row in table(result.stdout, ("PLUGIN", "DISTRIBUTION", "VERSION", "SECTIONS", "STATUS"))
    }
    for name, (section, _) in BUILTIN_PLUGINS.items():
        assert rows[name]["DISTRIBUTION"] == "lllm"
        assert rows[name]["VERSION"] == lllm.__version__
        assert section in rows[name]["SECTIONS"]
        assert rows[name]["STATUS"] == "loaded"
    broken_line = next(line for line in result.stdout.splitlines() if line.startswith("brokentest"))
    assert "lllm-broken-test-plugin" in broken_line or "lllm_broken_test_plugin" in broken_line
    assert "4.5.6" in broken_line
    assert "broken" in rows["brokentest"]["STATUS"]
    assert "needs libfrobnicate, which is missing" in broken_line


# ----------------------------------------------------------------------------- pkg


def test_pkg_list_on_empty_home(tmp_path: Path, home: Path) -> None:
    result = run(["pkg", "list"], tmp_path, home)
    assert_ok(result)
    assert result.stdout.strip() == "No packages installed."


def test_pkg_export(exported: dict) -> None:
    plain, bundled = exported["plain"], exported["bundled"]
    assert_ok(plain)
    assert plain.stdout.startswith("Exported"), describe(plain)
    assert "bundled" not in plain.stdout
    assert exported["plain_zip"].is_file()
    with zipfile.ZipFile(exported["plain_zip"]) as zf:
        names = zf.namelist()
    assert "acme_assistant/lllm.toml" in names
    assert not any("/lllm_packages/" in n for n in names)

    assert_ok(bundled)
    assert bundled.stdout.startswith("Exported"), describe(bundled)
    assert "bundled" in bundled.stdout
    with zipfile.ZipFile(exported["bundled_zip"]) as zf:
        names = zf.namelist()
    assert any(n.endswith("common_prompts/prompts/greeting.md") for n in names), names


def test_pkg_export_twice_to_the_same_path_is_reproducible(tmp_path: Path, home: Path) -> None:
    # The output lies inside the package folder: the second export must not pack the first zip.
    project_dir = copy_examples(tmp_path / "ws") / "acme_assistant"
    assert_ok(run(["pkg", "export", "acme_assistant", "out/acme-v1.2"], project_dir, home))
    first = (project_dir / "out" / "acme-v1.2.zip").read_bytes()
    assert_ok(run(["pkg", "export", "acme_assistant", "out/acme-v1.2"], project_dir, home))
    target = project_dir / "out" / "acme-v1.2.zip"
    with zipfile.ZipFile(target) as zf:
        names = zf.namelist()
    assert not any(n.endswith("out/acme-v1.2.zip") for n in names), names
    assert target.read_bytes() == first


def test_pkg_install_list_remove_lifecycle(exported: dict, tmp_path: Path, home: Path) -> None:
    project_dir = copy_examples(tmp_path / "ws") / "acme_assistant"
    plain_zip = str(exported["plain_zip"])

    installed = run(["pkg", "install", plain_zip], project_dir, home)
    assert_ok(installed)
    assert installed.stdout.startswith("Installed"), describe(installed)
    assert (home / "packages" / "acme_assistant" / "lllm.toml").is_file()

    again = run(["pkg", "install", plain_zip], project_dir, home)
    line = assert_one_line_error(again)
    assert "already installed" in line or "exists" in line

    alias = run(["pkg", "install", plain_zip, "--alias", "acme2", "--no-load"], project_dir, home)
    assert_ok(alias)
    assert alias.stdout.startswith("Installed")
    assert (home / "packages" / "acme2" / "lllm.toml").is_file()

    in_project = run(
        ["pkg", "install", plain_zip, "--alias", "acme3", "--scope", "project", "--no-load"],
        project_dir,
        home,
    )
    assert_ok(in_project)
    assert in_project.stdout.startswith("Installed")
    assert (project_dir / "lllm_packages" / "acme3" / "lllm.toml").is_file()
    assert not (home / "packages" / "acme3").exists()

    listing = run(["pkg", "list"], project_dir, home)
    assert_ok(listing)
    rows = {row["NAME"]: row for row in table(listing.stdout, ("NAME", "VERSION", "SCOPE", "PATH"))}
    assert {"acme_assistant", "acme2", "acme3"} <= set(rows)
    assert rows["acme_assistant"]["VERSION"] == "1.0.0"
    assert rows["acme_assistant"]["SCOPE"] == "user"
    assert rows["acme2"]["SCOPE"] == "user"
    assert rows["acme3"]["SCOPE"] == "project"
    assert Path(rows["acme2"]["PATH"]).resolve() == (home / "packages" / "acme2").resolve()
    assert (
        Path(rows["acme3"]["PATH"]).resolve() == (project_dir / "lllm_packages" / "acme3").resolve()
    )

    user_only = run(["pkg", "list", "--scope", "user"], project_dir, home)
    assert_ok(user_only)
    user_rows = {
        row["NAME"]: row for row in table(user_only.stdout, ("NAME", "VERSION", "SCOPE", "PATH"))
    }
    assert set(user_rows) == {"acme_assistant", "acme2"}

    removed = run(["pkg", "remove", "acme2"], project_dir, home)
    assert_ok(removed)
    assert removed.stdout.startswith("Removed")
    assert not (home / "packages" / "acme2").exists()
    assert (home / "packages" / "acme_assistant").is_dir()

    unknown = run(["pkg", "remove", "no_such_package"], project_dir, home)
    assert "no_such_package" in assert_one_line_error(unknown)


def test_pkg_install_non_zip_is_a_one_line_error(tmp_path: Path, home: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_text("this is not a zip archive\n")
    line = assert_one_line_error(run(["pkg", "install", str(fake)], tmp_path, home))
    assert "fake.zip" in line
    assert not (home / "packages").exists() or not any((home / "packages").iterdir())


def test_pkg_install_zip_written_with_zipfile_writestr(tmp_path: Path, home: Path) -> None:
    # ZipFile.writestr(name, data) stores permission bits without a file-type bit (0o600);
    # such an entry is an ordinary file, not a "special file".
    archive = tmp_path / "mini.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("mini/lllm.toml", '[package]\nname = "mini"\nversion = "0.0.1"\n')
        zf.writestr("mini/prompts/hi.md", "Hi {who}!\n")
    result = run(["pkg", "install", str(archive)], tmp_path, home)
    assert_ok(result)
    assert result.stdout.startswith("Installed")
    assert (home / "packages" / "mini" / "prompts" / "hi.md").read_text() == "Hi {who}!\n"


def test_bundled_install_makes_package_and_dependency_importable(
    exported: dict, tmp_path: Path, home: Path
) -> None:
    installed = run(["pkg", "install", str(exported["bundled_zip"])], tmp_path, home)
    assert_ok(installed)
    assert installed.stdout.startswith("Installed")

    fresh = tmp_path / "fresh_folder"
    fresh.mkdir()
    code = textwrap.dedent("""\
        import json
        import lllm
        runtime = lllm.get_default_runtime()
        print(json.dumps({
            "package": runtime.has("acme_assistant.prompts:chat/answer"),
            "dependency": runtime.has("common.prompts:greeting") or runtime.has("common_prompts.prompts:greeting"),
        }))
    """)
    probe = subprocess.run(
        [sys.executable, "-c", code],
        cwd=fresh,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, describe(probe)
    assert json.loads(probe.stdout.strip().splitlines()[-1]) == {
        "package": True,
        "dependency": True,
    }


def test_pkg_commands_work_in_a_broken_project(exported: dict, tmp_path: Path, home: Path) -> None:
    broken = write_tree(
        tmp_path / "broken_project",
        {
            "lllm.toml": '[package]\nname = "broken_project"\nversion = \n',
            "prompts/x.md": "x\n",
        },
    )
    listing = run(["pkg", "list"], broken, home)
    assert_ok(listing)
    assert listing.stdout.strip() == "No packages installed."

    installed = run(["pkg", "install", str(exported["plain_zip"]), "--no-load"], broken, home)
    assert_ok(installed)
    assert installed.stdout.startswith("Installed")
    assert (home / "packages" / "acme_assistant" / "lllm.toml").is_file()


# ----------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    "args",
    [
        ["pkg"],
        ["pkg", "bogus"],
        ["pkg", "install"],
        ["ls", "--type"],
        ["pkg", "install", "x.zip", "--scope", "global"],
    ],
    ids=["pkg", "pkg-bogus", "pkg-install-no-zip", "ls-type-no-value", "pkg-install-bad-scope"],
)
def test_usage_errors_exit_2(args: list[str], tmp_path: Path, home: Path) -> None:
    assert_usage_error(run(args, tmp_path, home))


def test_ls_honours_lllm_config_outside_any_project(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "prompts").mkdir(parents=True)
    (project / "lllm.toml").write_text('[package]\nname = "cfgproj"\n')
    (project / "prompts" / "hi.md").write_text("Hi")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env.update(
        {
            "LLLM_HOME": str(tmp_path / "home"),
            "LLLM_CONFIG": str(project),
            "LLLM_PLUGINS_AUTOLOAD": "0",
        }
    )
    result = subprocess.run(
        [*LLLM, "ls"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "cfgproj.prompts:hi" in result.stdout


# ----------------------------------------------------------------------- lllm cache


def test_cache_info_and_clear(project: Path, tmp_path: Path, home: Path) -> None:
    cache = tmp_path / "cache"
    assert_ok(run(["ls"], project, home, LLLM_CACHE_DIR=str(cache)))
    result = run(["cache", "info", "--json"], tmp_path, home, LLLM_CACHE_DIR=str(cache))
    assert_ok(result)
    info = json.loads(result.stdout)
    assert info["directory"] == str(cache) and info["enabled"] is True
    assert info["files"] == len(list(cache.glob("*.idx"))) >= 3 and info["bytes"] > 0
    manifests = {Path(p["manifest"]).parent.name for p in info["packages"]}
    assert manifests == {"acme_assistant", "common_prompts"} and all(
        p["exists"] for p in info["packages"]
    )
    assert (
        len(info["environments"]) == 1
        and info["environments"][0]["python"] == sys.version.split()[0]
    )
    table_output = run(
        ["cache", "info"], tmp_path, home, LLLM_CACHE_DIR=str(cache), LLLM_NO_CACHE="1"
    )
    assert_ok(table_output)
    assert (
        f"folder:       {cache}" in table_output.stdout
        and "cache:        off (LLLM_NO_CACHE)" in table_output.stdout
    )
    cleared = run(["cache", "clear"], tmp_path, home, LLLM_CACHE_DIR=str(cache))
    assert_ok(cleared)
    assert cleared.stdout.strip() == f"Removed {info['files']} file(s) from {cache}"
    assert list(cache.glob("*.idx")) == []


def test_check_reports_what_a_warm_start_would_hide(tmp_path: Path, home: Path) -> None:
    # A module that reads an environment variable at import: an input no cache can see.
    package = write_tree(
        tmp_path / "moody",
        {
            "lllm.toml": '[package]\nname = "moody"\n',
            "prompts/mood.py": "import os\nfrom lllm import Prompt\np = Prompt(path=os.environ.get('MOOD', 'calm'), prompt='x')\n",
        },
    )
    settle(package)
    cache = str(tmp_path / "cache")
    assert_ok(run(["ls"], package, home, LLLM_CACHE_DIR=cache))  # cached with MOOD unset: mood/calm
    stale = run(["check"], package, home, LLLM_CACHE_DIR=cache, MOOD="angry")
    assert stale.returncode == 1, describe(stale)
    problems = [line for line in stale.stdout.splitlines() if line.startswith("cache: ")]
    assert any(
        "moody.prompts:mood/angry" in p and "missing from the index cache" in p for p in problems
    ), describe(stale)
    assert any("moody.prompts:mood/calm" in p and "no longer exists" in p for p in problems), (
        describe(stale)
    )
    # The stale index file was removed: the next start, and the next check, agree.
    listed = run(["ls"], package, home, LLLM_CACHE_DIR=cache, MOOD="angry")
    assert "moody.prompts:mood/angry" in listed.stdout, describe(listed)
    assert_ok(run(["check"], package, home, LLLM_CACHE_DIR=cache, MOOD="angry"))


def test_python_dash_m_lllm_is_the_command(project: Path, home: Path) -> None:
    env = _env(home)
    env.pop("LLLM_AUTO_INIT", None)
    result = subprocess.run(
        [sys.executable, "-m", "lllm", "ls"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_ok(result)
    assert "acme_assistant.prompts:chat/answer" in result.stdout
    version = subprocess.run(
        [sys.executable, "-m", "lllm", "--version"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert version.stdout.strip() == f"lllm {lllm.__version__}"
    # Like the `lllm` script, it does not auto-load the project around it before the command runs.
    broken = project.parent / "broken-here"
    broken.mkdir(exist_ok=True)
    (broken / "lllm.toml").write_text("[package\n")
    listed = subprocess.run(
        [sys.executable, "-m", "lllm", "pkg", "list"],
        cwd=broken,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_ok(listed)
    assert "automatic loading failed" not in listed.stderr


# ------------------------------------------------------------- errors and warnings


def test_every_error_and_warning_of_lllm_has_one_base() -> None:
    from lllm._archive import ArchiveError
    from lllm._loader import PackageProblemsError
    from lllm._manifest import ManifestError, ManifestWarning
    from lllm._plugin_manager import PluginConflictError, PluginError, PluginWarning
    from lllm.core.errors import (
        ConfigError,
        InvalidKeyError,
        LllmError,
        LllmWarning,
        LoadWarning,
        PackageError,
        PackageNotLoadedError,
        RuntimeNotFoundError,
    )
    from lllm.core.prompt import ParseError

    errors = [
        ArchiveError,
        ConfigError,
        InvalidKeyError,
        PackageError,
        PackageNotLoadedError,
        RuntimeNotFoundError,
        ParseError,
        PackageProblemsError,
        ManifestError,
        PluginError,
        PluginConflictError,
        lllm.ResourceNotFoundError,
        lllm.ResourceTypeError,
        lllm.ResourceLoadError,
    ]
    assert all(issubclass(error, LllmError) for error in errors)
    # ... keeping the built-in classes they always had
    assert issubclass(lllm.ResourceNotFoundError, KeyError) and issubclass(
        ManifestError, ValueError
    )
    assert all(
        issubclass(w, LllmWarning) and issubclass(w, RuntimeWarning)
        for w in (ManifestWarning, PluginWarning, LoadWarning)
    )
    with pytest.raises(InvalidKeyError):
        lllm.load_resource("no-colon", runtime=lllm.Runtime())
    with pytest.raises(RuntimeNotFoundError):
        lllm.get_runtime("no-such-runtime")


def test_a_bug_keeps_its_traceback_and_the_warning_display_is_put_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import warnings

    import lllm._cli

    def broken(args: object) -> int:
        raise TypeError("a real bug")

    monkeypatch.setattr(lllm._cli, "cmd_cache_info", broken)
    before = warnings.showwarning
    with pytest.raises(TypeError, match="a real bug"):
        lllm._cli.main(["cache", "info"])
    assert warnings.showwarning is before
    monkeypatch.setenv("LLLM_CACHE_DIR", str(tmp_path / "cache"))
    errors = sys.stdout.errors
    assert lllm._cli.main(["cache", "clear"]) == 0
    assert warnings.showwarning is before and sys.stdout.errors == errors


def test_check_ignores_unrelated_warnings_and_warnings_have_one_prefix(
    tmp_path: Path, home: Path
) -> None:
    package = write_tree(
        tmp_path / "pkg",
        {
            "lllm.toml": '[package]\nname = "pkg"\n',
            "prompts/old.py": "import warnings\nfrom lllm import Prompt\nwarnings.warn('an old API', DeprecationWarning)\np = Prompt(path='p', prompt='P')\n",
        },
    )
    assert_ok(run(["check"], package, home))
    write_tree(package, {"prompts/bad.py": "raise RuntimeError('boom')\n"})
    listed = run(["ls"], package, home)
    assert "lllm: warning: " in listed.stderr and "lllm: warning: lllm:" not in listed.stderr, (
        listed.stderr
    )


def test_check_calls_a_section_conflict_a_plugin_problem(tmp_path: Path, home: Path) -> None:
    plugin = (
        "from lllm.plugin import SectionSpec, hookimpl\n@hookimpl\ndef lllm_sections():\n"
        "    return [SectionSpec(name='notes', resource_type='note', discover=discover)]\ndef discover(folder):\n    return []\n"
    )
    site = write_tree(
        tmp_path / "site",
        {
            "one.py": plugin,
            "two.py": plugin,
            "one-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: one\nVersion: 1.0\n",
            "one-1.0.dist-info/entry_points.txt": "[lllm.plugins]\none = one\n",
            "two-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: two\nVersion: 1.0\n",
            "two-1.0.dist-info/entry_points.txt": "[lllm.plugins]\ntwo = two\n",
        },
    )
    package = write_tree(tmp_path / "pkg", {"lllm.toml": '[package]\nname = "pkg"\n'})
    result = run(["check"], package, home, third_party_plugins=True, PYTHONPATH=str(site))
    assert (
        result.returncode == 1
        and "plugin: Section 'notes' is claimed by two plugins" in result.stdout
    ), describe(result)


def test_show_resolves_keys_by_the_rule_of_runtime_get(project: Path, home: Path) -> None:
    """One rule: ``lllm show KEY`` finds what ``runtime.get(KEY)`` finds, and fails where it
    fails (a bare key of a type outside prompts, proxies, tactics and configs)."""
    import lllm

    runtime = lllm.Runtime()
    lllm.load_package(project, runtime=runtime)
    assert runtime.get_node("assets:faq.json").qualified_key == "acme_assistant.assets:faq.json"
    with pytest.raises(lllm.ResourceNotFoundError) as info:
        runtime.get("faq.json")
    assert_ok(run(["show", "assets:faq.json"], project, home))
    line = assert_one_line_error(run(["show", "faq.json"], project, home))
    assert str(info.value) in line


def test_show_falls_back_to_its_own_display_when_a_describe_hook_raises(
    tmp_path: Path, home: Path
) -> None:
    plugin = (
        "from lllm.plugin import hookimpl\n"
        "@hookimpl\ndef lllm_describe(node):\n    raise ValueError('cannot describe')\n"
    )
    site = write_tree(
        tmp_path / "site",
        {
            "shy.py": plugin,
            "shy-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: shy\nVersion: 1.0\n",
            "shy-1.0.dist-info/entry_points.txt": "[lllm.plugins]\nshy = shy\n",
        },
    )
    package = write_tree(
        tmp_path / "pkg", {"lllm.toml": '[package]\nname = "pkg"\n', "prompts/p.md": "Hi {who}"}
    )
    result = run(["show", "p"], package, home, third_party_plugins=True, PYTHONPATH=str(site))
    assert result.returncode == 0, describe(result)
    assert "variables: who" in result.stdout  # lllm show's own display of a prompt
    assert "describing pkg.prompts:p failed: ValueError: cannot describe" in result.stderr


def test_pkg_list_shows_pip_shipped_packages_and_remove_refuses_them(
    tmp_path: Path, home: Path
) -> None:
    site = write_tree(
        tmp_path / "site",
        {
            "acme_prompts/__init__.py": "",
            "acme_prompts/lllm.toml": '[package]\nname = "acme_prompts"\nversion = "2.1"\n',
            "acme-prompts-2.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: acme-prompts\nVersion: 2.1\n",
            "acme-prompts-2.1.dist-info/entry_points.txt": "[lllm.packages]\nacme_prompts = acme_prompts\n",
        },
    )
    listed = run(["pkg", "list"], tmp_path, home, PYTHONPATH=str(site))
    assert_ok(listed)
    row = next(line for line in listed.stdout.splitlines() if line.startswith("acme_prompts"))
    assert "2.1" in row and "pip (acme-prompts)" in row, listed.stdout
    removed = run(["pkg", "remove", "acme_prompts"], tmp_path, home, PYTHONPATH=str(site))
    line = assert_one_line_error(removed)
    assert "pip uninstall acme-prompts" in line
