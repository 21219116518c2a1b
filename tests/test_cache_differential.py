"""Differential test of the index cache: after every change, a warm start equals a cold truth.

A seeded random sequence of changes is applied to a project with a dependency, an editable
plugin (a distribution whose code is a folder being edited) and pip-shipped packages (one
named by module, one by a callable that reads an environment variable). After every change
the project is loaded twice in fresh processes: through the index cache (a warm start, which
also updates the cache for the next step) and with ``LLLM_NO_CACHE=1``. Their keys, rendered
values and warnings must be equal.

Fresh processes are forked from a small server that has imported lllm and its dependencies
but loaded nothing (``LLLM_AUTO_INIT=0``), so a step costs milliseconds; every
``REAL_EVERY`` steps, and at the end, a real ``python -c "import lllm"`` checks the server
against the real thing. ``--differential-steps N`` (and ``--differential-seed S``) runs a
longer soak; the default keeps the test well under a minute.
"""

from __future__ import annotations

import json
import os
import py_compile
import random
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from plugin_fixtures import EDITABLE_PLUGIN

from lllm.testing import write_files

REAL_EVERY = 50
HISTORY_SHOWN = 12

RENDER = r"""
def render(runtime):
    import json
    out = {}
    for node in runtime.iter_nodes():
        try:
            value = node.value
            if hasattr(value, "prompt") and hasattr(value, "template_vars"):
                text = "prompt:" + value.prompt
            elif isinstance(value, type):
                text = "class:" + value.__qualname__ + ":" + str(getattr(value, "name", ""))
            elif isinstance(value, bytes):
                text = "bytes:" + value.decode("utf-8", "replace")
            else:
                text = "value:" + json.dumps(value, sort_keys=True, default=str)
        except Exception as exc:
            text = "error:" + type(exc).__name__
        out[node.qualified_key] = [node.resource_type, text]
    return out
"""

SERVER = (
    RENDER
    + r"""
import os, sys, json, traceback, warnings
os.environ["LLLM_AUTO_INIT"] = "0"
import lllm, lllm._project, lllm._loader, lllm._plugin_manager, lllm._discovery  # the code, not the packages
import yaml, pluggy, importlib.metadata
del os.environ["LLLM_AUTO_INIT"]
print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            for name in request["unset"]:
                os.environ.pop(name, None)
            os.environ.update(request["env"])
            os.chdir(request["cwd"])
            sys.path.insert(0, request["extra_path"])  # as a script's own folder: not in the fingerprint
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                lllm._project.auto_init()
                result = {"resources": render(lllm.get_default_runtime())}
            result["warnings"] = sorted({str(w.message) for w in caught})
            data = json.dumps(result)
        except BaseException:
            data = json.dumps({"crash": traceback.format_exc()})
        with os.fdopen(write_end, "w") as f:
            f.write(data)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as f:
        data = f.read()
    os.waitpid(pid, 0)
    print(data, flush=True)
"""
)

REAL = (
    RENDER
    + r"""
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import lllm
    result = {"resources": render(lllm.get_default_runtime())}
result["warnings"] = sorted({str(w.message) for w in caught})
print(json.dumps(result))
"""
)


