"""Installed packages stay in their folder, and one bad package never takes the others down.

Each test is a case that once went wrong (issue 12): a hostile zip, a broken shared package,
a package file that ends the host program, link loops, threads racing the first load,
hostile manifests and values.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from pkgtree import write_tree
from plugin_fixtures import clean_env, run_python

import lllm
from lllm._manifest import ManifestError, read_manifest
from lllm.testing import settle

_SCRIPT = shutil.which("lllm", path=os.path.dirname(sys.executable))
LLLM = (
    [_SCRIPT]
    if _SCRIPT
    else [sys.executable, "-c", "import lllm_cli, sys; sys.exit(lllm_cli.main())"]
)

LIST_KEYS = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import lllm
print(json.dumps({"keys": lllm.get_default_runtime().keys(),
                  "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}))
"""


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """A project with one prompt, an empty lllm home and a private cache."""
    project = write_tree(
        tmp_path / "proj", {"lllm.toml": '[package]\nname = "proj"\n', "prompts/hi.md": "Hi"}
    )
    home = tmp_path / "home"
    (home / "packages").mkdir(parents=True)
    return {"project": project, "home": home, "cache": tmp_path / "cache", "root": tmp_path}


def env_of(world: dict[str, Path], site: Path | None = None, **extra: str) -> dict[str, str]:
    return clean_env(world["home"], site, LLLM_CACHE_DIR=str(world["cache"]), **extra)


def start(world: dict[str, Path], site: Path | None = None, **extra: str) -> dict:
    """What ``import lllm`` in the project loads, and the warnings it gives."""
    return run_python(LIST_KEYS, cwd=world["project"], env=env_of(world, site, **extra))


def cli(
    world: dict[str, Path], *args: str, site: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LLLM, *args],
        cwd=world["project"],
        env=env_of(world, site),
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return path


# -------------------------------------------------------------------------- confinement


@pytest.mark.parametrize(
    "manifest,key",
    [
        ('[package]\nname="evil"\n[assets]\npaths=["/etc"]\n', "assets.paths[0]"),
        ('[package]\nname="evil"\n[prompts]\npaths=["VICTIM"]\n', "prompts.paths[0]"),
        ('[package]\nname="evil"\n[prompts]\npaths=["../../../"]\n', "prompts.paths[0]"),
        (
            '[package]\nname="evil"\n[dependencies]\npaths=["../../victim"]\n',
            "dependencies.packages[0]",
        ),
    ],
    ids=[
        "absolute-system-folder",
        "absolute-victim-folder",
        "dot-dot-section",
        "dot-dot-dependency",
    ],
)
def test_an_archive_naming_folders_outside_its_package_is_refused(
    world: dict[str, Path], manifest: str, key: str
) -> None:
    victim = write_tree(
        world["root"] / "victim",
        {
            "deploy.py": f"open({str(world['root'] / 'EXECUTED')!r}, 'w').write('x')\n",
            "lllm.toml": '[package]\nname = "victim"\n',
        },
    )
    archive = make_zip(
        world["root"] / "evil.zip",
        {
            "evil/lllm.toml": manifest.replace("VICTIM", str(victim)).replace(
                'paths=["../../victim"]', 'packages=["../../victim"]'
            ),
            "evil/prompts/x.md": "x",
        },
    )
    result = cli(world, "pkg", "install", str(archive))
    assert result.returncode == 1, result.stderr
    assert key in result.stderr and "outside the package folder" in result.stderr, result.stderr
    assert list((world["home"] / "packages").iterdir()) == []  # nothing written
    assert not (world["root"] / "EXECUTED").exists()


def test_an_installed_package_naming_folders_outside_is_skipped_at_load(
    world: dict[str, Path],
) -> None:
    # Put there by hand (or by an older lllm): the load confines it all the same.
    write_tree(
        world["home"] / "packages/evil",
        {"lllm.toml": '[package]\nname="evil"\n[assets]\npaths=["/etc"]\n'},
    )
    write_tree(
        world["home"] / "packages/good",
        {"lllm.toml": '[package]\nname="good"\n', "prompts/g.md": "G"},
    )
    result = start(world)
    assert "proj.prompts:hi" in result["keys"] and "good.prompts:g" in result["keys"]
    assert not any(k.startswith("evil.") for k in result["keys"])
    assert any(
        "evil/lllm.toml" in w and "assets.paths[0]" in w and "/etc" in w for w in result["warnings"]
    ), result


