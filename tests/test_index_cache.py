"""The discovery index cache: later processes start from it, and always see the truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from pkgtree import write_tree

from lllm._index.fileformat import read_record, write_record
from lllm.testing import settle

PROBE = r"""
import json, sys
import lllm
rt = lllm.get_default_runtime()
keys = rt.keys()
values = {}
for key in keys:
    node = rt.get_node(key)
    value = node.value
    values[key] = getattr(value, "prompt", None) or (value.decode() if isinstance(value, bytes) else value)
    if isinstance(values[key], type):
        values[key] = values[key].__name__
user_files = sorted(m for m in sys.modules if m.startswith("_lllm_pkgs.") and m.count(".") > 2)
print(json.dumps({"keys": keys, "values": values, "plugins_imported": "lllm._plugin_manager" in sys.modules,
                  "user_modules_at_start": START_MODULES, "imported_by_import": IMPORTED}, default=str))
"""


def probe_script(code: str = PROBE) -> str:
    """``code`` after ``import lllm``, with what that import brought in recorded for it."""
    return (
        "import sys\nBEFORE = set(sys.modules)\nimport lllm\n"
        "START_MODULES = sorted(m for m in sys.modules if m.startswith('_lllm_pkgs.') and m.count('.') > 2)\n"
        "IMPORTED = sorted(set(sys.modules) - BEFORE)\n" + code
    )


def run(project: Path, cache: Path, code: str = PROBE, **extra_env: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env.update(
        {"LLLM_CACHE_DIR": str(cache), "LLLM_HOME": str(project.parent / "home"), **extra_env}
    )
    result = subprocess.run(
        [sys.executable, "-c", probe_script(code)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def touch_later(path: Path) -> None:
    """Make sure a rewrite is seen even on file systems with coarse timestamps."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


#: Trees written just now by a test are settled first when its second process must be warm.
age = settle


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return age(
        write_tree(
            tmp_path / "proj",
            {
                "lllm.toml": '[package]\nname = "proj"\n',
                "prompts/chat.py": "from lllm import Prompt\nhello = Prompt(path='hello', prompt='Hello v1')\nbye = Prompt(path='bye', prompt='Bye')\n",
                "prompts/notes/system.md": "System v1",
                "configs/default.yaml": "model: one\n",
                "configs/exp.yaml": "base: default\nlayers: 2\n",
                "assets/data/table.csv": "a,b\n1,2\n",
                "tactics/t.py": "from lllm import Tactic\nclass Answer(Tactic):\n    name = 'answer'\n",
            },
        )
    )


