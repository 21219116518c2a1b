"""Package management: export, install, list and remove (spec §8).

Every test has its own ``LLLM_HOME`` (user scope) and works from its own project folder
(project scope), with fresh runtimes passed explicitly.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from pathlib import Path

import pytest
from pkgtree import write_tree

import lllm
from lllm._scopes import INSTALL_RECORD, scope_dir
from lllm.core.runtime import Runtime


def manifest(
    name: str, *, version: str = "1.0.0", description: str = "", deps: tuple[str, ...] = ()
) -> str:
    text = f'[package]\nname = "{name}"\nversion = "{version}"\ndescription = "{description}"\n'
    if deps:
        text += "\n[dependencies]\npackages = [" + ", ".join(f'"{d}"' for d in deps) + "]\n"
    return text


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    home = tmp_path / "home"
    project = tmp_path / "project"
    work = tmp_path / "work"
    src = tmp_path / "src"
    for folder in (home, project, work, src):
        folder.mkdir()
    monkeypatch.setenv("LLLM_HOME", str(home))
    monkeypatch.chdir(project)
    return {"home": home, "project": project, "work": work, "src": src, "user": home / "packages"}


def build_family(src: Path, *, dep_extra: dict[str, str] | None = None) -> Path:
    """``acme`` → ``../dep as d`` → ``../base``; returns acme's folder."""
    write_tree(
        src / "base",
        {"lllm.toml": manifest("base", version="0.1.0"), "prompts/root.md": "Base root"},
    )
    write_tree(
        src / "dep",
        {
            "lllm.toml": manifest(
                "dep", version="0.3.0", description="shared prompts", deps=("../base",)
            ),
            "prompts/greet.md": "Greetings {who}",
            **(dep_extra or {}),
        },
    )
    return write_tree(
        src / "acme",
        {
            "lllm.toml": manifest(
                "acme", version="1.2.0", description="The Acme assistant", deps=("../dep as d",)
            ),
            "prompts/hello.md": "Hello from acme",
            "prompts/support/escalate.txt": "Escalate {ticket}",
            "configs/default.yaml": "model: small\ntemperature: 0.1\n",
            "data/cities.csv": "name\nParis\n",
        },
    )


def simple_package(src: Path, name: str = "acme") -> Path:
    return write_tree(
        src / name,
        {
            "lllm.toml": manifest(name, version="2.0.0", description="simple"),
            "prompts/hello.md": f"Hello from {name}",
        },
    )


def export_simple(env: dict[str, Path], name: str = "acme") -> Path:
    rt = Runtime()
    lllm.load_package(simple_package(env["src"], name), runtime=rt)
    return lllm.export_package(name, env["work"] / f"{name}.zip", runtime=rt)


def record_warnings() -> warnings.catch_warnings:
    return warnings.catch_warnings(record=True)


def files_of(folder: Path, *, skip: tuple[str, ...] = (INSTALL_RECORD,)) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() not in skip
    }


def zip_files(archive: Path, root: str) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as zf:
        return {i.filename[len(root) + 1 :]: zf.read(i) for i in zf.infolist() if not i.is_dir()}


# ------------------------------------------------------------------------------ 1. round trip


def test_round_trip_without_bundling_warns_about_the_missing_dependency(
    env: dict[str, Path],
) -> None:
    rt = Runtime()
    lllm.load_package(build_family(env["src"]), runtime=rt)
    assert rt.get_prompt("d:greet")(who="you") == "Greetings you"
    archive = lllm.export_package("acme", env["work"] / "acme", runtime=rt)
    assert archive == env["work"] / "acme.zip"
    with zipfile.ZipFile(archive) as zf:
        assert not any("lllm_packages" in n for n in zf.namelist())

    rt2 = Runtime()
    with record_warnings() as caught:
        warnings.simplefilter("always")
        installed = lllm.install_package(archive, scope="user", runtime=rt2)
    assert installed == env["user"] / "acme"
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert any("../dep as d" in m or "'../dep" in m for m in messages), messages
    assert rt2.get_prompt("acme:hello").prompt.strip() == "Hello from acme"
    assert "acme" in rt2.packages
    assert "dep" not in rt2.packages and "d" not in rt2.packages and "base" not in rt2.packages
    assert not any(k.startswith(("dep.", "d.", "base.")) for k in rt2.keys())