class World:
    """The project, its dependency, the plugin and the shipped packages, and their changes."""

    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.project = root / "proj"
        self.dep = root / "dep"
        self.site = root / "site"
        self.outside = root / "outside"
        self.cache = root / "cache"
        self.env: dict[str, str] = {}
        self.versions = 0
        self._write_initial()

    # ----------------------------------------------------------------------- the world

    def _write_initial(self) -> None:
        write_files(
            self.project,
            {
                "lllm.toml": '[package]\nname = "proj"\n[dependencies]\npackages = ["../dep as common"]\n',
                "prompts/hello.md": "Hello {name}",
                "prompts/notes/system.md": "System one",
                "prompts/chat.py": "from lllm import Prompt\nanswer = Prompt(path='answer', prompt='Answer v1')\n",
                "prompts/names.py": "NAMES = ['a', 'b']\n",
                "prompts/gen.py": (
                    "from lllm import Prompt\nfrom .names import NAMES\n"
                    "for _n in NAMES:\n    globals()['p_' + _n] = Prompt(path=_n, prompt='Hi ' + _n)\n"
                ),
                "prompts/toned.py": "from lllm import Prompt\nfrom ._shared import TONE\np = Prompt(path='p', prompt=TONE)\n",
                "prompts/_shared.py": "TONE = 'calm'\n",
                "prompts/envy.py": "import os\nfrom lllm import Prompt\np = Prompt(path='p', prompt='env ' + os.environ['LLLM_DIFF_TONE'][:0])\n",
                "prompts/deep.py": "from lllm import Prompt\nfrom ..helpers import tone\np = Prompt(path='p', prompt=tone.TONE)\n",
                "prompts/dyn.py": (
                    "import importlib\nfrom lllm import Prompt\nnames = importlib.import_module('.names', __package__)\n"
                    "d = Prompt(path='d_' + '_'.join(names.NAMES), prompt='dynamic')\n"
                ),
                "prompts/maybe.py": (
                    "from lllm import Prompt\ntry:\n    from ._local import LOCAL\nexcept ImportError:\n    LOCAL = 'none'\n"
                    "m = Prompt(path='m_' + LOCAL, prompt='maybe')\n"
                ),
                "prompts/outer.py": "from lllm import Prompt\nfrom tones import TONE\no = Prompt(path='o_' + TONE, prompt='outer')\n",
                "prompts/sub/x.md": "X one",
                "helpers/__init__.py": "",
                "helpers/tone.py": "TONE = 'warm'\n",
                "configs/base.yaml": "model: one\n",
                "configs/exp.yaml": "base: base\nlayers: 2\n",
                "assets/data/table.csv": "a,b\n1,2\n",
                "tactics/t.py": "from lllm import Tactic\nclass Answer(Tactic):\n    name = 'answer'\n",
                "notes/todo.txt": "milk",
                "memos/m.md": "memo",
            },
        )
        write_files(
            self.dep,
            {
                "lllm.toml": '[package]\nname = "dep"\n',
                "prompts/greeting.md": "Greetings",
                "prompts/code.py": "from lllm import Prompt\ng = Prompt(path='g', prompt='dep g')\n",
            },
        )
        write_files(
            self.outside,
            {
                "sub_a/y.md": "Y from a",
                "sub_b/z.md": "Z from b",
                "lib1/tones.py": "TONE = 'one'\n",
                "lib2/tones.py": "TONE = 'two'\n",
            },
        )
        write_files(
            self.site,
            {
                **EDITABLE_PLUGIN,
                "shipped_pkg/__init__.py": "",
                "shipped_pkg/lllm.toml": '[package]\nname = "shipped"\n',
                "shipped_pkg/prompts/s.md": "Shipped one",
                "shipper.py": "import os\ndef where():\n    return os.environ['LLLM_DIFF_SHIPPED']\n",
                "dyn_a/lllm.toml": '[package]\nname = "dyn_a"\n',
                "dyn_a/prompts/d.md": "Dynamic a",
                "dyn_b/lllm.toml": '[package]\nname = "dyn_b"\n',
                "dyn_b/prompts/d.md": "Dynamic b",
                "shipping-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: shipping\nVersion: 1.0\n",
                "shipping-1.0.dist-info/entry_points.txt": "[lllm.packages]\nshipped = shipped_pkg\ndyn = shipper:where\n",
            },
        )
        self.env = {
            "LLLM_DIFF_TONE_NAME": "LLLM_DIFF_TONE",
            "LLLM_DIFF_TONE": "set",
            "LLLM_DIFF_SHIPPED": str(self.site / "dyn_a"),
        }
        #: A folder put on sys.path (as PYTHONPATH would), where prompts/outer.py finds `tones`.
        self.extra_path = str(self.outside / "lib1")
        self.age_everything()

    def age_everything(self) -> None:
        for top in (self.project, self.dep, self.site, self.outside):
            for path in [top, *top.rglob("*")]:
                if not path.is_symlink():
                    st = path.stat()
                    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 120_000_000_000))

    def files(self, top: Path, suffix: str = "") -> list[Path]:
        return sorted(
            p for p in top.rglob(f"*{suffix}") if p.is_file() and "__pycache__" not in p.parts
        )

    def pick(self, items: list[Path]) -> Path | None:
        return self.rng.choice(items) if items else None

    def word(self, size: int = 5) -> str:
        return "".join(self.rng.choice("abcdefghij") for _ in range(size))

    def rewrite(self, path: Path, text: str, *, keep_time: bool) -> None:
        """Write ``text`` to ``path``; with ``keep_time``, put the old modification time back."""
        before = path.stat() if path.exists() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if keep_time and before is not None:
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    # ---------------------------------------------------------------------- the changes

    def edit_text_same_size(self) -> str:
        path = self.pick(self.files(self.project / "prompts", ".md") + self.files(self.dep, ".md"))
        if path is None:
            return self.add_text()
        text = path.read_text()
        new = "".join(
            self.rng.choice("klmnop") if c.isalpha() and c not in "{}" else c for c in text
        )
        self.rewrite(path, new, keep_time=True)
        return f"same-size same-time edit of {path.name}"

    def edit_text(self) -> str:
        path = self.pick(
            self.files(self.project / "prompts", ".md")
            + self.files(self.site / "shipped_pkg", ".md")
        )
        if path is None:
            return self.add_text()
        self.rewrite(
            path,
            f"Edited {self.word(self.rng.randint(1, 9))} {{name}}",
            keep_time=self.rng.random() < 0.3,
        )
        return f"edit of {path.name}"

    def add_text(self) -> str:
        folder = self.rng.choice(["prompts", "prompts/notes", "prompts/sub", "prompts/new/deeper"])
        path = self.project / folder / f"{self.word()}.md"
        self.rewrite(path, f"Added {self.word()}", keep_time=False)
        if self.rng.random() < 0.5:
            os.utime(path, (315532800, 315532800))  # an old time, as restored by unzip
        return f"add {path.relative_to(self.project)}"

    def delete_file(self) -> str:
        candidates = [
            p
            for p in self.files(self.project / "prompts", ".md")
            + self.files(self.project / "assets")
            if p.name not in ("hello.md",)
        ]
        path = self.pick(candidates)
        if path is None:
            return self.add_text()
        path.unlink()
        return f"delete {path.relative_to(self.project)}"

    def rename_file(self) -> str:
        path = self.pick(self.files(self.project / "prompts", ".md"))
        if path is None:
            return self.add_text()
        target = path.with_name(f"{self.word()}.md")
        path.rename(target)
        return f"rename {path.name} -> {target.name}"

    def edit_python_keys(self) -> str:
        path = self.project / "prompts/chat.py"
        name = self.word(6)
        self.versions += 1
        text = f"from lllm import Prompt\n{name} = Prompt(path='{name}', prompt='Answer v{self.versions % 10}')\n"
        if path.exists() and self.rng.random() < 0.5:
            # a timestamp .pyc of the old text, then a same-size edit with the old time
            py_compile.compile(
                str(path), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP
            )
            old = path.read_text()
            text = text[: len(old)].ljust(len(old), "#") if len(text) >= len(old) - 1 else text
            self.rewrite(path, text, keep_time=True)
            return "same-size same-time edit of chat.py over a timestamp .pyc"
        self.rewrite(path, text, keep_time=self.rng.random() < 0.3)
        return "edit of chat.py"

    def edit_siblings(self) -> str:
        names = sorted(self.rng.sample("abcdefgh", self.rng.randint(0, 4)))
        self.rewrite(
            self.project / "prompts/names.py",
            f"NAMES = {names!r}\n",
            keep_time=self.rng.random() < 0.5,
        )
        return f"names.py now {names}"

    def edit_helper(self) -> str:
        self.rewrite(
            self.project / "helpers/tone.py",
            f"TONE = '{self.word()}'\n",
            keep_time=self.rng.random() < 0.5,
        )
        return "edit of helpers/tone.py"

    def break_or_fix_import(self) -> str:
        shared = self.project / "prompts/_shared.py"
        if shared.exists():
            shared.unlink()
            return "delete prompts/_shared.py (toned.py fails to import)"
        self.rewrite(shared, f"TONE = '{self.word()}'\n", keep_time=False)
        return "create prompts/_shared.py (toned.py imports again)"

    def syntax_error(self) -> str:
        path = self.project / "prompts/chat.py"
        if path.exists() and "(((" not in path.read_text():
            self.rewrite(path, path.read_text() + "(((\n", keep_time=self.rng.random() < 0.5)
            return "syntax error in chat.py"
        return self.edit_python_keys()

    def toggle_environment(self) -> str:
        if self.rng.random() < 0.5:
            # A module whose import needs an environment variable: the code asks for a new one
            # (an import failure), or the variable is set (fixed). A variable unset after a
            # successful import is what no cache can see (docs/packages.md): not done here.
            envy = self.project / "prompts/envy.py"
            wanted = f"LLLM_DIFF_TONE_{self.word(3).upper()}"
            if self.env.get("LLLM_DIFF_TONE_NAME") in self.env or self.rng.random() < 0.5:
                self.env["LLLM_DIFF_TONE_NAME"] = wanted
                self.rewrite(
                    envy,
                    "import os\nfrom lllm import Prompt\n"
                    f"p = Prompt(path='p', prompt='env ' + os.environ['{wanted}'][:0])\n",
                    keep_time=False,
                )
                return f"envy.py now needs {wanted} (fails to import)"
            self.env[self.env["LLLM_DIFF_TONE_NAME"]] = "set"
            return f"set {self.env['LLLM_DIFF_TONE_NAME']} (envy.py imports)"
        choice = self.rng.choice(["dyn_a", "dyn_b", None])
        if choice is None:
            self.env.pop("LLLM_DIFF_SHIPPED", None)
        else:
            self.env["LLLM_DIFF_SHIPPED"] = str(self.site / choice)
        return f"LLLM_DIFF_SHIPPED -> {choice}"

    def edit_plugin(self) -> str:
        spec = self.site / "mini/spec.py"
        text = spec.read_text()
        folder, suffix = self.rng.choice(
            [("notes", ".txt"), ("memos", ".md"), ("notes", ".md"), ("memos", ".txt")]
        )
        text = text.replace("default_folder='notes'", "default_folder='@'").replace(
            "default_folder='memos'", "default_folder='@'"
        )
        text = text.replace("'@'", f"'{folder}'")
        text = (
            text.replace("SUFFIX = '.txt'", "SUFFIX = '@'")
            .replace("SUFFIX = '.md'", "SUFFIX = '@'")
            .replace("'@'", f"'{suffix}'")
        )
        self.rewrite(spec, text, keep_time=self.rng.random() < 0.3)
        return f"plugin spec.py: {folder} {suffix}"

    def edit_plugin_reader(self) -> str:
        read = self.site / "mini/read.py"
        method = self.rng.choice(["upper", "lower", "title"])
        self.rewrite(
            read,
            f"def read(node):\n    with open(node.metadata['file_path']) as f:\n        return f.read().{method}()\n",
            keep_time=self.rng.random() < 0.5,
        )
        return f"plugin read.py: {method}"

    def swap_folder_and_link(self) -> str:
        sub = self.project / "prompts/sub"
        if sub.is_symlink():
            sub.unlink()
            write_files(sub, {"x.md": f"X {self.word()}"})
            return "prompts/sub: link -> folder"
        if sub.exists():
            shutil.rmtree(sub)
        sub.symlink_to(self.outside / self.rng.choice(["sub_a", "sub_b"]), target_is_directory=True)
        return "prompts/sub: folder -> link"

    def copy_tree_over(self) -> str:
        staging = self.root / "staging"
        shutil.rmtree(staging, ignore_errors=True)
        write_files(
            staging,
            {
                "prompts/hello.md": f"Hello {self.word(5)}",
                "prompts/notes/system.md": f"System {self.word(3)}",
                "configs/base.yaml": f"model: {self.word(3)}\n",
            },
        )
        stamp = 1_600_000_000
        for path in staging.rglob("*"):
            os.utime(path, (stamp, stamp))
        shutil.copytree(staging, self.project, dirs_exist_ok=True)  # cp -a: contents and times
        return "cp -a of a tree with old times over the project"

    def unzip_over(self) -> str:
        archive = self.root / "over.zip"
        text = self.word(4)
        with zipfile.ZipFile(archive, "w") as zf:
            for name, content in {
                "prompts/hello.md": f"Hello {text}",
                "prompts/zipped.py": f"from lllm import Prompt\np_{text} = Prompt(path='{text}', prompt='zip {text}')\n",
            }.items():
                zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content)
        with zipfile.ZipFile(archive) as zf:  # unzip -o: replace files, restore their times
            for info in zf.infolist():
                target = self.project / info.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
                os.utime(target, (315532800, 315532800))
        return f"unzip -o of hello.md and zipped.py ({text})"

    def edit_config(self) -> str:
        path = self.project / "configs" / self.rng.choice(["base.yaml", "exp.yaml", "extra.yaml"])
        self.rewrite(
            path,
            f"model: {self.word(3)}\nlayers: {self.rng.randint(1, 9)}\n",
            keep_time=self.rng.random() < 0.4,
        )
        return f"config {path.name}"

    def edit_asset(self) -> str:
        path = (
            self.project
            / "assets"
            / self.rng.choice(["data/table.csv", "data/other.csv", "readme.txt"])
        )
        self.rewrite(
            path,
            f"x,y\n{self.rng.randint(0, 9)},{self.rng.randint(0, 9)}\n",
            keep_time=self.rng.random() < 0.4,
        )
        return f"asset {path.name}"

    def edit_manifest(self) -> str:
        manifest = self.project / "lllm.toml"
        variants = [
            '[package]\nname = "proj"\n[dependencies]\npackages = ["../dep as common"]\n',
            '[package]\nname = "proj"\n[dependencies]\npackages = ["../dep"]\n',
            '[package]\nname = "proj"\n[dependencies]\npackages = ["../dep as common"]\n[prompts]\npaths = ["prompts under p"]\n',
            '[package]\nname = "proj"\n[dependencies]\npackages = ["../dep as common"]\n[assets]\npaths = ["assets", "memos under m"]\n',
        ]
        self.rewrite(manifest, self.rng.choice(variants), keep_time=self.rng.random() < 0.3)
        return "manifest"

    def edit_dependency(self) -> str:
        path = self.dep / "prompts/code.py"
        name = self.word(4)
        self.rewrite(
            path,
            f"from lllm import Prompt\ng = Prompt(path='{name}', prompt='dep {name}')\n",
            keep_time=self.rng.random() < 0.5,
        )
        return f"dependency code.py -> {name}"

    def edit_tactic(self) -> str:
        name = self.word(4)
        self.rewrite(
            self.project / "tactics/t.py",
            f"from lllm import Tactic\nclass Answer(Tactic):\n    name = '{name}'\n",
            keep_time=self.rng.random() < 0.5,
        )
        return f"tactic name {name}"

    def switch_search_path(self) -> str:
        self.extra_path = str(self.outside / self.rng.choice(["lib1", "lib2"]))
        return f"sys.path gets {self.extra_path}"

    def edit_local_module(self) -> str:
        local = self.project / "prompts/_local.py"
        if local.exists() and self.rng.random() < 0.4:
            local.unlink()
            return "delete prompts/_local.py (maybe.py falls back)"
        self.rewrite(local, f"LOCAL = '{self.word(3)}'\n", keep_time=self.rng.random() < 0.5)
        return "write prompts/_local.py"

    def changes(self) -> list[Callable[[], str]]:
        return [
            self.edit_text_same_size,
            self.edit_text,
            self.add_text,
            self.delete_file,
            self.rename_file,
            self.edit_python_keys,
            self.edit_siblings,
            self.edit_helper,
            self.break_or_fix_import,
            self.syntax_error,
            self.toggle_environment,
            self.edit_plugin,
            self.edit_plugin_reader,
            self.swap_folder_and_link,
            self.copy_tree_over,
            self.unzip_over,
            self.edit_config,
            self.edit_asset,
            self.edit_manifest,
            self.edit_dependency,
            self.edit_tactic,
            self.switch_search_path,
            self.edit_local_module,
        ]


