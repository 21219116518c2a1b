"""A warm start never serves a stale or missing resource: the cases that once went wrong.

Each test changes a project between processes the way ordinary development does and checks
that the warm start (the index cache) sees exactly what a start without it sees.
"""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from pkgtree import write_tree
from plugin_fixtures import EDITABLE_PLUGIN
from test_index_cache import age, run

from lllm.testing import write_files

PROMPT_VALUES = r"""
import json
import lllm
rt = lllm.get_default_runtime()
print(json.dumps({k: rt.get(k).prompt for k in rt.keys("prompt")}))
"""


def prompts(project: Path, cache: Path, **env: str) -> dict[str, str]:
    """The prompts (key → template) of a warm start, checked against a start without the cache."""
    warm = run(project, cache, code=PROMPT_VALUES, **env)
    truth = run(project, cache, code=PROMPT_VALUES, LLLM_NO_CACHE="1", **env)
    assert warm == truth
    return warm


def python_path(*folders: Path) -> str:
    """``PYTHONPATH`` with ``folders`` first (keeping the one this test run was given)."""
    return os.pathsep.join([*map(str, folders), *filter(None, [os.environ.get("PYTHONPATH")])])


def write_project(root: Path, files: dict[str, str]) -> Path:
    return age(write_tree(root, {"lllm.toml": '[package]\nname = "proj"\n', **files}))