def test_round_trip_bundled_loads_dependencies_aliases_and_transitive_ones(
    env: dict[str, Path],
) -> None:
    rt = Runtime()
    lllm.load_package(build_family(env["src"]), runtime=rt)
    archive = lllm.export_package(
        "acme", env["work"] / "acme-bundled.zip", bundle_deps=True, runtime=rt
    )
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
    assert "acme/lllm_packages/dep/lllm.toml" in names
    assert "acme/lllm_packages/dep/prompts/greet.md" in names
    assert "acme/lllm_packages/base/lllm.toml" in names
    assert "acme/lllm_packages/base/prompts/root.md" in names

    installed = lllm.install_package(archive, scope="user", load=False, runtime=Runtime())
    assert installed == env["user"] / "acme"

    rt2 = Runtime()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no missing dependency, no conflict
        lllm.load_package(installed, runtime=rt2)
    assert rt2.get_prompt("acme:hello").prompt.strip() == "Hello from acme"
    assert rt2.get_prompt("d:greet")(who="Ada") == "Greetings Ada"
    assert rt2.get_prompt("dep:greet")(who="Bo") == "Greetings Bo"
    assert rt2.get_prompt("base:root").prompt.strip() == "Base root"
    assert rt2.get_config("acme:default")["model"] == "small"
    assert {"acme", "dep", "d", "base"} <= set(rt2.packages)
    assert Path(rt2.packages["dep"].base_dir) == installed / "lllm_packages" / "dep"
    assert Path(rt2.packages["base"].base_dir) == installed / "lllm_packages" / "base"

    listed = lllm.list_packages(runtime=rt2)
    assert listed == [
        {
            "name": "acme",
            "version": "1.2.0",
            "description": "The Acme assistant",
            "scope": "user",
            "path": str(installed),
        }
    ]
    assert lllm.list_packages("user", runtime=rt2) == listed
    assert lllm.list_packages("project", runtime=rt2) == []

    manifest_path = os.path.realpath(installed / "lllm.toml")
    assert manifest_path in rt2.loaded_package_paths
    removed = lllm.remove_package("acme", runtime=rt2)
    assert removed == installed
    assert not installed.exists() and not os.path.lexists(installed)
    assert not any(k.startswith("acme.") for k in rt2.keys())
    assert "acme" not in rt2.packages
    assert manifest_path not in rt2.loaded_package_paths
    assert lllm.list_packages(runtime=rt2) == []
    assert [n for n in os.listdir(env["user"]) if not n.endswith(".lllm-lock")] == []

    # installed again, it loads again into the same runtime
    again = lllm.install_package(archive, scope="user", runtime=rt2)
    assert again == installed
    assert rt2.get_prompt("acme:hello").prompt.strip() == "Hello from acme"
    assert "acme.prompts:hello" in rt2.keys()
    assert rt2.get_prompt("d:greet")(who="Cy") == "Greetings Cy"
    assert manifest_path in rt2.loaded_package_paths


def test_remove_unregisters_the_bundled_dependencies_it_deleted(env: dict[str, Path]) -> None:
    """Dependencies loaded from inside the removed folder lose their files: they must go too,
    or a reinstalled newer version of them is masked by the stale registration."""
    rt = Runtime()
    lllm.load_package(build_family(env["src"]), runtime=rt)
    archive = lllm.export_package("acme", env["work"] / "v1.zip", bundle_deps=True, runtime=rt)

    rt2 = Runtime()
    installed = lllm.install_package(archive, scope="user", runtime=rt2)
    assert rt2.get_prompt("d:greet")(who="x") == "Greetings x"
    lllm.remove_package("acme", runtime=rt2)
    dangling = [
        node.qualified_key
        for node in rt2.iter_nodes()
        if node.metadata.get("file_path")
        and Path(node.metadata["file_path"]).is_relative_to(installed)
    ]
    assert dangling == []
    assert not {"dep", "d", "base"} & set(rt2.packages)

    # v2 of the bundle: dep gained a prompt
    src2 = env["src"].parent / "src2"
    src2.mkdir()
    rt3 = Runtime()
    lllm.load_package(
        build_family(src2, dep_extra={"prompts/farewell.md": "Bye {who}"}), runtime=rt3
    )
    archive2 = lllm.export_package("acme", env["work"] / "v2.zip", bundle_deps=True, runtime=rt3)
    lllm.install_package(archive2, scope="user", runtime=rt2)
    assert rt2.get_prompt("d:farewell")(who="z") == "Bye z"


# ---------------------------------------------------------------------------- 2. export