def test_links_leading_outside_an_installed_package_are_skipped(world: dict[str, Path]) -> None:
    outside = write_tree(world["root"] / "secrets", {"token.md": "SECRET"})
    package = write_tree(
        world["home"] / "packages/linky",
        {"lllm.toml": '[package]\nname="linky"\n', "prompts/ok.md": "OK"},
    )
    (package / "prompts/leak").symlink_to(outside, target_is_directory=True)
    (package / "prompts/file.md").symlink_to(outside / "token.md")
    (package / "assets").symlink_to(
        outside, target_is_directory=True
    )  # a default folder that is a link
    for _ in range(2):  # cold, then from the index cache
        result = start(world)
        assert "linky.prompts:ok" in result["keys"]
        assert not any(
            "leak" in k or k.startswith("linky.prompts:file") or k.startswith("linky.assets")
            for k in result["keys"]
        )
        assert sum("outside the package folder" in w for w in result["warnings"]) == 3, result[
            "warnings"
        ]


def test_a_projects_own_manifest_keeps_paths_outside(world: dict[str, Path]) -> None:
    shared = write_tree(world["root"] / "shared", {"s.md": "S"})
    (world["project"] / "lllm.toml").write_text(
        f'[package]\nname = "proj"\n[prompts]\npaths = ["prompts", "../shared", "{shared}"]\n'
    )
    result = start(world)
    assert "proj.prompts:s" in result["keys"] and "proj.prompts:hi" in result["keys"]


def test_a_bundled_dependency_is_confined_too(world: dict[str, Path]) -> None:
    write_tree(
        world["home"] / "packages/app",
        {
            "lllm.toml": '[package]\nname="app"\n[dependencies]\npackages=["lllm_packages/dep", "../sibling"]\n',
            "lllm_packages/dep/lllm.toml": '[package]\nname="dep"\n[prompts]\npaths=["/etc"]\n',
        },
    )
    write_tree(
        world["home"] / "packages/sibling",
        {"lllm.toml": '[package]\nname="sibling"\n', "prompts/s.md": "S"},
    )
    result = start(world)
    assert "sibling.prompts:s" in result["keys"]  # a package beside it may be a dependency
    assert not any(k.startswith("dep.") for k in result["keys"])
    assert any("dep/lllm.toml" in w and "prompts.paths[0]" in w for w in result["warnings"]), result


def test_a_pip_shipped_package_is_confined(world: dict[str, Path]) -> None:
    site = write_tree(
        world["root"] / "site",
        {
            "shipped/__init__.py": "",
            "shipped/lllm.toml": '[package]\nname="shipped"\n[assets]\npaths=["/etc"]\n',
            "shipping-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: shipping\nVersion: 1.0\n",
            "shipping-1.0.dist-info/entry_points.txt": "[lllm.packages]\nshipped = shipped\n",
        },
    )
    result = start(world, site)
    assert result["keys"] == ["proj.prompts:hi"]
    assert any("shipping" in w and "assets.paths[0]" in w for w in result["warnings"]), result


def test_install_and_export_run_no_package_code(world: dict[str, Path]) -> None:
    marker = world["root"] / "RAN"
    code = f"from lllm import Prompt\nopen({str(marker)!r}, 'a').write('ran')\np = Prompt(path='p', prompt='P')\n"
    archive = make_zip(
        world["root"] / "pkg.zip",
        {"pkg/lllm.toml": '[package]\nname="pkg"\n', "pkg/prompts/code.py": code},
    )
    installed = cli(world, "pkg", "install", str(archive))
    assert installed.returncode == 0, installed.stderr
    assert not marker.exists()
    write_tree(world["project"], {"prompts/own.py": code})
    exported = cli(world, "pkg", "export", "pkg", str(world["root"] / "out.zip"))
    assert exported.returncode == 0, exported.stderr
    exported = cli(world, "pkg", "export", "proj", str(world["root"] / "proj.zip"))
    assert exported.returncode == 0, exported.stderr
    assert not marker.exists()
    assert (
        "pkg.prompts:code/p" in start(world)["keys"] and marker.exists()
    )  # code runs when a project loads it