def test_warm_start_uses_the_cache_and_imports_nothing_until_asked(
    project: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cold = run(project, cache)
    warm = run(project, cache)
    assert warm["keys"] == cold["keys"] and warm["values"] == cold["values"]
    assert cold["user_modules_at_start"] != []  # discovery imported the package's files
    assert warm["user_modules_at_start"] == []  # the cache did not
    assert warm["plugins_imported"] is False
    assert any(cache.glob("*.idx"))
    # A warm start needs neither discovery nor the parsers: none of them is imported.
    heavy = {
        "pathlib",
        "json",
        "tomllib",
        "yaml",
        "lllm._discovery",
        "lllm._plugin_manager",
        "importlib.metadata",
    }
    assert heavy & set(warm["imported_by_import"]) == set()
    assert {"pathlib", "lllm._discovery"} <= set(
        cold["imported_by_import"]
    )  # the probe can see them


@pytest.mark.parametrize(
    "change,expect",
    [
        # prompts: edit a .py file, edit a .md file, add, delete, rename
        (
            lambda p: (p / "prompts/chat.py").write_text(
                "from lllm import Prompt\nhello = Prompt(path='hello', prompt='Hello v2')\n"
            ),
            lambda r: (
                r["values"]["proj.prompts:chat/hello"] == "Hello v2"
                and "proj.prompts:chat/bye" not in r["keys"]
            ),
        ),
        (
            lambda p: (p / "prompts/notes/system.md").write_text("System v2"),
            lambda r: r["values"]["proj.prompts:notes/system"] == "System v2",
        ),
        (
            lambda p: (p / "prompts/new.md").write_text("New"),
            lambda r: r["values"]["proj.prompts:new"] == "New",
        ),
        (
            lambda p: (p / "prompts/notes/system.md").unlink(),
            lambda r: "proj.prompts:notes/system" not in r["keys"],
        ),
        (
            lambda p: (p / "prompts/notes/system.md").rename(p / "prompts/notes/renamed.md"),
            lambda r: (
                "proj.prompts:notes/system" not in r["keys"]
                and r["values"]["proj.prompts:notes/renamed"] == "System v1"
            ),
        ),
        # configs
        (
            lambda p: (p / "configs/default.yaml").write_text("model: two\n"),
            lambda r: r["values"]["proj.configs:default"] == {"model": "two"},
        ),
        (
            lambda p: (p / "configs/extra.json").write_text('{"x": 1}'),
            lambda r: r["values"]["proj.configs:extra"] == {"x": 1},
        ),
        (
            lambda p: (p / "configs/exp.yaml").unlink(),
            lambda r: "proj.configs:exp" not in r["keys"],
        ),
        (
            lambda p: (p / "configs/exp.yaml").rename(p / "configs/exp2.yaml"),
            lambda r: (
                "proj.configs:exp" not in r["keys"]
                and r["values"]["proj.configs:exp2"] == {"base": "default", "layers": 2}
            ),
        ),
        # assets
        (
            lambda p: (p / "assets/data/table.csv").write_text("a,b\n3,4\n"),
            lambda r: r["values"]["proj.assets:data/table.csv"] == "a,b\n3,4\n",
        ),
        (
            lambda p: (p / "assets/new.txt").write_text("fresh"),
            lambda r: r["values"]["proj.assets:new.txt"] == "fresh",
        ),
        (
            lambda p: (p / "assets/data/table.csv").unlink(),
            lambda r: "proj.assets:data/table.csv" not in r["keys"],
        ),
        (
            lambda p: (p / "assets/data").rename(p / "assets/moved"),
            lambda r: (
                "proj.assets:data/table.csv" not in r["keys"]
                and r["values"]["proj.assets:moved/table.csv"] == "a,b\n1,2\n"
            ),
        ),
        # the manifest itself
        (
            lambda p: (p / "lllm.toml").write_text(
                '[package]\nname = "proj"\n[prompts]\npaths = []\n'
            ),
            lambda r: not any(k.startswith("proj.prompts:") for k in r["keys"]),
        ),
    ],
    ids=[
        "edit-py",
        "edit-md",
        "add-md",
        "delete-md",
        "rename-md",
        "edit-config",
        "add-config",
        "delete-config",
        "rename-config",
        "edit-asset",
        "add-asset",
        "delete-asset",
        "rename-asset-folder",
        "edit-manifest",
    ],
)
def test_changes_between_processes_are_seen(project: Path, tmp_path: Path, change, expect) -> None:
    cache = tmp_path / "cache"
    run(project, cache)
    run(project, cache)  # warm
    change(project)
    for path in project.rglob("*"):
        if path.is_file():
            touch_later(path) if path.stat().st_mtime_ns > time.time_ns() - 5_000_000_000 else None
    after = run(project, cache)
    assert expect(after), after
    again = run(project, cache)  # and the cache written after the change is right too
    assert again["keys"] == after["keys"] and again["values"] == after["values"]


def test_same_size_same_second_edit_is_seen(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(project, cache)
    target = project / "prompts/notes/system.md"
    before = target.stat()
    target.write_text("System v9")  # same length as "System v1"
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns + 1))  # 1 ns later
    assert run(project, cache)["values"]["proj.prompts:notes/system"] == "System v9"