def noisy_package(src: Path, *, stray_pyc: bool = False) -> Path:
    if stray_pyc:
        write_tree(
            src / "acme", {"prompts/legacy.pyc": b"\x00stray bytecode", "legacy_top.pyc": b"\x00"}
        )
    return write_tree(
        src / "acme",
        {
            "lllm.toml": manifest("acme", version="1.0.0", description="noisy"),
            "prompts/hello.md": "Hello",
            "prompts/zeta.md": "Z",
            "prompts/alpha/beta.md": "B",
            "prompts/tool.py": "from lllm import Prompt\nt = Prompt(path='t', prompt='T')\n",
            "prompts/.secret.md": "hidden",
            "prompts/__pycache__/tool.cpython-311.pyc": b"\x00compiled",
            "__pycache__/top.cpython-311.pyc": b"\x00compiled",
            ".hidden_file": "hidden",
            ".git/config": "[core]\n",
            ".lllm-install.json": '{"name": "acme"}\n',
            "lllm_packages/vendored/lllm.toml": manifest("vendored"),
            "lllm_packages/vendored/prompts/v.md": "V",
            "data/table.csv": "a,b\n1,2\n",
            "Zupper.txt": "capital",
        },
    )


def test_export_is_byte_identical_and_ignores_mtimes_and_permissions(env: dict[str, Path]) -> None:
    package = noisy_package(env["src"])
    rt = Runtime()
    lllm.load_package(package, runtime=rt)
    first = lllm.export_package("acme", env["work"] / "one.zip", runtime=rt)
    second = lllm.export_package("acme", env["work"] / "two.zip", runtime=rt)
    assert first.read_bytes() == second.read_bytes()

    os.utime(package / "prompts" / "hello.md", (1_000_000_000, 1_000_000_000))
    os.utime(package / "lllm.toml", None)
    os.chmod(package / "data" / "table.csv", 0o755)
    third = lllm.export_package("acme", env["work"] / "three.zip", runtime=rt)
    assert third.read_bytes() == first.read_bytes()

    # overwriting an existing zip gives the same bytes and leaves no temporary file behind
    again = lllm.export_package("acme", env["work"] / "one.zip", runtime=rt)
    assert again.read_bytes() == first.read_bytes()
    assert sorted(os.listdir(env["work"])) == ["one.zip", "three.zip", "two.zip"]

    # the same content elsewhere on disk gives the same bytes
    copy = env["src"].parent / "elsewhere" / "acme"
    shutil.copytree(package, copy)
    rt_copy = Runtime()
    lllm.load_package(copy, runtime=rt_copy)
    assert (
        lllm.export_package("acme", env["work"] / "copy.zip", runtime=rt_copy).read_bytes()
        == first.read_bytes()
    )

    # ...and different content gives different bytes
    (package / "prompts" / "hello.md").write_text("Hello, changed")
    assert (
        lllm.export_package("acme", env["work"] / "changed.zip", runtime=rt).read_bytes()
        != first.read_bytes()
    )


def test_export_contents_layout_and_exclusions(env: dict[str, Path]) -> None:
    package = noisy_package(env["src"])
    rt = Runtime()
    lllm.load_package(package, runtime=rt)
    archive = lllm.export_package("acme", env["work"] / "acme.zip", runtime=rt)
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        contents = {i.filename: zf.read(i) for i in infos}
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    assert all(n.startswith("acme/") for n in names)
    assert len({i.date_time for i in infos}) == 1
    assert names == [
        "acme/Zupper.txt",
        "acme/data/table.csv",
        "acme/lllm.toml",
        "acme/prompts/alpha/beta.md",
        "acme/prompts/hello.md",
        "acme/prompts/tool.py",
        "acme/prompts/zeta.md",
    ]
    for name in names:
        parts = name.split("/")
        assert not any(p.startswith(".") for p in parts)
        assert "__pycache__" not in parts and "lllm_packages" not in parts
        assert not name.endswith(".pyc")
        assert contents[name] == (package / name[len("acme/") :]).read_bytes()


def test_export_leaves_out_stray_pyc_files(env: dict[str, Path]) -> None:
    """``.pyc`` files outside ``__pycache__`` (Python 2 style, or left by tools) are bytecode too."""
    package = noisy_package(env["src"], stray_pyc=True)
    rt = Runtime()
    lllm.load_package(package, runtime=rt)
    archive = lllm.export_package("acme", env["work"] / "acme.zip", runtime=rt)
    with zipfile.ZipFile(archive) as zf:
        assert [n for n in zf.namelist() if n.endswith(".pyc")] == []