@pytest.mark.parametrize(
    "manifest_name,alias",
    [("_secretpkg", None), ("fine", "_hidden")],
    ids=["manifest-name", "alias"],
)
def test_a_name_lllm_never_loads_is_refused_at_install(
    world: dict[str, Path], manifest_name: str, alias: str | None
) -> None:
    archive = make_zip(
        world["root"] / "p.zip", {"p/lllm.toml": f'[package]\nname="{manifest_name}"\n'}
    )
    result = cli(world, "pkg", "install", str(archive), *(["--alias", alias] if alias else []))
    assert result.returncode == 1 and "would never load" in result.stderr, result.stderr
    assert list((world["home"] / "packages").iterdir()) == []
    again = cli(world, "pkg", "install", str(archive), *(["--alias", alias] if alias else []))
    assert "already installed" not in again.stderr


def test_a_file_name_that_cannot_be_a_key_is_refused_at_install(
    world: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLLM_HOME", str(world["home"]))
    archive = make_zip(
        world["root"] / "p.zip", {"p/lllm.toml": '[package]\nname="p"\n', "p/prompts/a:b.md": "x"}
    )
    with pytest.raises(lllm.ArchiveError, match="':' cannot appear"):
        lllm.install_package(archive, load=False)
    assert list((world["home"] / "packages").iterdir()) == []


# ------------------------------------------------------------ one bad package, not all


@pytest.mark.parametrize(
    "files,needle",
    [
        ({"packages/broken/lllm.toml": "[package\nname = 'x'\n"}, "broken/lllm.toml"),
        ({"packages/dotted/lllm.toml": '[package]\nname = "acme.finance"\n'}, "acme.finance"),
        ({"packages/deep/lllm.toml": "a = " + "[" * 2000 + "]" * 2000 + "\n"}, "nested too deeply"),
    ],
    ids=["broken-toml", "name-with-a-dot", "deeply-nested-toml"],
)
def test_a_broken_user_package_is_skipped_and_named(
    world: dict[str, Path], files: dict[str, str], needle: str
) -> None:
    write_tree(world["home"], files)
    write_tree(
        world["home"] / "packages/good",
        {"lllm.toml": '[package]\nname="good"\n', "prompts/g.md": "G"},
    )
    result = start(world)
    assert set(result["keys"]) == {"proj.prompts:hi", "good.prompts:g"}
    assert any(needle in w and "was skipped" in w for w in result["warnings"]), result["warnings"]
    listed = cli(world, "ls")
    assert listed.returncode == 0 and "proj.prompts:hi" in listed.stdout, listed.stderr
    checked = cli(world, "check")
    assert checked.returncode == 1 and needle in checked.stdout, checked.stdout


def test_a_pip_entry_point_without_a_manifest_is_skipped_and_named(world: dict[str, Path]) -> None:
    site = write_tree(
        world["root"] / "site",
        {
            "nomanifest/__init__.py": "",
            "shipping-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: shipping\nVersion: 1.0\n",
            "shipping-1.0.dist-info/entry_points.txt": "[lllm.packages]\nbare = nomanifest\n",
        },
    )
    result = start(world, site)
    assert result["keys"] == ["proj.prompts:hi"]
    assert any(
        "'bare'" in w and "shipping" in w and "lllm.toml" in w for w in result["warnings"]
    ), result["warnings"]


def test_a_configs_tree_1100_folders_deep_loads(world: dict[str, Path]) -> None:
    chain = [str(world["project"] / "configs")]
    for _ in range(1100):  # one level at a time: makedirs (and rmtree) recurse
        chain.append(os.path.join(chain[-1], "d"))
    for folder in chain:
        os.mkdir(folder)
    with open(os.path.join(chain[-1], "x.yaml"), "w") as f:
        f.write("a: 1\n")
    try:
        result = start(world)
        assert "proj.configs:" + "/".join(["d"] * 1100) + "/x" in result["keys"], result["warnings"]
    finally:  # pytest's own clean-up of old temporary folders would recurse too deeply
        os.remove(os.path.join(chain[-1], "x.yaml"))
        for folder in reversed(chain):
            os.rmdir(folder)


@pytest.mark.parametrize(
    "code",
    [
        "import sys\nsys.exit(3)\n",
        "import argparse\nparser = argparse.ArgumentParser()\nparser.add_argument('--must', required=True)\nparser.parse_args()\n",
    ],
    ids=["sys-exit", "argparse"],
)
def test_a_package_file_that_exits_is_a_load_problem(world: dict[str, Path], code: str) -> None:
    write_tree(world["project"], {"prompts/bad.py": code})
    script = LIST_KEYS + "print('STILL RUNNING')\n"
    for _ in range(2):  # discovered, then lazily from the index cache
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=world["project"],
            env=env_of(world),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0 and "STILL RUNNING" in result.stdout, result.stderr
        assert "bad.py" in result.stdout and "SystemExit" in result.stdout


def test_a_lazy_python_resource_whose_file_exits_raises_a_load_error(tmp_path: Path) -> None:
    package = write_tree(
        tmp_path / "pkg", {"lllm.toml": '[package]\nname="pkg"\n', "prompts/p.py": "x = 1\n"}
    )
    node = lllm.ResourceNode(
        "k",
        "pkg.prompts",
        "prompt",
        {"file_path": str(package / "prompts/p.py")},
        _loader=("lllm.python", str(package / "prompts/p.py"), str(package), "x"),
    )
    (package / "prompts/p.py").write_text("import sys\nsys.exit(3)\n")
    with pytest.raises(lllm.ResourceLoadError, match="SystemExit"):
        _ = node.value


def test_link_loops_are_walked_once(world: dict[str, Path]) -> None:
    prompts = world["project"] / "prompts"
    write_tree(prompts, {"sub/ok.md": "OK"})
    (prompts / "loop").symlink_to(".", target_is_directory=True)
    (prompts / "sub/back").symlink_to("..", target_is_directory=True)
    for _ in range(2):  # cold, then through the index cache
        result = start(world)
        assert sorted(result["keys"]) == ["proj.prompts:hi", "proj.prompts:sub/ok"]
        assert sum("already walked" in w for w in result["warnings"]) == 2, result["warnings"]


def test_a_root_file_named_like_a_section_does_not_run_and_both_layouts_load(
    world: dict[str, Path],
) -> None:
    marker = world["root"] / "RAN"
    write_tree(
        world["project"],
        {
            "proxies.py": f"open({str(marker)!r}, 'w').write('x')\nraise RuntimeError('must not run')\n",
            "proxies/weather.py": "from lllm import BaseProxy\nclass Weather(BaseProxy):\n    _proxy_path = 'weather'\n",
            "prompts/chat.py": "from lllm import Prompt\nfrom .names import NAME\nanswer = Prompt(path='answer', prompt=NAME)\n",
            "prompts/names.py": "NAME = 'Ada'\n",
            "prompts/chat/formal.py": "from lllm import Prompt\nformal = Prompt(path='formal', prompt='Dear')\n",
        },
    )
    for _ in range(2):
        result = start(world)
        assert {
            "proj.proxies:weather",
            "proj.prompts:chat/answer",
            "proj.prompts:chat/formal/formal",
        } <= set(result["keys"]), result
        assert not marker.exists()


# ------------------------------------------------------------- threads and process state


def test_forty_threads_loading_for_the_first_time(tmp_path: Path) -> None:
    for i in range(40):
        write_tree(
            tmp_path / f"pkg{i}",
            {
                "lllm.toml": f'[package]\nname = "pkg{i}"\n',
                "prompts/p.py": f"from lllm import Prompt\np = Prompt(path='p', prompt='{i}')\n",
                "prompts/m.md": "M",
                "bad/lllm.toml": "broken",
            },
        )
        (tmp_path / f"pkg{i}/lllm.toml").write_text(
            f'[package]\nname = "pkg{i}"\n[prompts]\nfolder = "x"\n'
        )
    code = f"""
import json, sys, threading, warnings
import lllm
before_filters, before_bytecode = list(warnings.filters), sys.dont_write_bytecode
errors, keys = [], []
barrier = threading.Barrier(40)
def work(i):
    barrier.wait()
    try:
        rt = lllm.Runtime()
        lllm.load_package({str(tmp_path)!r} + f"/pkg{{i}}", runtime=rt)
        keys.append(sorted(rt.keys()))
    except Exception as exc:
        errors.append(f"{{type(exc).__name__}}: {{exc}}")
threads = [threading.Thread(target=work, args=(i,)) for i in range(40)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps({{"errors": errors, "keys": len(keys), "same_filters": warnings.filters == before_filters,
                   "bytecode": sys.dont_write_bytecode == before_bytecode, "sizes": sorted({{len(k) for k in keys}})}}))
"""
    for _ in range(3):
        env = clean_env(
            tmp_path / "home", LLLM_CACHE_DIR=str(tmp_path / "cache"), LLLM_AUTO_INIT="0"
        )
        result = run_python(code, cwd=tmp_path, env=env)
        assert result == {
            "errors": [],
            "keys": 40,
            "same_filters": True,
            "bytecode": True,
            "sizes": [2],
        }


def test_loading_leaves_warning_filters_alone(tmp_path: Path) -> None:
    package = write_tree(
        tmp_path / "pkg",
        {"lllm.toml": '[package]\nname="pkg"\n[prompts]\nfolder="x"\n', "prompts/a.md": "A"},
    )
    before = list(__import__("warnings").filters)
    with pytest.warns(lllm._manifest.ManifestWarning):
        lllm.load_package(package, runtime=lllm.Runtime())
    with pytest.raises(lllm.PackageProblemsError):
        lllm.load_package(package, runtime=lllm.Runtime(), strict=True)
    assert __import__("warnings").filters == before


# ------------------------------------------------------------------------ hostile input


def test_a_deeply_nested_manifest_is_a_manifest_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {"lllm.toml": "a = " + "[" * 5000 + "]" * 5000 + "\n"})
    with pytest.raises(ManifestError, match="nested too deeply") as info:
        read_manifest(tmp_path)
    assert str(tmp_path / "lllm.toml") in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_manifest_that_is_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "lllm.toml")
    started = time.monotonic()
    with pytest.raises(ManifestError, match="not a regular file"):
        read_manifest(tmp_path)
    assert time.monotonic() - started < 30  # it did not wait for a writer (which never comes)