def test_truncated_and_garbage_cache_files_are_ignored(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    truth = run(project, cache)
    damages = [
        lambda data: data[: len(data) // 2],
        lambda data: data[:-1] + bytes([data[-1] ^ 0x01]),  # one bit of the payload
        lambda data: (
            data[: len(data) // 2]
            + bytes([data[len(data) // 2] ^ 0x80])
            + data[len(data) // 2 + 1 :]
        ),
        lambda data: b"not a cache file at all",
        lambda data: b"",
    ]
    for damage in damages:
        for file in cache.glob("*.idx"):
            file.write_bytes(damage(file.read_bytes()))
        after = run(project, cache)
        assert after["values"] == truth["values"]
        assert (
            after["user_modules_at_start"] != []
        )  # the damaged file was ignored: discovered afresh


def change_files(data: dict, change) -> None:
    """Replace every stored file record ``(signature, resources, dependencies)`` of every
    folder record ``(dirs, files, dependencies)`` by ``change(record)``."""
    data["folders"] = {
        key: (dirs, {relative: change(record) for relative, record in files.items()}, deps)
        for key, (dirs, files, deps) in data["folders"].items()
    }


def test_tampered_cache_cannot_name_code_or_other_files(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    truth = run(project, cache)
    (index_file,) = [f for f in cache.glob("*.idx") if not f.name.startswith("env-")]
    data = read_record(index_file)

    def name_code(record):
        resources = list(record[1])
        resources[1::4] = ["os:system"] * (len(resources) // 4)  # not a loader the section declares
        return (record[0], tuple(resources), record[2])

    change_files(data, name_code)
    assert write_record(index_file, data)  # a well-formed file, checksum and all
    after = run(project, cache)
    assert after["values"] == truth["values"]


def test_cache_from_another_plugin_set_is_ignored(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(project, cache)
    # A plugin switch is part of the environment signature: disabling tactics must not be
    # answered from a cache written with tactics enabled (and vice versa).
    without = run(project, cache, LLLM_DISABLE_PLUGINS="tactics")
    assert "proj.tactics:answer" not in without["keys"]
    with_again = run(project, cache)
    assert "proj.tactics:answer" in with_again["keys"]


def test_a_new_distribution_on_the_path_invalidates_the_cache(
    project: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    site = tmp_path / "site"
    site.mkdir()
    run(project, cache, PYTHONPATH=str(site))
    write_tree(
        site,
        {
            "extra_plugin.py": (
                "from lllm.plugin import SectionSpec, hookimpl, file_nodes\n"
                "@hookimpl\ndef lllm_sections():\n    return [SectionSpec(name='notes', resource_type='note', discover=file_nodes)]\n"
                "def discover(folder):\n    return file_nodes(folder)\n"
            ),
            "extra_plugin-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: extra-plugin\nVersion: 1.0\n",
            "extra_plugin-1.0.dist-info/entry_points.txt": "[lllm.plugins]\nnotes = extra_plugin\n",
        },
    )
    write_tree(project, {"notes/todo.txt": "buy milk"})
    after = run(project, cache, PYTHONPATH=str(site))
    assert after["values"]["proj.notes:todo.txt"] == "buy milk"


def test_no_cache_switch_and_strict_loads_write_nothing(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(project, cache, LLLM_NO_CACHE="1")
    assert not cache.exists() or not any(cache.iterdir())
    code = "import lllm\nrt = lllm.Runtime()\nlllm.load_package('.', runtime=rt, strict=True)\nprint('{}')\n"
    run(project, cache, code=code, LLLM_AUTO_INIT="0")
    assert not cache.exists() or not any(cache.iterdir())


def test_import_failures_are_reported_again_on_warm_starts(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    write_tree(project, {"prompts/broken.py": "raise RuntimeError('boom')\n"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env.update({"LLLM_CACHE_DIR": str(cache), "LLLM_HOME": str(tmp_path / "home")})
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-W", "always", "-c", "import lllm"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0 and "broken.py" in result.stderr and "boom" in result.stderr


def test_editing_a_plugins_code_is_seen_despite_the_cache(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    site = tmp_path / "site"
    plugin = """
from lllm.plugin import SectionSpec, hookimpl, file_nodes
@hookimpl
def lllm_sections():
    return [SectionSpec(name="notes", resource_type="{kind}", discover=discover)]
def discover(folder):
    return file_nodes(folder)
"""
    write_tree(
        site,
        {
            "notes_plugin.py": plugin.format(kind="note"),
            "notes_plugin-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: notes-plugin\nVersion: 1.0\n",
            "notes_plugin-1.0.dist-info/entry_points.txt": "[lllm.plugins]\nnotes = notes_plugin\n",
        },
    )
    write_tree(project, {"notes/todo.txt": "milk"})
    probe = PROBE.replace(
        "print(json.dumps({",
        'print(json.dumps({"types": {k: rt.get_node(k).resource_type for k in keys}, ',
    )
    run(project, cache, code=probe, PYTHONPATH=str(site))
    assert (
        run(project, cache, code=probe, PYTHONPATH=str(site))["types"]["proj.notes:todo.txt"]
        == "note"
    )
    # An editable plugin being worked on: its file changes, nothing on sys.path does.
    source = site / "notes_plugin.py"
    source.write_text(plugin.format(kind="memo"))
    touch_later(source)
    assert (
        run(project, cache, code=probe, PYTHONPATH=str(site))["types"]["proj.notes:todo.txt"]
        == "memo"
    )


def test_manifest_warnings_are_repeated_on_warm_starts(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (project / "lllm.toml").write_text('[package]\nname = "proj"\n[prompts]\nfolders = ["x"]\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env.update({"LLLM_CACHE_DIR": str(cache), "LLLM_HOME": str(tmp_path / "home")})
    for _ in range(2):  # cold, then warm from the cache
        result = subprocess.run(
            [sys.executable, "-W", "always", "-c", "import lllm"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (
            result.returncode == 0 and "folders" in result.stderr and "lllm.toml" in result.stderr
        )


def test_a_cache_others_could_write_is_not_used(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(project, cache)
    for file in cache.glob("*.idx"):
        file.chmod(0o666)
    again = run(project, cache)
    assert again["user_modules_at_start"] != []  # discovered afresh, the shared file ignored


def _files(change):
    return lambda folder: (folder[0], {k: change(v) for k, v in folder[1].items()}, folder[2])


@pytest.mark.parametrize(
    "damage",
    [
        _files(lambda v: 5),
        _files(lambda v: (v[0], v[1], 7)),
        _files(lambda v: (v[0], v[1], (99,))),
        _files(lambda v: (v[0], ("k",), v[2])),
        _files(lambda v: ((1, 2), v[1], v[2])),
        *[
            _files(lambda v, bad=bad: (v[0], (bad, *v[1][1:]), v[2]) if v[1] else v)
            for bad in ("", "a:b", "/lead", "trail/", "a//b", 7, None)
        ],
        lambda folder: (folder[0], [1, 2], folder[2]),
        lambda folder: (5, folder[1], folder[2]),
        lambda folder: ((("", "not a time", 0, 0),), folder[1], folder[2]),
        lambda folder: (((7, 0, 0, 0),), folder[1], folder[2]),
        lambda folder: ((("../..", 0, 1, 2, 3),), folder[1], folder[2]),
        lambda folder: (folder[0], folder[1], (("/etc/passwd",),)),
        lambda folder: folder[:2],
    ],
    ids=[
        "record-is-a-number",
        "dependencies-not-a-tuple",
        "dependency-index-outside",
        "resources-too-short",
        "signature-too-short",
        "key-empty",
        "key-with-colon",
        "key-leading-slash",
        "key-trailing-slash",
        "key-empty-segment",
        "key-a-number",
        "key-none",
        "files-not-a-dict",
        "dirs-not-a-tuple",
        "dir-time-not-a-number",
        "dir-name-not-a-string",
        "dir-entry-too-long",
        "dependency-without-signature",
        "record-too-short",
    ],
)
def test_structurally_damaged_cache_falls_back_to_discovery(
    project: Path, tmp_path: Path, damage
) -> None:
    cache = tmp_path / "cache"
    truth = run(project, cache)
    (index_file,) = [f for f in cache.glob("*.idx") if not f.name.startswith("env-")]
    data = read_record(index_file)
    data["folders"] = {key: damage(folder) for key, folder in data["folders"].items()}
    assert write_record(index_file, data)
    assert run(project, cache)["values"] == truth["values"]


def test_cached_package_locations_outside_sys_path_are_ignored(tmp_path: Path, monkeypatch) -> None:
    from lllm import _scopes as scopes
    from lllm._index import facts, fingerprint

    monkeypatch.setenv("LLLM_CACHE_DIR", str(tmp_path / "cache"))
    fingerprint.forget()
    evil = write_tree(tmp_path / "evil", {"lllm.toml": '[package]\nname = "evil"\n'})
    record = facts.environment_facts()
    assert record is not None
    record["lllm.packages"] = [["evil", str(evil), "evil-dist"]]
    facts.save_environment_facts(record)
    assert all(found.folder != str(evil) for found in scopes.entry_point_packages())


def test_a_time_too_recent_to_trust_is_checked_again(project: Path, tmp_path: Path) -> None:
    # A file changed within a clock tick of being read may change again without its time
    # moving. Simulated with a time in the future: the cache must not trust it.
    cache = tmp_path / "cache"
    target = project / "prompts/notes/system.md"
    future = time.time_ns() + 3_600 * 1_000_000_000
    os.utime(target, ns=(future, future))
    assert run(project, cache)["values"]["proj.prompts:notes/system"] == "System v1"
    target.write_text("System v2")  # same size, and the same time as before
    os.utime(target, ns=(future, future))
    assert run(project, cache)["values"]["proj.prompts:notes/system"] == "System v2"


def test_a_folder_time_too_recent_to_trust_means_a_walk(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    folder = project / "prompts/notes"
    future = time.time_ns() + 3_600 * 1_000_000_000
    os.utime(folder, ns=(future, future))
    run(project, cache)
    (folder / "added.md").write_text("Added")
    age(folder / "added.md")
    os.utime(folder, ns=(future, future))  # the folder's time did not move
    assert run(project, cache)["values"]["proj.prompts:notes/added"] == "Added"


def test_an_unchanged_tree_is_not_listed_again(project: Path, tmp_path: Path, monkeypatch) -> None:
    # With every folder's time unchanged, a warm load stats the cached files and lists no folder.
    import lllm._index.folders
    from lllm import Runtime, load_package

    monkeypatch.setenv("LLLM_CACHE_DIR", str(tmp_path / "cache"))
    load_package(project, runtime=Runtime())
    walks = []
    original = lllm._index.folders.walk_stats
    monkeypatch.setattr(
        lllm._index.folders,
        "walk_stats",
        lambda root, confine=None: walks.append(root) or original(root, confine),
    )
    rt = Runtime()
    load_package(project, runtime=rt)
    assert walks == []
    assert rt.get("proj.prompts:notes/system").prompt == "System v1"
    (project / "assets/data/new.txt").write_text("new")
    rt = Runtime()
    load_package(project, runtime=rt)
    assert walks == [str(project / "assets")] and rt.get("proj.assets:data/new.txt") == b"new"


def test_a_cached_listing_cannot_name_files_outside_its_folder(
    project: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    outside = project / "secret.txt"
    outside.write_text("secret")
    age(outside)
    run(project, cache)
    (index_file,) = [f for f in cache.glob("*.idx") if not f.name.startswith("env-")]
    data = read_record(index_file)
    st = outside.stat()
    for name, (dirs, files, deps) in list(data["folders"].items()):
        if name.startswith("assets|"):
            files["../secret.txt"] = (
                (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino),
                ("secret.txt", "file", None, None),
                (),
            )
            top = project.stat()
            data["folders"][name] = (
                (*dirs, ("..", top.st_mtime_ns, top.st_ctime_ns, top.st_ino)),
                files,
                deps,
            )
    assert write_record(index_file, data)
    after = run(project, cache)
    assert not any("secret" in key for key in after["keys"])
    assert after["values"]["proj.assets:data/table.csv"] == "a,b\n1,2\n"


def test_scripts_in_other_folders_share_the_cache(project: Path, tmp_path: Path) -> None:
    # sys.path[0] is the script's folder; folders holding no distribution are not part of the
    # environment, so running a script from elsewhere does not throw the cache away.
    cache = tmp_path / "cache"
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "probe.py").write_text(probe_script())
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env.update({"LLLM_CACHE_DIR": str(cache), "LLLM_HOME": str(project.parent / "home")})
    run(project, cache)
    result = subprocess.run(
        [sys.executable, str(scripts / "probe.py")],
        cwd=project,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["user_modules_at_start"] == []


def test_manifest_values_the_cache_cannot_store_do_not_break_loading(tmp_path: Path) -> None:
    project = age(
        write_tree(
            tmp_path / "proj",
            {
                "lllm.toml": '[package]\nname = "proj"\n[assets]\nreleased = 1979-05-27\n',
                "assets/a.txt": "A",
                "prompts/p.py": "from lllm import Prompt\np = Prompt(path='p', prompt='P')\n",
            },
        )
    )
    cache = tmp_path / "cache"
    cold, warm = run(project, cache), run(project, cache)
    assert cold["values"]["proj.assets:a.txt"] == warm["values"]["proj.assets:a.txt"] == "A"
    assert warm["user_modules_at_start"] == []  # the folders were cached all the same


def load_keys(project: Path, cache: Path, monkeypatch) -> list[str]:
    """Load ``project`` into a fresh runtime in this process (the cache in ``cache``)."""
    from lllm import Runtime, load_package

    monkeypatch.setenv("LLLM_CACHE_DIR", str(cache))
    rt = Runtime()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_package(project, runtime=rt)
    return rt.keys()


def test_a_dangling_link_that_comes_to_life_is_seen(
    project: Path, tmp_path: Path, monkeypatch
) -> None:
    # What a dangling link will point to is in no folder's times: its folder is walked each time.
    cache = tmp_path / "cache"
    (project / "prompts/later.md").symlink_to(tmp_path / "target.md")
    st = (project / "prompts").stat()
    os.utime(project / "prompts", ns=(st.st_atime_ns, st.st_mtime_ns - 60_000_000_000))
    assert "proj.prompts:later" not in load_keys(project, cache, monkeypatch)
    (tmp_path / "target.md").write_text("Later")
    assert "proj.prompts:later" in load_keys(project, cache, monkeypatch)


def test_a_linked_folder_pointed_elsewhere_is_walked_again(
    project: Path, tmp_path: Path, monkeypatch
) -> None:
    # Two trees with the same folder times (as builds with normalised times make): the link
    # is re-pointed without its parent's time moving; the folder's inode tells them apart.
    cache = tmp_path / "cache"
    first = write_tree(tmp_path / "first", {"a.md": "A"})
    second = write_tree(tmp_path / "second", {"a.md": "A", "b.md": "B"})
    for tree in (first, second):
        for path in [tree, *tree.rglob("*")]:
            os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    link = project / "prompts/shared"
    link.symlink_to(first, target_is_directory=True)
    age(project / "prompts")
    assert "proj.prompts:shared/b" not in load_keys(project, cache, monkeypatch)
    before = (project / "prompts").stat()
    link.unlink()
    link.symlink_to(second, target_is_directory=True)
    os.utime(project / "prompts", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert "proj.prompts:shared/b" in load_keys(project, cache, monkeypatch)


def test_a_manifest_rewritten_within_a_clock_tick_is_read_again(
    project: Path, tmp_path: Path, monkeypatch
) -> None:
    cache = tmp_path / "cache"
    manifest = project / "lllm.toml"
    future = time.time_ns() + 3_600 * 1_000_000_000
    manifest.write_text('[package]\nname = "proj"\n[assets]\npaths = ["assets"]\n')
    os.utime(manifest, ns=(future, future))
    assert "proj.assets:data/table.csv" in load_keys(project, cache, monkeypatch)
    manifest.write_text('[package]\nname = "proj"\n[assets]\npaths = ["nothere"]\n')  # same size
    os.utime(manifest, ns=(future, future))
    assert "proj.assets:data/table.csv" not in load_keys(project, cache, monkeypatch)


def test_a_manifest_reached_through_a_link_resolves_its_paths_from_there(
    tmp_path: Path, monkeypatch
) -> None:
    # The cache file is the manifest's (by real path), but relative paths resolve from the
    # folder the manifest was reached in: reached another way, it is parsed again.
    real = write_tree(
        tmp_path / "real/proj",
        {"lllm.toml": '[package]\nname = "p"\n[prompts]\npaths = ["../shared"]\n'},
    )
    write_tree(tmp_path / "real/shared", {"r.md": "R"})
    (tmp_path / "elsewhere").mkdir()
    write_tree(tmp_path / "elsewhere/shared", {"l.md": "L"})
    (tmp_path / "elsewhere/proj").symlink_to(real, target_is_directory=True)
    age(tmp_path)
    cache = tmp_path / "cache"
    assert load_keys(real, cache, monkeypatch) == ["p.prompts:r"]
    assert load_keys(tmp_path / "elsewhere/proj", cache, monkeypatch) == ["p.prompts:l"]
    assert load_keys(real, cache, monkeypatch) == ["p.prompts:r"]


def test_a_cached_section_keeps_its_default_folder(tmp_path: Path, monkeypatch) -> None:
    from lllm.testing import installed_distribution

    plugin = """
        from lllm.plugin import SectionSpec, file_nodes, hookimpl

        @hookimpl
        def lllm_sections():
            return [SectionSpec(name="tables", resource_type="table", default_folder="data/tables", cacheable=True, discover=discover)]
        def discover(folder):
            return file_nodes(folder)
    """
    with installed_distribution(
        tmp_path / "site",
        "tables-plugin",
        entry_points={"lllm.plugins": {"tables": "tables_plugin"}},
        modules={"tables_plugin.py": plugin},
    ):
        project = age(
            write_tree(
                tmp_path / "proj",
                {"lllm.toml": '[package]\nname = "proj"\n', "data/tables/x.csv": "a\n"},
            )
        )
        cache = tmp_path / "cache"
        for _ in range(3):  # cold, then from the cache
            assert load_keys(project, cache, monkeypatch) == ["proj.tables:x.csv"]


def _rows(change):
    return lambda data: data.update(
        {"sections": (tuple(change(row) for row in data["sections"][0]), data["sections"][1])}
    )


@pytest.mark.parametrize(
    "damage",
    [
        _rows(lambda row: (row[0], row[1], "no-such-plugin", *row[3:])),
        lambda data: data.update(
            {"sections": (data["sections"][0], (("bad\0path", (1, 2, 3, 4)),))}
        ),
        _rows(lambda row: (*row[:4], "../../outside", *row[5:])),
        _rows(
            lambda row: (
                *row[:6],
                {"text": "os:system", "config": "os:system", "file": "os:system"},
                row[7],
            )
        ),
        _rows(lambda row: (*row[:6], {"text": 5}, row[7])),
    ],
    ids=[
        "unknown-plugin",
        "nul-in-a-code-path",
        "default-folder-outside",
        "loaders-naming-other-code",
        "loader-not-a-reference",
    ],
)
def test_a_damaged_section_table_does_not_break_loading(
    project: Path, tmp_path: Path, damage
) -> None:
    cache = tmp_path / "cache"
    truth = run(project, cache)
    (index_file,) = [f for f in cache.glob("*.idx") if not f.name.startswith("env-")]
    data = read_record(index_file)
    damage(data)
    change_files(
        data, lambda record: ((-1, -1, -1, -1), *record[1:])
    )  # every file changed: the plugin must be asked
    assert write_record(index_file, data)
    after = run(project, cache)  # no crash (auto-init would have started empty and warned)
    assert set(after["keys"]) <= set(truth["keys"])  # and nothing from elsewhere
    assert after["keys"]


def test_old_environment_and_package_files_are_pruned(tmp_path: Path, monkeypatch) -> None:
    # One session of plugin work once left 25 environment files: every install changes the
    # environment. Writing a new environment's record keeps the newest eight, and drops any
    # file not written for 30 days.
    from lllm._index import facts, fingerprint

    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    monkeypatch.setenv("LLLM_CACHE_DIR", str(cache))
    fingerprint.forget()
    tag = sys.implementation.cache_tag
    now = time.time()
    for i in range(12):
        old = cache / f"env-{i:016x}.{tag}.idx"
        old.write_bytes(b"x")
        os.utime(old, (now - 3600 * (i + 1), now - 3600 * (i + 1)))
    stale_package = cache / f"{1:016x}.{tag}.idx"
    recent_package = cache / f"{2:016x}.{tag}.idx"
    for path, age_days in ((stale_package, 40), (recent_package, 2)):
        path.write_bytes(b"x")
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
    record = facts.environment_facts()
    assert record is not None
    facts.save_environment_facts(record)
    environments = sorted(cache.glob("env-*.idx"), key=lambda p: p.stat().st_mtime, reverse=True)
    assert len(environments) == 8
    assert (
        facts.environment_facts().get("new") is None
    )  # this environment's record survived, and is read back
    assert not stale_package.exists() and recent_package.exists()
    fingerprint.forget()


def test_records_of_folders_no_longer_listed_are_dropped(
    project: Path, tmp_path: Path, monkeypatch
) -> None:
    cache = tmp_path / "cache"
    load_keys(project, cache, monkeypatch)
    (index_file,) = [f for f in cache.glob("*.idx") if not f.name.startswith("env-")]
    assert any(key.startswith("assets|") for key in read_record(index_file)["folders"])
    (project / "lllm.toml").write_text('[package]\nname = "proj"\n[assets]\npaths = []\n')
    load_keys(project, cache, monkeypatch)
    assert not any(key.startswith("assets|") for key in read_record(index_file)["folders"])