def test_export_bundling_puts_dependencies_under_lllm_packages(env: dict[str, Path]) -> None:
    rt = Runtime()
    lllm.load_package(build_family(env["src"]), runtime=rt)
    write_tree(env["src"] / "dep", {"__pycache__/x.pyc": b"\0", ".hidden.md": "h"})
    first = lllm.export_package("acme", env["work"] / "b1", bundle_deps=True, runtime=rt)
    second = lllm.export_package("acme", env["work"] / "b2", bundle_deps=True, runtime=rt)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
    assert names == sorted(names)
    assert all(n.startswith("acme/") for n in names)
    assert [n for n in names if n.startswith("acme/lllm_packages/")] == [
        "acme/lllm_packages/base/lllm.toml",
        "acme/lllm_packages/base/prompts/root.md",
        "acme/lllm_packages/dep/lllm.toml",
        "acme/lllm_packages/dep/prompts/greet.md",
    ]
    plain = lllm.export_package("acme", env["work"] / "plain", runtime=rt)
    with zipfile.ZipFile(plain) as zf:
        assert not any("lllm_packages" in n for n in zf.namelist())


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("acme-v1.2", "acme-v1.2.zip"),
        ("x.zip", "x.zip"),
        ("plain", "plain.zip"),
        ("UPPER.ZIP", "UPPER.ZIP"),
    ],
)
def test_export_zip_name(env: dict[str, Path], given: str, expected: str) -> None:
    rt = Runtime()
    lllm.load_package(simple_package(env["src"]), runtime=rt)
    result = lllm.export_package("acme", env["work"] / given, runtime=rt)
    assert result == env["work"] / expected
    assert result.is_file() and zipfile.is_zipfile(result)
    assert sorted(os.listdir(env["work"])) == [expected]


def test_export_of_an_unknown_package(env: dict[str, Path]) -> None:
    rt = Runtime()
    lllm.load_package(simple_package(env["src"]), runtime=rt)
    with pytest.raises(KeyError):
        lllm.export_package("nothing_here", env["work"] / "x.zip", runtime=rt)
    assert os.listdir(env["work"]) == []


# ----------------------------------------------------------------------- 3. install details


def test_install_under_an_alias_keeps_the_manifest_byte_identical(env: dict[str, Path]) -> None:
    archive = export_simple(env)
    with zipfile.ZipFile(archive) as zf:
        shipped = zf.read("acme/lllm.toml")
    rt = Runtime()
    installed = lllm.install_package(archive, alias="other", scope="user", runtime=rt)
    assert installed == env["user"] / "other"
    assert (installed / "lllm.toml").read_bytes() == shipped
    assert files_of(installed) == zip_files(archive, "acme")
    assert "other" in rt.packages and "acme" not in rt.packages
    assert rt.get_prompt("other:hello").prompt.strip() == "Hello from acme"
    assert all(k.startswith("other.") for k in rt.keys())
    assert [p["name"] for p in lllm.list_packages(runtime=rt)] == ["other"]

    # a fresh runtime loading the folder sees the alias too
    rt2 = Runtime()
    lllm.load_package(installed, runtime=rt2)
    assert "other" in rt2.packages and rt2.get_prompt("other:hello")

    # the original name can be installed beside it
    plain = lllm.install_package(archive, scope="user", runtime=Runtime())
    assert plain == env["user"] / "acme"
    assert [p["name"] for p in lllm.list_packages()] == ["acme", "other"]


@pytest.mark.parametrize("alias", ["../x", "a b", "a.b", "x/y", "", "a:b"])
def test_invalid_alias_is_refused_before_writing(env: dict[str, Path], alias: str) -> None:
    archive = export_simple(env)
    with pytest.raises(ValueError):
        lllm.install_package(archive, alias=alias, scope="user", runtime=Runtime())
    assert not env["user"].exists() or os.listdir(env["user"]) == []
    assert sorted(os.listdir(env["home"])) in ([], ["packages"])
    assert not (env["home"] / "x").exists() and not (env["home"].parent / "x").exists()


@pytest.mark.parametrize("scope", ["global", "", "User", "system", 3])
def test_invalid_scope_is_refused(env: dict[str, Path], scope: object) -> None:
    archive = export_simple(env)
    with pytest.raises(ValueError):
        lllm.install_package(archive, scope=scope, runtime=Runtime())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        lllm.list_packages(scope)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        lllm.remove_package("acme", scope=scope)  # type: ignore[arg-type]
    assert not env["user"].exists()
    assert not (env["project"] / "lllm_packages").exists()


def test_install_scope_none_is_refused(env: dict[str, Path]) -> None:
    archive = export_simple(env)
    with pytest.raises(ValueError):
        lllm.install_package(archive, scope=None, runtime=Runtime())  # type: ignore[arg-type]


def test_missing_zip(env: dict[str, Path]) -> None:
    with pytest.raises(FileNotFoundError):
        lllm.install_package(env["work"] / "missing.zip", scope="user", runtime=Runtime())
    with pytest.raises(FileNotFoundError):
        lllm.install_package(env["work"] / "missing.zip", scope="project", runtime=Runtime())
    assert not env["user"].exists()