def child_env(cache: Path, home: Path, **extra: str) -> dict[str, str]:
    """A child's environment: no ``LLLM_*`` variable of ours, a private cache and home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env.update({"LLLM_CACHE_DIR": str(cache), "LLLM_HOME": str(home), **extra})
    return env


def lllm_command(project: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = child_env(cache, project.parent / "home")
    return subprocess.run(
        [sys.executable, "-m", "lllm._cli", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_failed_import_is_tried_again_once_fixed(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "proj",
        {
            "prompts/chat.py": "from lllm import Prompt\nfrom ._shared import TONE\nanswer = Prompt(path='answer', prompt=TONE)\n",
        },
    )
    cache = tmp_path / "cache"
    assert prompts(project, cache) == {}
    assert prompts(project, cache) == {}  # the failure is reported again, not cached
    write_files(project, {"prompts/_shared.py": "TONE = 'x'\n"})
    assert prompts(project, cache) == {"proj.prompts:chat/answer": "x"}
    assert lllm_command(project, cache, "check").returncode == 0


def test_a_module_needing_an_environment_variable_loads_once_it_is_set(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "proj",
        {
            "prompts/env.py": "import os\nfrom lllm import Prompt\np = Prompt(path='p', prompt=os.environ['LLLM_TEST_TONE'])\n",
        },
    )
    cache = tmp_path / "cache"
    assert prompts(project, cache) == {}
    assert prompts(project, cache, LLLM_TEST_TONE="calm") == {"proj.prompts:env/p": "calm"}


def test_sibling_modules_are_inputs_of_the_files_that_import_them(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "proj",
        {
            "prompts/names.py": "NAMES = ['a', 'b']\n",
            "prompts/gen.py": (
                "from lllm import Prompt\nfrom .names import NAMES\n"
                "for _n in NAMES:\n    globals()['p_' + _n] = Prompt(path=_n, prompt='Hi ' + _n)\n"
            ),
            "helpers/__init__.py": "",
            "helpers/tone.py": "TONE = 'calm'\n",
            "prompts/deep.py": "from lllm import Prompt\nfrom ..helpers import tone\np = Prompt(path='p', prompt=tone.TONE)\n",
        },
    )
    cache = tmp_path / "cache"
    first = prompts(project, cache)
    assert first["proj.prompts:gen/b"] == "Hi b" and first["proj.prompts:deep/p"] == "calm"
    (project / "prompts/names.py").write_text("NAMES = ['a', 'b', 'c']\n")
    (project / "helpers/tone.py").write_text("TONE = 'warm'\n")
    after = prompts(project, cache)
    assert after["proj.prompts:gen/c"] == "Hi c" and after["proj.prompts:deep/p"] == "warm"


def test_a_same_size_edit_with_the_old_time_never_runs_stale_bytecode(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "proj",
        {
            "prompts/chat.py": "from lllm import Prompt\nold = Prompt(path='old', prompt='v1')\n",
        },
    )
    cache = tmp_path / "cache"
    source = project / "prompts/chat.py"
    # A timestamp .pyc as plain Python writes it: it matches the edit below by size and time.
    py_compile.compile(str(source), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    assert prompts(project, cache) == {"proj.prompts:chat/old": "v1"}
    before = source.stat()
    source.write_text(
        "from lllm import Prompt\nnew = Prompt(path='new', prompt='v2')\n"
    )  # same size
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert source.stat().st_size == before.st_size
    assert prompts(project, cache) == {"proj.prompts:chat/new": "v2"}
    for pyc in project.rglob("*.pyc"):
        pyc.unlink()
    assert prompts(project, cache) == {"proj.prompts:chat/new": "v2"}


def test_unzip_over_a_tree_with_the_same_sizes_and_times_is_seen(tmp_path: Path) -> None:
    def archive(path: Path, text: str) -> Path:
        with zipfile.ZipFile(path, "w") as zf:  # every entry stamped 1980, as exports are
            for name, content in {
                "lllm.toml": '[package]\nname = "proj"\n',
                "prompts/a.md": text,
                # the same size in both versions, but another key
                "prompts/code.py": f"from lllm import Prompt\np = Prompt(path='p_{text}', prompt='{text}')\n",
            }.items():
                zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content)
        return path

    project = tmp_path / "proj"
    cache = tmp_path / "cache"

    def unzip_over(path: Path) -> None:  # what `unzip -o` does: replace files, restore their times
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                target = project / info.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
                os.utime(target, (315532800, 315532800))

    unzip_over(archive(tmp_path / "v1.zip", "one"))
    assert prompts(project, cache) == {"proj.prompts:a": "one", "proj.prompts:code/p_one": "one"}
    unzip_over(archive(tmp_path / "v2.zip", "two"))
    assert prompts(project, cache) == {"proj.prompts:a": "two", "proj.prompts:code/p_two": "two"}


def test_editing_an_editable_plugins_submodule_takes_effect(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_tree(
        site,
        {
            **EDITABLE_PLUGIN,
        },
    )
    project = write_project(
        tmp_path / "proj",
        {
            "notes/a.txt": "alpha",
            "memos/b.md": "beta",
        },
    )
    age(site)
    cache = tmp_path / "cache"
    probe = (
        "import json, sys, lllm\nrt = lllm.get_default_runtime()\n"
        "print(json.dumps({'keys': {k: rt.get(k) for k in rt.keys('note')}, 'imported': 'mini.plugin' in sys.modules}))\n"
    )

    def notes() -> dict:
        warm = run(project, cache, code=probe, PYTHONPATH=python_path(site))
        truth = run(project, cache, code=probe, PYTHONPATH=python_path(site), LLLM_NO_CACHE="1")
        assert warm["keys"] == truth["keys"]
        return warm

    assert notes()["keys"] == {"proj.notes:a": "ALPHA"}
    assert notes()["imported"] is False  # warm: the plugin is not even imported
    spec = site / "mini/spec.py"
    spec.write_text(
        spec.read_text()
        .replace("default_folder='notes'", "default_folder='memos'")
        .replace("'.txt'", "'.md'")
    )
    assert notes()["keys"] == {"proj.notes:b": "BETA"}


def test_callable_package_entry_points_are_asked_every_time(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_tree(
        site,
        {
            "shipper.py": "import os\ndef where():\n    return os.environ['LLLM_TEST_SHIPPED']\n",
            "shipper-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: shipper\nVersion: 1.0\n",
            "shipper-1.0.dist-info/entry_points.txt": "[lllm.packages]\nshipped = shipper:where\n",
        },
    )
    for name in ("one", "two"):
        write_tree(
            site / name, {"lllm.toml": f'[package]\nname = "{name}"\n', "prompts/p.md": name}
        )
    project = write_project(tmp_path / "proj", {})
    cache = tmp_path / "cache"
    for name in ("one", "two", "one"):
        got = prompts(
            project, cache, PYTHONPATH=python_path(site), LLLM_TEST_SHIPPED=str(site / name)
        )
        assert got == {f"{name}.prompts:p": name}


# ------------------------------------------------------- what a review of the cache found


def edit(path: Path, text: str) -> None:
    path.write_text(text)
    time.sleep(0.06)  # older than a clock tick: the next start trusts the new times


def test_dynamic_and_star_imports_of_modules_already_loaded(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "proj",
        {
            "prompts/_names.py": "NAMES = ['a']\n",
            "prompts/a.py": "from lllm import Prompt\nfrom ._names import NAMES\nfirst = Prompt(path=NAMES[0], prompt='A')\n",
            "prompts/b.py": (
                "import importlib\nfrom lllm import Prompt\n"
                "names = importlib.import_module('._names', __package__)\nsecond = Prompt(path='b_' + names.NAMES[0], prompt='B')\n"
            ),
            "lib/__init__.py": "__all__ = ['mod']\n",
            "lib/mod.py": "NAMES = ['m']\n",
            "prompts/s.py": "from lllm import Prompt\nfrom ..lib import *\nstarred = Prompt(path='s_' + mod.NAMES[0], prompt='S')\n",
        },
    )
    cache = tmp_path / "cache"
    assert set(prompts(project, cache)) == {
        "proj.prompts:a/a",
        "proj.prompts:b/b_a",
        "proj.prompts:s/s_m",
    }
    edit(project / "prompts/_names.py", "NAMES = ['z']\n")
    edit(project / "lib/mod.py", "NAMES = ['n']\n")
    assert set(prompts(project, cache)) == {
        "proj.prompts:a/z",
        "proj.prompts:b/b_z",
        "proj.prompts:s/s_n",
    }


def test_lllm_check_writes_no_record_that_hides_a_dynamic_import(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "proj",
        {
            "prompts/_names.py": "NAMES = ['a']\n",
            "prompts/b.py": (
                "import importlib\nfrom lllm import Prompt\n"
                "names = importlib.import_module('._names', __package__)\np = Prompt(path=names.NAMES[0], prompt='B')\n"
            ),
        },
    )
    cache = tmp_path / "cache"
    assert lllm_command(project, cache, "check").returncode == 0
    edit(project / "prompts/_names.py", "NAMES = ['z']\n")
    assert set(prompts(project, cache)) == {"proj.prompts:b/z"}


def test_an_import_that_found_nothing_is_seen_once_the_module_exists(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "proj",
        {
            "prompts/p.py": (
                "from lllm import Prompt\ntry:\n    from ._local import NAMES\nexcept ImportError:\n    NAMES = ['default']\n"
                "p = Prompt(path=NAMES[0], prompt='P')\n"
            ),
        },
    )
    cache = tmp_path / "cache"
    assert set(prompts(project, cache)) == {"proj.prompts:p/default"}
    edit(project / "prompts/_local.py", "NAMES = ['local']\n")
    assert set(prompts(project, cache)) == {"proj.prompts:p/local"}


def test_helpers_found_through_sys_path_are_found_again(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "proj",
        {
            "prompts/p.py": "from lllm import Prompt\nfrom tones import TONE\np = Prompt(path=TONE, prompt='P')\n",
        },
    )
    for name in ("lib1", "lib2"):
        write_tree(tmp_path / name, {"tones.py": f"TONE = '{name}'\n"})
    cache = tmp_path / "cache"
    assert set(prompts(project, cache, PYTHONPATH=python_path(tmp_path / "lib1"))) == {
        "proj.prompts:p/lib1"
    }
    assert set(prompts(project, cache, PYTHONPATH=python_path(tmp_path / "lib2"))) == {
        "proj.prompts:p/lib2"
    }
    # Found through the script's folder (the cwd for `python -c`), then run from elsewhere.
    write_tree(project, {"tones.py": "TONE = 'cwd'\n"})
    assert set(prompts(project, cache)) == {"proj.prompts:p/cwd"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = child_env(cache, tmp_path / "home", LLLM_CONFIG=str(project))
    results = [
        subprocess.run(
            [sys.executable, "-c", PROMPT_VALUES],
            cwd=elsewhere,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        for extra in ({}, {"LLLM_NO_CACHE": "1"})
    ]
    assert results[0].stdout == results[1].stdout, (results[0].stderr, results[1].stderr)


def test_a_module_older_than_its_file_is_not_recorded(tmp_path: Path) -> None:
    # A long-running process (a notebook) loads a package, the file changes, it loads it
    # again into a new runtime: Python keeps the old module, so its keys are the old ones.
    project = write_project(
        tmp_path / "proj",
        {"prompts/chat.py": "from lllm import Prompt\none = Prompt(path='one', prompt='1')\n"},
    )
    cache = tmp_path / "cache"
    code = """