def test_two_concurrent_removes_give_the_loser_the_normal_error(
    world: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from filelock import FileLock

    monkeypatch.setenv("LLLM_HOME", str(world["home"]))
    folder = write_tree(world["home"] / "packages/gone", {"lllm.toml": '[package]\nname="gone"\n'})
    outcome: list[BaseException | None] = []
    with FileLock(world["home"] / "packages/.gone.lllm-lock"):  # the winner holds the lock...
        loser = threading.Thread(
            target=lambda: outcome.append(_try(lambda: lllm.remove_package("gone", scope="user")))
        )
        loser.start()
        time.sleep(0.5)  # ...while the loser, past its first check, waits for it
        shutil.rmtree(folder)  # and removes the package
    loser.join(30)
    assert (
        len(outcome) == 1
        and isinstance(outcome[0], FileNotFoundError)
        and "not installed" in str(outcome[0])
    )


def _try(action) -> BaseException | None:  # type: ignore[no-untyped-def]
    try:
        action()
    except BaseException as exc:  # noqa: BLE001 (the test inspects it)
        return exc
    return None


def test_show_of_a_large_asset_reads_only_a_preview(world: dict[str, Path]) -> None:
    big = world["project"] / "assets/big.bin"
    big.parent.mkdir()
    with open(big, "wb") as f:
        f.write(b"HEADER")
        f.truncate(200 * 1024 * 1024)  # sparse: 200 MB
    result = cli(world, "show", "assets:big.bin")
    assert result.returncode == 0, result.stderr
    assert f"size:    {200 * 1024 * 1024} bytes" in result.stdout and "HEADER" in result.stdout
    assert len(result.stdout) < 10_000


def test_a_yaml_alias_bomb_is_refused(world: dict[str, Path]) -> None:
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)
    ]
    write_tree(
        world["project"],
        {
            "prompts/bomb.md": "---\n" + "\n".join(levels) + "\n---\nbody",
            "configs/bomb.yaml": "\n".join(levels),
        },
    )
    started = time.monotonic()
    for key in ("prompts:bomb", "configs:bomb"):
        result = cli(world, "show", key)
        assert result.returncode == 1 and "alias bomb" in result.stderr, result.stderr
        assert len(result.stdout) < 10_000
    assert time.monotonic() - started < 60
    checked = cli(world, "check")
    assert checked.returncode == 1 and checked.stdout.count("alias bomb") == 2, checked.stdout