def test_installing_a_name_twice(env: dict[str, Path]) -> None:
    archive = export_simple(env)
    first = lllm.install_package(archive, scope="user", runtime=Runtime())
    (first / "prompts" / "local.md").write_text("local change")
    before = files_of(first, skip=())
    with pytest.raises(FileExistsError) as caught:
        lllm.install_package(archive, scope="user", runtime=Runtime())
    assert "acme" in str(caught.value)
    with pytest.raises(FileExistsError):
        lllm.install_package(archive, alias="acme", scope="user", runtime=Runtime())
    # another archive declaring the same name collides too
    other_src = env["src"].parent / "other_src"
    other_src.mkdir()
    rt = Runtime()
    lllm.load_package(simple_package(other_src, "acme"), runtime=rt)
    with pytest.raises(FileExistsError):
        lllm.install_package(
            lllm.export_package("acme", env["work"] / "another", runtime=rt), runtime=Runtime()
        )
    assert files_of(first, skip=()) == before
    assert [n for n in os.listdir(env["user"]) if not n.endswith(".lllm-lock")] == ["acme"]


def test_a_dangling_link_with_the_name_counts_as_installed(env: dict[str, Path]) -> None:
    archive = export_simple(env)
    env["user"].mkdir()
    (env["user"] / "acme").symlink_to(env["work"] / "nowhere")
    with pytest.raises(FileExistsError):
        lllm.install_package(archive, scope="user", runtime=Runtime())
    assert not (env["work"] / "nowhere").exists()


def test_project_scope_installs_into_the_project(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = export_simple(env)
    project = env["project"]
    (project / "lllm.toml").write_text(manifest("myproject"))
    deeper = project / "sub" / "deeper"
    deeper.mkdir(parents=True)
    monkeypatch.chdir(deeper)
    assert scope_dir("project") == project / "lllm_packages"
    rt = Runtime()
    installed = lllm.install_package(archive, scope="project", runtime=rt)
    assert installed == project / "lllm_packages" / "acme"
    assert files_of(installed) == zip_files(archive, "acme")
    assert not env["user"].exists()
    assert rt.get_prompt("acme:hello")
    assert lllm.list_packages() == [
        {
            "name": "acme",
            "version": "2.0.0",
            "description": "simple",
            "scope": "project",
            "path": str(installed),
        }
    ]
    record = json.loads((installed / INSTALL_RECORD).read_text())
    assert record["name"] == "acme"


def test_project_scope_without_a_manifest_uses_the_cwd(env: dict[str, Path]) -> None:
    archive = export_simple(env)
    installed = lllm.install_package(archive, scope="project", load=False, runtime=Runtime())
    assert installed == env["project"] / "lllm_packages" / "acme"


def test_list_orders_project_scope_first(env: dict[str, Path]) -> None:
    archive = export_simple(env)
    user = lllm.install_package(archive, scope="user", load=False, runtime=Runtime())
    project = lllm.install_package(archive, scope="project", load=False, runtime=Runtime())
    listed = lllm.list_packages()
    assert [(p["scope"], p["path"]) for p in listed] == [
        ("project", str(project)),
        ("user", str(user)),
    ]
    assert lllm.list_packages("user") == [listed[1]]


def test_remove_needs_a_scope_when_both_have_the_name(env: dict[str, Path]) -> None:
    archive = export_simple(env)
    user = lllm.install_package(archive, scope="user", load=False, runtime=Runtime())
    project = lllm.install_package(archive, scope="project", load=False, runtime=Runtime())
    with pytest.raises(ValueError) as caught:
        lllm.remove_package("acme", runtime=Runtime())
    assert str(user) in str(caught.value) and str(project) in str(caught.value)
    assert user.is_dir() and project.is_dir()

    assert lllm.remove_package("acme", scope="project", runtime=Runtime()) == project
    assert not project.exists() and user.is_dir()
    assert lllm.remove_package("acme", runtime=Runtime()) == user
    assert not user.exists()
    with pytest.raises(FileNotFoundError):
        lllm.remove_package("acme", runtime=Runtime())


def test_remove_unknown_name(env: dict[str, Path]) -> None:
    with pytest.raises(FileNotFoundError):
        lllm.remove_package("nobody", runtime=Runtime())
    with pytest.raises(FileNotFoundError):
        lllm.remove_package("nobody", scope="user", runtime=Runtime())
    export_simple(env)
    lllm.install_package(env["work"] / "acme.zip", scope="user", load=False, runtime=Runtime())
    with pytest.raises(FileNotFoundError):
        lllm.remove_package("acme", scope="project", runtime=Runtime())
    assert (env["user"] / "acme").is_dir()


def test_remove_refuses_a_link_to_outside(env: dict[str, Path]) -> None:
    outside = write_tree(
        env["work"] / "outside" / "evil", {"lllm.toml": manifest("evil"), "prompts/p.md": "P"}
    )
    before = files_of(outside, skip=())
    env["user"].mkdir()
    link = env["user"] / "evil"
    link.symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError) as caught:
        lllm.remove_package("evil", scope="user", runtime=Runtime())
    assert "evil" in str(caught.value)
    assert link.is_symlink() and os.readlink(link) == str(outside)
    assert files_of(outside, skip=()) == before
    with pytest.raises(ValueError):
        lllm.remove_package("evil", runtime=Runtime())
    assert files_of(outside, skip=()) == before


