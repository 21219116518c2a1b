"""A warm start never serves a stale or missing resource: the cases that once went wrong.

Each test changes a project between processes the way ordinary development does and checks
that the warm start (the index cache) sees exactly what a start without it sees.
"""

from __future__ import annotations

import os
import py_compile
import subprocess
import sys
import zipfile
from pathlib import Path

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


def lllm_command(project: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env.update({"LLLM_CACHE_DIR": str(cache), "LLLM_HOME": str(project.parent / "home")})
    return subprocess.run([sys.executable, "-m", "lllm.cli", *args], cwd=project, env=env, capture_output=True, text=True, timeout=120)


def test_a_failed_import_is_tried_again_once_fixed(tmp_path: Path) -> None:
    project = age(write_tree(tmp_path / "proj", {
        "lllm.toml": '[package]\nname = "proj"\n',
        "prompts/chat.py": "from lllm import Prompt\nfrom ._shared import TONE\nanswer = Prompt(path='answer', prompt=TONE)\n",
    }))
    cache = tmp_path / "cache"
    assert prompts(project, cache) == {}
    assert prompts(project, cache) == {}  # the failure is reported again, not cached
    write_files(project, {"prompts/_shared.py": "TONE = 'x'\n"})
    assert prompts(project, cache) == {"proj.prompts:chat/answer": "x"}
    assert lllm_command(project, cache, "check").returncode == 0


def test_a_module_needing_an_environment_variable_loads_once_it_is_set(tmp_path: Path) -> None:
    project = age(write_tree(tmp_path / "proj", {
        "lllm.toml": '[package]\nname = "proj"\n',
        "prompts/env.py": "import os\nfrom lllm import Prompt\np = Prompt(path='p', prompt=os.environ['LLLM_TEST_TONE'])\n",
    }))
    cache = tmp_path / "cache"
    assert prompts(project, cache) == {}
    assert prompts(project, cache, LLLM_TEST_TONE="calm") == {"proj.prompts:env/p": "calm"}


def test_sibling_modules_are_inputs_of_the_files_that_import_them(tmp_path: Path) -> None:
    project = age(write_tree(tmp_path / "proj", {
        "lllm.toml": '[package]\nname = "proj"\n',
        "prompts/names.py": "NAMES = ['a', 'b']\n",
        "prompts/gen.py": (
            "from lllm import Prompt\nfrom .names import NAMES\n"
            "for _n in NAMES:\n    globals()['p_' + _n] = Prompt(path=_n, prompt='Hi ' + _n)\n"
        ),
        "helpers/__init__.py": "",
        "helpers/tone.py": "TONE = 'calm'\n",
        "prompts/deep.py": "from lllm import Prompt\nfrom ..helpers import tone\np = Prompt(path='p', prompt=tone.TONE)\n",
    }))
    cache = tmp_path / "cache"
    first = prompts(project, cache)
    assert first["proj.prompts:gen/b"] == "Hi b" and first["proj.prompts:deep/p"] == "calm"
    (project / "prompts/names.py").write_text("NAMES = ['a', 'b', 'c']\n")
    (project / "helpers/tone.py").write_text("TONE = 'warm'\n")
    after = prompts(project, cache)
    assert after["proj.prompts:gen/c"] == "Hi c" and after["proj.prompts:deep/p"] == "warm"


def test_a_same_size_edit_with_the_old_time_never_runs_stale_bytecode(tmp_path: Path) -> None:
    project = age(write_tree(tmp_path / "proj", {
        "lllm.toml": '[package]\nname = "proj"\n',
        "prompts/chat.py": "from lllm import Prompt\nold = Prompt(path='old', prompt='v1')\n",
    }))
    cache = tmp_path / "cache"
    source = project / "prompts/chat.py"
    # A timestamp .pyc as plain Python writes it: it matches the edit below by size and time.
    py_compile.compile(str(source), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    assert prompts(project, cache) == {"proj.prompts:chat/old": "v1"}
    before = source.stat()
    source.write_text("from lllm import Prompt\nnew = Prompt(path='new', prompt='v2')\n")  # same size
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
    write_tree(site, {
        **EDITABLE_PLUGIN,
    })
    project = age(write_tree(tmp_path / "proj", {
        "lllm.toml": '[package]\nname = "proj"\n',
        "notes/a.txt": "alpha",
        "memos/b.md": "beta",
    }))
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
    spec.write_text(spec.read_text().replace("default_folder='notes'", "default_folder='memos'").replace("'.txt'", "'.md'"))
    assert notes()["keys"] == {"proj.notes:b": "BETA"}


def test_callable_package_entry_points_are_asked_every_time(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_tree(site, {
        "shipper.py": "import os\ndef where():\n    return os.environ['LLLM_TEST_SHIPPED']\n",
        "shipper-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: shipper\nVersion: 1.0\n",
        "shipper-1.0.dist-info/entry_points.txt": "[lllm.packages]\nshipped = shipper:where\n",
    })
    for name in ("one", "two"):
        write_tree(site / name, {"lllm.toml": f'[package]\nname = "{name}"\n', "prompts/p.md": name})
    project = age(write_tree(tmp_path / "proj", {"lllm.toml": '[package]\nname = "proj"\n'}))
    cache = tmp_path / "cache"
    for name in ("one", "two", "one"):
        got = prompts(project, cache, PYTHONPATH=python_path(site), LLLM_TEST_SHIPPED=str(site / name))
        assert got == {f"{name}.prompts:p": name}