import json, os, time
import lllm
lllm.load_package('.', runtime=lllm.Runtime())
path = os.path.join('prompts', 'chat.py')
with open(path, 'w') as f:
    f.write("from lllm import Prompt\\ntwo = Prompt(path='two', prompt='2')\\n")
time.sleep(0.06)
rt = lllm.Runtime()
lllm.load_package('.', runtime=rt)
print(json.dumps(rt.keys()))
"""
    env = child_env(cache, tmp_path / "home", LLLM_AUTO_INIT="0")
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    time.sleep(0.06)
    assert set(prompts(project, cache)) == {"proj.prompts:chat/two"}


def test_threads_loading_one_slow_module_all_get_all_of_it(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "proj",
        {
            "prompts/slow.py": "import time\nfrom lllm import Prompt\na = Prompt(path='a', prompt='A')\ntime.sleep(0.5)\nb = Prompt(path='b', prompt='B')\n",
        },
    )
    cache = tmp_path / "cache"
    code = """
import json, threading, time
import lllm
found = []
def load():
    rt = lllm.Runtime()
    lllm.load_package('.', runtime=rt)
    found.append(sorted(rt.keys()))
threads = [threading.Thread(target=load) for _ in range(2)]
threads[0].start(); time.sleep(0.1); threads[1].start()
[t.join() for t in threads]
print(json.dumps(found))
"""
    env = child_env(cache, tmp_path / "home", LLLM_AUTO_INIT="0")
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(result.stdout) == [["proj.prompts:slow/a", "proj.prompts:slow/b"]] * 2
    assert set(prompts(project, cache)) == {"proj.prompts:slow/a", "proj.prompts:slow/b"}


def test_a_plugin_module_imported_only_later_is_watched(tmp_path: Path) -> None:
    site = write_tree(
        tmp_path / "site",
        {
            "lazyp/__init__.py": "",
            "lazyp/csvkeys.py": "def key(name):\n    return 'csv/' + name\n",
            "lazyp/plugin.py": (
                "from lllm.plugin import SectionSpec, hookimpl\n"
                "@hookimpl\ndef lllm_sections():\n"
                "    return [SectionSpec(name='notes', resource_type='note', cacheable=True, loaders={'file': 'lllm.sections.loaders:file_value'}, discover=discover)]\n"
                "def discover(folder):\n    nodes = []\n    for f in folder.files():\n"
                "        if f.suffix == '.csv':\n            from lazyp.csvkeys import key\n"
                "            nodes.append(folder.lazy(key(f.stem), 'file', f))\n"
                "        else:\n            nodes.append(folder.lazy(folder.file_key(f), 'file', f))\n    return nodes\n"
            ),
            "lazyp-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: lazyp\nVersion: 1.0\n",
            "lazyp-1.0.dist-info/entry_points.txt": "[lllm.plugins]\nlazyp = lazyp.plugin\n",
        },
    )
    age(site)
    project = write_project(tmp_path / "proj", {"notes/a.txt": "A"})
    cache = tmp_path / "cache"
    probe = "import json, lllm\nprint(json.dumps(lllm.get_default_runtime().keys('note')))\n"

    def notes() -> list[str]:
        warm = run(project, cache, code=probe, PYTHONPATH=python_path(site))
        assert warm == run(
            project, cache, code=probe, PYTHONPATH=python_path(site), LLLM_NO_CACHE="1"
        )
        return warm

    assert notes() == ["proj.notes:a"]
    edit(project / "notes/b.csv", "x")
    assert notes() == ["proj.notes:a", "proj.notes:csv/b"]
    edit(site / "lazyp/csvkeys.py", "def key(name):\n    return 'CSV/' + name\n")
    assert notes() == ["proj.notes:CSV/b", "proj.notes:a"]


def test_entry_points_edited_in_place_are_seen(tmp_path: Path) -> None:
    site = write_tree(
        tmp_path / "src",
        {
            "foo/__init__.py": "",
            "foo/plugin.py": (
                "from lllm.plugin import SectionSpec, hookimpl\n@hookimpl\ndef lllm_sections():\n"
                "    return [SectionSpec(name='notes', resource_type='note', discover=discover)]\n"
                "def discover(folder):\n    return [folder.eager(folder.file_key(f), 'plugin', f) for f in folder.files()]\n"
            ),
            "foo.egg-info/PKG-INFO": "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n",
            "foo.egg-info/entry_points.txt": "",
        },
    )
    age(site)
    project = write_project(
        tmp_path / "proj", {"lllm.toml": '[package]\nname = "proj"\n[notes]\n', "notes/a.txt": "A"}
    )
    cache = tmp_path / "cache"
    probe = "import json, lllm\nrt = lllm.get_default_runtime()\nprint(json.dumps({k: rt.get_node(k).resource_type for k in rt.keys()}))\n"
    assert run(project, cache, code=probe, PYTHONPATH=python_path(site)) == {
        "proj.notes:a.txt": "notes"
    }
    run(project, cache, code=probe, PYTHONPATH=python_path(site))
    with open(
        site / "foo.egg-info/entry_points.txt", "w"
    ) as f:  # in place: the folder's time does not move
        f.write("[lllm.plugins]\nfoo = foo.plugin\n")
    assert run(project, cache, code=probe, PYTHONPATH=python_path(site)) == {"proj.notes:a": "note"}


def test_a_discover_that_raises_on_one_file_empties_that_folder_warm_or_cold(
    tmp_path: Path,
) -> None:
    site = write_tree(
        tmp_path / "site",
        {
            "raising.py": (
                "from lllm.plugin import SectionSpec, hookimpl\n@hookimpl\ndef lllm_sections():\n"
                "    return [SectionSpec(name='notes', resource_type='note', cacheable=True, loaders={'file': 'lllm.sections.loaders:file_value'}, discover=discover)]\n"
                "def discover(folder):\n    nodes = []\n    for f in folder.files():\n"
                "        if f.name == 'bad.txt':\n            raise RuntimeError('bad file')\n"
                "        nodes.append(folder.lazy(folder.file_key(f), 'file', f))\n    return nodes\n"
            ),
            "raising-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: raising\nVersion: 1.0\n",
            "raising-1.0.dist-info/entry_points.txt": "[lllm.plugins]\nraising = raising\n",
        },
    )
    age(site)
    project = write_project(
        tmp_path / "proj",
        {
            "lllm.toml": '[package]\nname = "proj"\n[notes]\npaths = ["n1", "n2 under two"]\n',
            "n1/a.txt": "A",
            "n2/b.txt": "B",
        },
    )
    cache = tmp_path / "cache"
    probe = "import json, lllm\nprint(json.dumps(lllm.get_default_runtime().keys('note')))\n"
    for _ in range(2):
        assert run(project, cache, code=probe, PYTHONPATH=python_path(site)) == [
            "proj.notes:a",
            "proj.notes:two/b",
        ]
    edit(project / "n1/bad.txt", "x")
    for _ in range(2):
        warm = run(project, cache, code=probe, PYTHONPATH=python_path(site))
        assert (
            warm
            == run(project, cache, code=probe, PYTHONPATH=python_path(site), LLLM_NO_CACHE="1")
            == ["proj.notes:two/b"]  # the other folder of the section still loads
        )


def test_nodes_of_one_file_have_their_own_metadata(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "proj",
        {
            "prompts/two.py": "from lllm import Prompt\na = Prompt(path='a', prompt='A')\nb = Prompt(path='b', prompt='B')\n"
        },
    )
    cache = tmp_path / "cache"
    probe = (
        "import json, lllm\nrt = lllm.get_default_runtime()\n"
        "rt.get_node('proj.prompts:two/a').metadata['mark'] = 1\n"
        "print(json.dumps('mark' in rt.get_node('proj.prompts:two/b').metadata))\n"
    )
    assert run(project, cache, code=probe) is False
    assert run(project, cache, code=probe) is False  # warm


def test_an_unchanged_tree_is_not_walked_again_when_bytecode_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lllm._index.folders
    from lllm import Runtime, load_package

    project = write_project(
        tmp_path / "proj",
        {"prompts/a.py": "from lllm import Prompt\na = Prompt(path='a', prompt='A')\n"},
    )
    monkeypatch.setenv("LLLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    load_package(project, runtime=Runtime())  # discovery compiles prompts/a.py
    assert not (project / "prompts/__pycache__").exists()  # nothing written into the package
    walks: list[str] = []
    original = lllm._index.folders.walk_stats
    monkeypatch.setattr(
        lllm._index.folders,
        "walk_stats",
        lambda root, confine=None: walks.append(root) or original(root, confine),
    )
    load_package(project, runtime=Runtime())
    assert walks == []


def test_bytecode_is_kept_in_the_cache_folder_on_first_access(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "proj",
        {"prompts/a.py": "from lllm import Prompt\na = Prompt(path='a', prompt='A')\n"},
    )
    cache = tmp_path / "cache"
    read = "import lllm\nprint(lllm.get_default_runtime().get('proj.prompts:a/a').prompt)\n"
    env = child_env(cache, tmp_path / "home")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    runs = [
        subprocess.run(
            [sys.executable, "-c", read],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        for _ in range(3)
    ]
    assert [r.stdout.strip() for r in runs] == ["A"] * 3, [r.stderr for r in runs]
    assert (
        len(list((cache / "bytecode").glob("*.pyc"))) == 1
    )  # written by the warm start's first access
    assert not (project / "prompts/__pycache__").exists()