def test_warnings_name_the_caller(world: dict[str, Path]) -> None:
    write_tree(world["project"], {"prompts/bad.py": "raise RuntimeError('boom')\n"})
    script = "import warnings\nwarnings.simplefilter('always')\nimport lllm  # line 3\n"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=world["project"],
        env=env_of(world),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "<string>:3: LoadWarning" in result.stderr and "boom" in result.stderr, result.stderr


def test_dotted_folder_and_file_names_load(world: dict[str, Path]) -> None:
    write_tree(
        world["project"],
        {
            "prompts/v1.2/chat.py": "from lllm import Prompt\nfrom .helper import NAME\np = Prompt(path=NAME, prompt='P')\n",
            "prompts/v1.2/helper.py": "NAME = 'dotted'\n",
            "prompts/v2.0.py": "from lllm import Prompt\nq = Prompt(path='q', prompt='Q')\n",
        },
    )
    for _ in range(2):
        result = start(world)
        assert {"proj.prompts:v1.2/chat/dotted", "proj.prompts:v2.0/q"} <= set(result["keys"]), (
            result
        )


# -------------------------------------------------- what a security review of this found


def test_a_linked_bundle_folder_cannot_lead_outside(world: dict[str, Path]) -> None:
    outside = write_tree(
        world["root"] / "outside",
        {"dep/lllm.toml": '[package]\nname="dep"\n', "dep/prompts/o.md": "O"},
    )
    evil = write_tree(
        world["home"] / "packages/evil",
        {"lllm.toml": '[package]\nname="evil"\n[dependencies]\npackages=["../dep"]\n'},
    )
    (evil / "lllm_packages").symlink_to(outside, target_is_directory=True)
    result = start(world)
    assert not any(k.startswith("dep.") for k in result["keys"]), result