class Server:
    """The forking server: ``load(env)`` is a fresh process's ``import lllm``."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.base_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("LLLM_", "PYTHONPATH"))
        }
        self.base_env.update(
            {
                "LLLM_CACHE_DIR": str(world.cache),
                "LLLM_HOME": str(world.root / "home"),
                "PYTHONPATH": os.pathsep.join(
                    [str(world.site), *filter(None, [os.environ.get("PYTHONPATH")])]
                ),
                "PYTHONDONTWRITEBYTECODE": "",
            }
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            cwd=world.project,
            env=self.base_env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"

    def load(self, *, cache: bool) -> dict[str, Any]:
        env = dict(self.world.env)
        if not cache:
            env["LLLM_NO_CACHE"] = "1"
        unset = [name for name in ("LLLM_DIFF_SHIPPED", "LLLM_NO_CACHE") if name not in env]
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {
            "env": env,
            "unset": unset,
            "cwd": str(self.world.project),
            "extra_path": self.world.extra_path,
        }
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        result = json.loads(self.process.stdout.readline())
        assert "crash" not in result, result.get("crash")
        return result

    def real(self) -> dict[str, Any]:
        env = {**self.base_env, **self.world.env}
        env["PYTHONPATH"] = os.pathsep.join([self.base_env["PYTHONPATH"], self.world.extra_path])
        result = subprocess.run(
            [sys.executable, "-c", REAL],
            cwd=self.world.project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def difference(warm: dict[str, Any], truth: dict[str, Any]) -> str:
    lines = []
    for key in sorted(set(warm["resources"]) | set(truth["resources"])):
        a, b = warm["resources"].get(key), truth["resources"].get(key)
        if a != b:
            lines.append(f"  {key}: warm {a!r} / truth {b!r}")
    for message in sorted(set(warm["warnings"]) ^ set(truth["warnings"])):
        side = "warm only" if message in warm["warnings"] else "truth only"
        lines.append(f"  warning ({side}): {message}")
    return "\n".join(lines)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the forking server needs os.fork")
def test_warm_starts_equal_the_truth_after_every_change(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    steps = int(request.config.getoption("--differential-steps"))
    seed = int(request.config.getoption("--differential-seed"))
    world = World(tmp_path, seed)
    server = Server(world)
    history: list[str] = []
    kinds: set[str] = set()
    try:
        first = server.load(cache=True)
        assert first == server.load(cache=False) and first["resources"]
        assert any(
            key.startswith("common.") for key in first["resources"]
        )  # the dependency, by its alias
        assert not any("unknown key" in w for w in first["warnings"]), first["warnings"]
        for step in range(1, steps + 1):
            change = world.rng.choice(world.changes())
            kinds.add(change.__name__)
            history.append(f"{step}: {change()}")
            if world.rng.random() < 0.5:
                time.sleep(0.06)  # older than a clock tick: the cache must trust the new times
            if world.rng.random() < 0.2:
                world.age_everything()
            warm, truth = server.load(cache=True), server.load(cache=False)
            if warm != truth:
                shown = "\n".join(history[-HISTORY_SHOWN:])
                pytest.fail(
                    f"seed {seed}, step {step}: the warm start differs from the truth\n{difference(warm, truth)}\n"
                    f"last changes:\n{shown}"
                )
            if step % REAL_EVERY == 0 or step == steps:
                real = server.real()
                assert real == truth, (
                    f"seed {seed}, step {step}: the forking server differs from a real process\n{difference(real, truth)}"
                )
    finally:
        server.close()
    assert len(kinds) >= min(len(world.changes()), steps // 3)  # every kind of change was tried