def test_remove_does_not_follow_links_inside_the_package(env: dict[str, Path]) -> None:
    victim = write_tree(env["work"] / "victim", {"keep.txt": "keep me"})
    installed = lllm.install_package(
        export_simple(env), scope="user", load=False, runtime=Runtime()
    )
    (installed / "link_to_victim").symlink_to(victim, target_is_directory=True)
    (installed / "file_link").symlink_to(victim / "keep.txt")
    lllm.remove_package("acme", runtime=Runtime())
    assert not os.path.lexists(installed)
    assert (victim / "keep.txt").read_text() == "keep me"


@pytest.mark.parametrize("kind", ["absolute", "nested", "parent", "dot", "empty"])
def test_remove_only_takes_names_directly_in_the_scope(env: dict[str, Path], kind: str) -> None:
    installed = lllm.install_package(
        export_simple(env), scope="user", load=False, runtime=Runtime()
    )
    victim = write_tree(
        env["work"] / "victim", {"lllm.toml": manifest("victim"), "keep.txt": "keep"}
    )
    name = {
        "absolute": str(victim),
        "nested": "acme/prompts",
        "parent": "..",
        "dot": ".",
        "empty": "",
    }[kind]
    with pytest.raises((ValueError, FileNotFoundError)):
        lllm.remove_package(name, scope="user", runtime=Runtime())
    assert (victim / "keep.txt").read_text() == "keep"
    assert (installed / "prompts" / "hello.md").is_file()
    assert env["user"].is_dir() and env["home"].is_dir()


# ---------------------------------------------------------------------- 4. SIGKILL atomicity


def _subprocess_env(home: Path) -> dict[str, str]:
    environment = dict(os.environ)
    environment["LLLM_HOME"] = str(home)
    environment["LLLM_AUTO_INIT"] = "0"
    return environment


def _install_command(archive: Path, extra: str = "") -> list[str]:
    code = f"import lllm\nlllm.install_package({str(archive)!r}, scope='user', load=False)\n{extra}"
    return [sys.executable, "-c", code]