def test_a_project_naming_an_installed_package_keeps_it_confined(world: dict[str, Path]) -> None:
    secret = write_tree(world["root"] / "secret", {"key.txt": "SECRET"})
    write_tree(
        world["project"],
        {"lllm_packages/evil/lllm.toml": f'[package]\nname="evil"\n[assets]\npaths=["{secret}"]\n'},
    )
    (world["project"] / "lllm.toml").write_text(
        '[package]\nname = "proj"\n[dependencies]\npackages = ["lllm_packages/evil"]\n'
    )
    result = start(world)
    assert not any(k.startswith("evil.") for k in result["keys"]), result
    assert any("evil/lllm.toml" in w and "assets.paths[0]" in w for w in result["warnings"]), (
        result["warnings"]
    )


def test_a_file_link_pointed_outside_after_a_warm_start_is_refused(world: dict[str, Path]) -> None:
    outside = write_tree(world["root"] / "outside", {"o.md": "OUTSIDE"})
    package = write_tree(
        world["home"] / "packages/pk", {"lllm.toml": '[package]\nname="pk"\n', "real.md": "REAL"}
    )
    (package / "innerf").symlink_to(package / "real.md")
    (package / "prompts").mkdir()
    (package / "prompts/f.md").symlink_to("../innerf")
    settle(package)
    assert "pk.prompts:f" in start(world)["keys"]
    assert "pk.prompts:f" in start(world)["keys"]  # warm
    (package / "innerf").unlink()
    (package / "innerf").symlink_to(outside / "o.md")
    time.sleep(0.06)
    result = start(world)
    assert "pk.prompts:f" not in result["keys"] and any(
        "outside the package folder" in w for w in result["warnings"]
    ), result


def test_nested_bundled_manifests_are_checked_at_install(world: dict[str, Path]) -> None:
    archive = make_zip(
        world["root"] / "nested.zip",
        {
            "evil/lllm.toml": '[package]\nname="evil"\n[dependencies]\npackages=["lllm_packages/b"]\n',
            "evil/lllm_packages/b/lllm.toml": '[package]\nname="b"\n[dependencies]\npackages=["lllm_packages/c"]\n',
            "evil/lllm_packages/b/lllm_packages/c/lllm.toml": '[package]\nname="c"\n[assets]\npaths=["../../../../../../etc"]\n',
        },
    )
    result = cli(world, "pkg", "install", str(archive))
    assert result.returncode == 1 and "c/lllm.toml" in result.stderr, result.stderr
    assert list((world["home"] / "packages").iterdir()) == []


def test_export_of_an_installed_package_bundles_nothing_from_outside(
    world: dict[str, Path],
) -> None:
    private = write_tree(
        world["root"] / "private", {"lllm.toml": '[package]\nname="private"\n', "prompts/p.md": "P"}
    )
    write_tree(
        world["home"] / "packages/evil",
        {"lllm.toml": f'[package]\nname="evil"\n[dependencies]\npackages=["{private}"]\n'},
    )
    result = cli(world, "pkg", "export", "evil", str(world["root"] / "out.zip"), "--bundle-deps")
    assert result.returncode == 1 and "outside the package folder" in result.stderr, result.stderr
    assert not (world["root"] / "out.zip").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_install_record_does_not_hang(world: dict[str, Path]) -> None:
    package = write_tree(
        world["home"] / "packages/pk", {"lllm.toml": '[package]\nname="pk"\n', "prompts/a.md": "A"}
    )
    os.mkfifo(package / ".lllm-install.json")
    assert "pk.prompts:a" in start(world)["keys"]
    assert cli(world, "pkg", "list").returncode == 0


def test_hostile_objects_break_only_their_own_file(world: dict[str, Path]) -> None:
    write_tree(
        world["home"] / "packages/aaa",
        {
            "lllm.toml": '[package]\nname="aaa"\n',
            "tactics/evil.py": "import sys\nfrom lllm import Tactic\nclass S(str):\n    def __len__(self):\n        sys.exit(3)\n"
            "class Evil(Tactic):\n    name = S('e')\n",
        },
    )
    write_tree(
        world["home"] / "packages/zzz",
        {
            "lllm.toml": '[package]\nname="zzz"\n',
            "tactics/good.py": "from lllm import Tactic\nclass Good(Tactic):\n    name = 'good'\n",
        },
    )
    script = LIST_KEYS + "print('STILL RUNNING')\n"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=world["project"],
        env=env_of(world),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "STILL RUNNING" in result.stdout, result.stderr
    assert "zzz.tactics:good" in result.stdout and "evil.py" in result.stdout