def _big_archive(path: Path, files: int = 300, size: int = 20_000) -> tuple[Path, dict[str, bytes]]:
    rng = random.Random(99)
    contents = {"lllm.toml": manifest("bulk", description="many files").encode()}
    for i in range(files):
        # half random, half text: deflate has work to do in both directions
        contents[f"data/part{i // 50}/file{i:03d}.bin"] = rng.randbytes(size // 2) + (
            b"line %d\n" % i
        ) * (size // 16)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in contents.items():
            zf.writestr(f"bulk/{name}", data)
    return path, contents


def _check_all_or_nothing(folder: Path, expected: dict[str, bytes]) -> bool:
    """``True`` when the package is there (and then complete), ``False`` when absent."""
    if not os.path.lexists(folder):
        return False
    assert folder.is_dir() and not folder.is_symlink()
    found = files_of(folder)
    assert set(found) == set(expected), (
        f"missing {sorted(set(expected) - set(found))[:5]}, extra {sorted(set(found) - set(expected))[:5]}"
    )
    for name, data in expected.items():
        assert found[name] == data, f"{name} is incomplete"
    assert json.loads((folder / INSTALL_RECORD).read_text())["name"] == "bulk"
    return True


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_never_leaves_a_half_package(env: dict[str, Path]) -> None:
    started = time.monotonic()
    archive, expected = _big_archive(env["work"] / "bulk.zip")
    folder = env["user"] / "bulk"
    child_env = _subprocess_env(env["home"])

    # one full install, timed
    durations = []
    for _ in range(2):
        t0 = time.monotonic()
        subprocess.run(
            _install_command(archive), env=child_env, cwd=env["project"], check=True, timeout=60
        )
        durations.append(time.monotonic() - t0)
        assert _check_all_or_nothing(folder, expected)
        shutil.rmtree(folder)
    full = min(durations)

    rng = random.Random(1234)
    outcomes = []
    interrupted = 0  # kills that left a staging folder: they landed mid-extraction
    for _ in range(24):
        temporaries = {n for n in os.listdir(env["user"]) if n.startswith(".lllm-tmp-")}
        delay = rng.uniform(0, full * 1.1)
        proc = subprocess.Popen(
            _install_command(archive),
            env=child_env,
            cwd=env["project"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.kill()
        proc.wait(timeout=30)
        present = _check_all_or_nothing(folder, expected)
        outcomes.append(present)
        interrupted += bool(
            {n for n in os.listdir(env["user"]) if n.startswith(".lllm-tmp-")} - temporaries
        )
        listed = lllm.list_packages("user")
        assert [p["name"] for p in listed] == (["bulk"] if present else [])
        if present:
            lllm.remove_package("bulk", scope="user", runtime=Runtime())
        assert not os.path.lexists(folder)
        # only hidden entries (locks, temporaries of killed installs) may remain
        assert all(name.startswith(".") for name in os.listdir(env["user"]))

    # a last install completes and sweeps the temporaries the killed ones left
    lllm.install_package(archive, scope="user", load=False, runtime=Runtime())
    assert _check_all_or_nothing(folder, expected)
    leftovers = [n for n in os.listdir(env["user"]) if n.startswith(".lllm-tmp-")]
    assert leftovers == []
    assert time.monotonic() - started < 60, "the kill loop took far too long"
    print(
        f"\nfull install {full:.3f}s; of {len(outcomes)} kills {sum(outcomes)} came after the install, {interrupted} mid-extraction"
    )
    # the delays cover the whole install, so some kills must have landed during the extraction
    assert interrupted >= 1


# ---------------------------------------------------------------------- 5. concurrent installs


def test_concurrent_installs_from_several_processes(env: dict[str, Path]) -> None:
    archive, expected = _big_archive(env["work"] / "bulk.zip", files=60, size=10_000)
    go = env["work"] / "go"
    script = (
        "import os, sys, time\n"
        "import lllm\n"
        f"open(os.path.join({str(env['work'])!r}, 'ready-' + sys.argv[1]), 'w').close()\n"
        f"while not os.path.exists({str(go)!r}):\n"
        "    time.sleep(0.001)\n"
        "try:\n"
        f"    lllm.install_package({str(archive)!r}, scope='user', load=False)\n"
        "except FileExistsError:\n"
        "    print('exists')\n"
        "else:\n"
        "    print('ok')\n"
    )
    child_env = _subprocess_env(env["home"])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i)],
            env=child_env,
            cwd=env["project"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    deadline = time.monotonic() + 30
    while len(list(env["work"].glob("ready-*"))) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(out.strip())
    assert sorted(results) == ["exists"] * 5 + ["ok"]
    assert [n for n in os.listdir(env["user"]) if not n.startswith(".")] == ["bulk"]
    assert _check_all_or_nothing(env["user"] / "bulk", expected)
    assert [n for n in os.listdir(env["user"]) if n.startswith(".lllm-tmp-")] == []


def test_concurrent_installs_from_two_threads(env: dict[str, Path]) -> None:
    archive, expected = _big_archive(env["work"] / "bulk.zip", files=60, size=10_000)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(
                lllm.install_package(archive, scope="user", load=False, runtime=Runtime())
            )
        except FileExistsError as exc:
            results.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results.append(("unexpected", exc))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 2
    paths = [r for r in results if isinstance(r, Path)]
    errors = [r for r in results if isinstance(r, FileExistsError)]
    assert len(paths) == 1 and len(errors) == 1, results
    assert paths[0] == env["user"] / "bulk"
    assert _check_all_or_nothing(paths[0], expected)
    assert [n for n in os.listdir(env["user"]) if not n.startswith(".")] == ["bulk"]


# ---------------------------------------------------------------------- 6. stale temporaries


def test_stale_temporaries_of_dead_processes_are_cleaned(env: dict[str, Path]) -> None:
    """A temporary folder whose lock nobody holds was left by an install that died; one whose
    lock is held (here by another process) is in use and kept."""
    archive = export_simple(env)
    env["user"].mkdir()
    stale = write_tree(env["user"] / ".lllm-tmp-dead", {"package/half.txt": "half"})
    (env["user"] / ".lllm-tmp-dead.lllm-lock").touch()
    live = write_tree(env["user"] / ".lllm-tmp-busy", {"package/busy.txt": "busy"})
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, filelock\n"
            f"with filelock.FileLock({str(live) + '.lllm-lock'!r}):\n"
            "    print('held', flush=True)\n"
            "    sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        lllm.install_package(archive, scope="user", load=False, runtime=Runtime())
    finally:
        holder.communicate("")
    assert not stale.exists() and not (env["user"] / ".lllm-tmp-dead.lllm-lock").exists()
    assert (live / "package" / "busy.txt").read_text() == "busy"
    assert (env["user"] / "acme" / "lllm.toml").is_file()
    assert [p["name"] for p in lllm.list_packages()] == ["acme"]


def test_bundling_follows_a_dependency_given_as_a_manifest_file(tmp_path, monkeypatch) -> None:
    import zipfile

    from lllm.testing import write_package

    monkeypatch.setenv("LLLM_HOME", str(tmp_path / "home"))
    write_package(tmp_path / "extra", {"prompts/x.md": "X"}, name="extra")
    app = write_package(
        tmp_path / "app",
        {"prompts/a.md": "A"},
        name="app",
        manifest='[dependencies]\npackages = ["../extra/lllm.toml"]\n',
    )
    rt = lllm.Runtime()
    lllm.load_package(app, runtime=rt)
    zip_path = lllm.export_package("app", tmp_path / "out" / "app", bundle_deps=True, runtime=rt)
    names = zipfile.ZipFile(zip_path).namelist()
    assert "app/lllm_packages/extra/prompts/x.md" in names
    installed = lllm.install_package(zip_path, runtime=lllm.Runtime(), load=False)
    fresh = lllm.Runtime()
    lllm.load_package(installed, runtime=fresh)
    assert fresh.get_prompt("extra:x").prompt == "X"


def test_bundling_a_missing_dependency_is_an_error(tmp_path, monkeypatch) -> None:
    from lllm.testing import write_package

    app = write_package(
        tmp_path / "app", {}, name="app", manifest='[dependencies]\npackages = ["../gone"]\n'
    )
    rt = lllm.Runtime()
    with pytest.warns(RuntimeWarning):
        lllm.load_package(app, runtime=rt)
    with pytest.raises(FileNotFoundError, match="gone"):
        lllm.export_package("app", tmp_path / "app.zip", bundle_deps=True, runtime=rt)


def test_a_staging_folder_whose_lock_is_held_is_kept(tmp_path) -> None:
    from filelock import FileLock

    from lllm._package_manager import _clean_stale_temporaries

    busy = tmp_path / ".lllm-tmp-busy"
    idle = tmp_path / ".lllm-tmp-idle"
    for folder in (busy, idle):
        folder.mkdir()
    with FileLock(f"{busy}.lllm-lock"):
        _clean_stale_temporaries(tmp_path)
    assert busy.exists() and not idle.exists()


# ------------------------------------------------------------------- the pip scope


def test_pip_shipped_packages_are_listed_and_not_removed(
    env: dict[str, Path], tmp_path: Path
) -> None:
    from lllm.testing import installed_distribution

    with installed_distribution(
        tmp_path / "site",
        "acme-prompts",
        version="2.1",
        entry_points={"lllm.packages": {"acme_prompts": "acme_prompts"}},
        modules={
            "acme_prompts/__init__.py": "raise RuntimeError('listing imports nothing')\n",
            "acme_prompts/lllm.toml": '[package]\nname = "acme_prompts"\nversion = "2.1"\n',
            "acme_prompts/prompts/hi.md": "Hi",
        },
    ):
        listed = lllm.list_packages()
        (pip,) = [p for p in listed if p["scope"] == "pip"]
        assert pip["name"] == "acme_prompts" and pip["version"] == "2.1"
        assert pip["distribution"] == "acme-prompts"
        assert pip["path"] == str(tmp_path / "site" / "acme_prompts")
        assert lllm.list_packages(scope="pip") == [pip]
        assert lllm.list_packages(scope="user") == []
        for scope in (None, "pip"):
            with pytest.raises(lllm.PackageError, match=r"pip uninstall acme-prompts"):
                lllm.remove_package("acme_prompts", scope=scope)
        assert (tmp_path / "site" / "acme_prompts" / "lllm.toml").is_file()
        with pytest.raises(FileNotFoundError):
            lllm.remove_package("acme_prompts", scope="user")


def test_a_lock_left_without_its_staging_folder_is_cleaned(tmp_path) -> None:
    """An install killed between taking its lock and making its folder (or after removing
    the folder) leaves only the lock file: free, it is removed; held, it is kept."""
    from filelock import FileLock

    from lllm._package_manager import _clean_stale_temporaries

    orphan = tmp_path / ".lllm-tmp-orphan.lllm-lock"
    orphan.touch()
    held = tmp_path / ".lllm-tmp-starting.lllm-lock"
    with FileLock(held):
        _clean_stale_temporaries(tmp_path)
        assert held.exists()
    assert not orphan.exists()