def test_a_file_name_that_is_not_utf8_breaks_no_command(world: dict[str, Path]) -> None:
    folder = world["home"] / "packages/pk"
    write_tree(folder, {"lllm.toml": '[package]\nname="pk"\n', "prompts/a.md": "A"})
    with open(os.path.join(os.fsencode(folder / "prompts"), b"b\xff.md"), "w") as f:
        f.write("B")
    env = env_of(world, PYTHONIOENCODING="utf-8")
    listed = subprocess.run(
        [*LLLM, "ls"], cwd=world["project"], env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0 and "pk.prompts:a" in listed.stdout, listed.stderr
    assert "not valid UTF-8" in listed.stderr


def test_a_very_deep_package_installs_and_removes(world: dict[str, Path]) -> None:
    files = {
        "deep/lllm.toml": '[package]\nname="deep"\n',
        "deep/assets/" + "d/" * 1100 + "x.txt": "x",
    }
    archive = make_zip(world["root"] / "deep.zip", files)
    for args in (
        ["pkg", "install", str(archive)],
        ["pkg", "remove", "deep"],
        ["pkg", "install", str(archive)],
        ["pkg", "remove", "deep"],
    ):
        result = cli(world, *args)
        assert result.returncode == 0, result.stderr


def test_yaml_aliases_to_long_strings_are_refused_quickly(world: dict[str, Path]) -> None:
    text = "x" * 10_000
    write_tree(
        world["project"],
        {"configs/big.yaml": f'big: &a "{text}"\nlist: [' + ", ".join(["*a"] * 20_000) + "]\n"},
    )
    started = time.monotonic()
    result = cli(world, "show", "configs:big")
    assert result.returncode == 1 and "alias bomb" in result.stderr, result.stderr
    assert time.monotonic() - started < 30


def test_a_linked_package_in_a_scope_may_depend_on_a_package_beside_it(
    world: dict[str, Path],
) -> None:
    mine = write_tree(
        world["root"] / "dev/mine",
        {
            "lllm.toml": '[package]\nname="mine"\n[dependencies]\npackages=["../styles"]\n',
            "prompts/m.md": "M",
        },
    )
    (world["home"] / "packages/mine").symlink_to(mine, target_is_directory=True)
    write_tree(
        world["home"] / "packages/styles",
        {"lllm.toml": '[package]\nname="styles"\n', "prompts/s.md": "S"},
    )
    result = start(world)
    assert {"mine.prompts:m", "styles.prompts:s"} <= set(result["keys"]), result


def test_an_exported_bundle_with_dependencies_elsewhere_installs_and_loads(
    world: dict[str, Path],
) -> None:
    write_tree(
        world["root"] / "libs/common",
        {"lllm.toml": '[package]\nname="common"\n', "prompts/c.md": "C"},
    )
    app = write_tree(
        world["root"] / "work/app",
        {
            "lllm.toml": '[package]\nname="app"\n[dependencies]\npackages=["../../libs/common"]\n',
            "prompts/a.md": "A",
        },
    )
    exported = subprocess.run(
        [*LLLM, "pkg", "export", "app", str(world["root"] / "app.zip"), "--bundle-deps"],
        cwd=app,
        env=env_of(world),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert exported.returncode == 0, exported.stderr
    installed = cli(world, "pkg", "install", str(world["root"] / "app.zip"))
    assert installed.returncode == 0, installed.stderr
    assert {"app.prompts:a", "common.prompts:c"} <= set(start(world)["keys"])


def test_threads_loading_one_package_into_one_runtime_all_see_it(tmp_path: Path) -> None:
    package = write_tree(
        tmp_path / "p",
        {"lllm.toml": '[package]\nname="p"\n', **{f"prompts/f{i}.md": "x" for i in range(200)}},
    )
    runtime = lllm.Runtime()
    barrier = threading.Barrier(16)
    seen: list[int] = []

    def load() -> None:
        barrier.wait()
        lllm.load_package(package, runtime=runtime)
        seen.append(len(runtime.keys()))

    threads = [threading.Thread(target=load) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [200] * 16


def test_export_runs_no_distribution_code(world: dict[str, Path]) -> None:
    marker = world["root"] / "RAN"
    site = write_tree(
        world["root"] / "site",
        {
            "shipd/__init__.py": f"open({str(marker)!r}, 'a').write('module')\n",
            "shipd/where.py": f"open({str(marker)!r}, 'a').write('where')\ndef folder():\n    return '/nowhere'\n",
            "shipping-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: shipping\nVersion: 1.0\n",
            "shipping-1.0.dist-info/entry_points.txt": "[lllm.packages]\nshipd = shipd.where:folder\n",
        },
    )
    result = cli(world, "pkg", "export", "proj", str(world["root"] / "out.zip"), site=site)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()


def test_a_sibling_dependency_must_be_a_package_folder(world: dict[str, Path]) -> None:
    archive = make_zip(
        world["root"] / "lock.zip",
        {"pk/lllm.toml": '[package]\nname="pk"\n[dependencies]\npackages=["../.evil.lllm-lock"]\n'},
    )
    result = cli(world, "pkg", "install", str(archive))
    assert result.returncode == 1 and "outside the package folder" in result.stderr, result.stderr
