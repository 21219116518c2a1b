"""Write the synthetic package tree the startup benchmark loads.

Run: ``python bench/make_tree.py OUT [--scale N] [--prompt-files 1000] [--prompts-per-file 5]
[--configs 200] [--assets 2000] [--deps 3]``. It writes the tree, loads it with the real
loader in a fresh subprocess and prints the number of keys registered.

Default size: a root package ``bench_root`` with 1,000 prompt files x 5 prompts, 200 YAML
configs (some with ``base:``), 2,000 assets (.txt, .json, .bin) and 3 small dependency
packages: 7,209 keys. ``--scale N`` multiplies the prompt files (``--scale 10``: 10,000 files,
52,209 keys). The output depends only on the sizes: fixed seed, no timestamps, sorted order.

Other scripts use ``make_tree(out, **sizes) -> dict``, ``count_keys(root, env)`` and
``child_env(home, cache_dir)``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT_PACKAGE = "bench_root"
#: Written at the tree's root; a hidden name, so no section walk ever sees it.
MARKER = ".bench_tree.json"
SEED = 20240611
FILES_PER_GROUP = 20
ASSETS_PER_SHARD = 50
DEFAULT_SIZES: dict[str, int] = {
    "prompt_files": 1000,
    "prompts_per_file": 5,
    "configs": 200,
    "assets": 2000,
    "deps": 3,
}
# Each dependency package holds this many prompts and configs.
DEP_PROMPTS = 2
DEP_CONFIGS = 1

_WORDS = (
    "account",
    "answer",
    "assistant",
    "billing",
    "brief",
    "careful",
    "cite",
    "clear",
    "concise",
    "context",
    "customer",
    "detail",
    "draft",
    "email",
    "evidence",
    "explain",
    "fact",
    "friendly",
    "gather",
    "helpful",
    "invoice",
    "issue",
    "list",
    "order",
    "policy",
    "polite",
    "question",
    "reason",
    "refund",
    "reply",
    "request",
    "review",
    "safe",
    "search",
    "short",
    "source",
    "step",
    "summary",
    "support",
    "task",
    "ticket",
    "tone",
    "topic",
    "user",
    "verify",
    "warranty",
)
_VARIABLES = (
    "question",
    "context",
    "user_name",
    "assistant_name",
    "language",
    "max_words",
    "tone",
    "document",
    "history",
    "product",
    "date",
    "format",
)
_TASKS = ("answer", "summarize", "classify", "extract", "rewrite", "translate", "plan", "critique")
_MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b", "mistral-large")


# ----------------------------------------------------------------------------- environment


def child_env(
    home: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    *,
    builtin_plugins_only: bool = False,
) -> dict[str, str]:
    """The environment for a benchmark child: no ``LLLM_*`` from the caller, an empty
    ``LLLM_HOME``, a private ``LLLM_CACHE_DIR`` and bytecode written next to the sources."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LLLM_")
        and k
        not in (
            "PYTHONDONTWRITEBYTECODE",
            "PYTHONPYCACHEPREFIX",
            "PYTHONPROFILEIMPORTTIME",
            "PYTHONSTARTUP",
        )
    }
    env["LLLM_HOME"] = str(home)
    env["LLLM_CACHE_DIR"] = str(cache_dir)
    if builtin_plugins_only:
        env["LLLM_PLUGINS_AUTOLOAD"] = "0"
    return env


# ----------------------------------------------------------------------------- content


def _sentence(rng: random.Random, n_words: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(n_words)]
    return " ".join(words).capitalize() + "."


def _template(rng: random.Random) -> str:
    variables = rng.sample(_VARIABLES, rng.randint(1, 3))
    parts = [f"You are the {rng.choice(_WORDS)} assistant."]
    for name in variables:
        parts.append(_sentence(rng, rng.randint(6, 14)))
        parts.append(f"{name.replace('_', ' ').capitalize()}: {{{name}}}")
    parts.append(_sentence(rng, rng.randint(8, 20)))
    return "\n".join(parts)


def _prompt_file(rng: random.Random, n_prompts: int, title: str) -> str:
    lines = [
        f'"""{title}: synthetic prompts for the lllm startup benchmark."""',
        "",
        "from lllm import Prompt",
        "",
    ]
    for j in range(n_prompts):
        task = _TASKS[(j + rng.randrange(len(_TASKS))) % len(_TASKS)]
        path = f"{task}_{j}"
        extra = f", metadata={{'version': {rng.randint(1, 9)}}}" if j % 2 else ""
        lines.append(f"{task}_{j} = Prompt(path={path!r}, prompt={_template(rng)!r}{extra})")
    lines.append("")
    return "\n".join(lines)


def _config_yaml(rng: random.Random, base: str | None) -> str:
    lines = [] if base is None else [f"base: {base}"]
    lines += [
        f"model_name: {rng.choice(_MODELS)}",
        f"temperature: {rng.randint(0, 10) / 10}",
        "limits:",
        f"  max_tokens: {rng.choice((256, 512, 800, 1024, 2048))}",
        f"  max_turns: {rng.randint(1, 12)}",
        "stop:",
        *(f'  - "{rng.choice(_WORDS)}"' for _ in range(rng.randint(1, 3))),
        f"description: {_sentence(rng, rng.randint(5, 12))}",
        "",
    ]
    return "\n".join(lines)


def _asset(rng: random.Random, kind: str) -> bytes:
    if kind == "txt":
        return (
            "\n".join(_sentence(rng, rng.randint(8, 20)) for _ in range(rng.randint(2, 8))) + "\n"
        ).encode()
    if kind == "json":
        value = {
            "id": rng.randrange(10**6),
            "title": _sentence(rng, 4),
            "tags": rng.sample(_WORDS, 3),
            "score": rng.randint(0, 1000) / 10,
        }
        return (json.dumps(value, sort_keys=True) + "\n").encode()
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(64, 512)))


_ASSET_KINDS = (("txt", "text"), ("json", "data"), ("bin", "blobs"))


# ----------------------------------------------------------------------------- writing


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = 0

    def write(self, relative: str, content: str | bytes) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(data)
        self.files += 1


def _clear(out: Path) -> None:
    """Empty ``out`` if it is a previous benchmark tree; refuse any other non-empty folder."""
    if not out.exists():
        return
    if not out.is_dir():
        raise SystemExit(f"{out} exists and is not a folder.")
    entries = list(out.iterdir())
    if not entries:
        return
    if not (out / MARKER).is_file():
        raise SystemExit(f"{out} is not empty and holds no {MARKER}: refusing to overwrite it.")
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _width(n: int) -> int:
    return max(4, len(str(max(n - 1, 0))))


def make_tree(
    out: str | os.PathLike[str],
    *,
    scale: int = 1,
    prompt_files: int = DEFAULT_SIZES["prompt_files"],
    prompts_per_file: int = DEFAULT_SIZES["prompts_per_file"],
    configs: int = DEFAULT_SIZES["configs"],
    assets: int = DEFAULT_SIZES["assets"],
    deps: int = DEFAULT_SIZES["deps"],
) -> dict[str, Any]:
    """Write the benchmark tree to ``out`` (emptied first if it is a previous tree).

    ``scale`` multiplies ``prompt_files``. Returns a description: ``root``, ``sizes``,
    ``expected_keys`` (per type and ``total``, computed from the sizes), ``files`` written
    and ``sample_keys`` (one qualified key per type, from the middle of the tree).
    """
    if scale < 1:
        raise ValueError("scale must be >= 1")
    sizes = {
        "scale": scale,
        "prompt_files": prompt_files * scale,
        "prompts_per_file": prompts_per_file,
        "configs": configs,
        "assets": assets,
        "deps": deps,
    }
    n_files = sizes["prompt_files"]
    out = Path(out).resolve()
    _clear(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{SEED}:{json.dumps(sizes, sort_keys=True)}")
    writer = _Writer(out)

    dep_paths = [f"deps/dep{j}" for j in range(deps)]
    manifest = [
        "[package]",
        f'name = "{ROOT_PACKAGE}"',
        'version = "1.0.0"',
        'description = "Synthetic tree for the lllm startup benchmark."',
        "",
        "[dependencies]",
        "packages = [" + ", ".join(f'"{p}"' for p in dep_paths) + "]",
        "",
    ]
    writer.write("lllm.toml", "\n".join(manifest))

    # Prompts: prompts/group_GGG/file_NNNN.py, FILES_PER_GROUP files per folder.
    width = _width(n_files)
    prompt_keys: list[str] = []
    for i in range(n_files):
        rel = f"group_{i // FILES_PER_GROUP:03d}/file_{i:0{width}d}"
        text = _prompt_file(rng, prompts_per_file, rel)
        writer.write(f"prompts/{rel}.py", text)
        if i == n_files // 2:
            first = text.split("Prompt(path=", 2)[1].split(",", 1)[0].strip("'\"")
            prompt_keys.append(f"{ROOT_PACKAGE}.prompts:{rel}/{first}")

    # Configs: a tenth are bases; of the rest a third inherit a base, a third inherit a config
    # that itself inherits (a chain of two), a third stand alone.
    n_bases = max(1, configs // 10) if configs else 0
    config_keys: list[str] = []
    for i in range(configs):
        if i < n_bases:
            key = f"base/base_{i:02d}"
            base = None
        else:
            key = f"experiments/set_{i // 30:02d}/exp_{i:03d}"
            if i % 3 == 0:
                base = f"base/base_{i % n_bases:02d}"
            elif i % 3 == 1 and i - 1 >= n_bases:
                base = f"experiments/set_{(i - 1) // 30:02d}/exp_{i - 1:03d}"
            else:
                base = None
        writer.write(f"configs/{key}.yaml", _config_yaml(rng, base))
        config_keys.append(f"{ROOT_PACKAGE}.configs:{key}")

    # Assets: assets/<text|data|blobs>/shard_SS/asset_NNNN.<txt|json|bin>.
    asset_keys: list[str] = []
    for i in range(assets):
        ext, folder = _ASSET_KINDS[i % len(_ASSET_KINDS)]
        rel = f"{folder}/shard_{i // ASSETS_PER_SHARD:02d}/asset_{i:04d}.{ext}"
        writer.write(f"assets/{rel}", _asset(rng, ext))
        asset_keys.append(f"{ROOT_PACKAGE}.assets:{rel}")

    # Dependencies: small packages; the last one also depends on the first (a diamond).
    for j in range(deps):
        lines = ["[package]", f'name = "bench_dep{j}"', 'version = "0.1.0"', ""]
        if j == deps - 1 and deps > 1:
            lines += ["[dependencies]", 'packages = ["../dep0"]', ""]
        writer.write(f"deps/dep{j}/lllm.toml", "\n".join(lines))
        writer.write(
            f"deps/dep{j}/prompts/shared.py", _prompt_file(rng, DEP_PROMPTS, f"bench_dep{j} shared")
        )
        for c in range(DEP_CONFIGS):
            writer.write(f"deps/dep{j}/configs/defaults_{c}.yaml", _config_yaml(rng, None))

    expected = {
        "prompt": n_files * prompts_per_file + deps * DEP_PROMPTS,
        "config": configs + deps * DEP_CONFIGS,
        "asset": assets,
    }
    expected["total"] = sum(expected.values())
    txt_assets = [k for k in asset_keys if k.endswith(".txt")]
    info: dict[str, Any] = {
        "root": str(out),
        "package": ROOT_PACKAGE,
        "sizes": sizes,
        "expected_keys": expected,
        "files": writer.files + 1,  # + the marker
        "sample_keys": {
            "prompt": prompt_keys[0] if prompt_keys else None,
            "config": config_keys[len(config_keys) // 2] if config_keys else None,
            "asset": txt_assets[len(txt_assets) // 2] if txt_assets else None,
        },
    }
    (out / MARKER).write_text(
        json.dumps({k: v for k, v in info.items() if k != "root"}, indent=2, sort_keys=True) + "\n"
    )
    return info


def read_marker(out: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The description ``make_tree`` stored in ``out`` (without ``root``), or ``None``."""
    try:
        return json.loads((Path(out) / MARKER).read_text())
    except (OSError, ValueError):
        return None


# ----------------------------------------------------------------------------- counting

_COUNT_CODE = """
import json, sys, warnings
warnings.simplefilter("always")
import lllm
rt = lllm.Runtime()
lllm.load_package(sys.argv[1], runtime=rt)
print(json.dumps({
    "prompt": len(rt.keys("prompt")),
    "config": len(rt.keys("config")),
    "asset": len(rt.keys("asset")),
    "total": len(rt.keys()),
    "packages": sorted(rt.packages),
    "default_namespace": rt.default_namespace,
}))
"""


def count_keys(
    root: str | os.PathLike[str], env: dict[str, str] | None = None, cwd: str | None = None
) -> dict[str, Any]:
    """Load ``root`` with ``lllm.load_package`` into a fresh ``Runtime`` in a subprocess and
    return the key counts it registered (plus ``stderr``: warnings printed while loading).

    Without ``env``, a throwaway ``LLLM_HOME``/``LLLM_CACHE_DIR`` is used and no bytecode is
    written, so counting leaves no trace in the tree or the user's cache.
    """
    with tempfile.TemporaryDirectory(prefix="lllm-bench-count-") as tmp:
        if env is None:
            env = child_env(Path(tmp, "home"), Path(tmp, "cache"))
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            Path(tmp, "home").mkdir()
        proc = subprocess.run(
            [sys.executable, "-c", _COUNT_CODE, str(root)],
            check=False,
            cwd=cwd or tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"loading {root} failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["stderr"] = proc.stderr
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the synthetic tree of the lllm startup benchmark."
    )
    parser.add_argument(
        "out", help="folder to write (created; emptied if it is a previous benchmark tree)"
    )
    parser.add_argument(
        "--scale", type=int, default=1, help="multiplies the prompt files (default 1)"
    )
    parser.add_argument("--prompt-files", type=int, default=DEFAULT_SIZES["prompt_files"])
    parser.add_argument("--prompts-per-file", type=int, default=DEFAULT_SIZES["prompts_per_file"])
    parser.add_argument("--configs", type=int, default=DEFAULT_SIZES["configs"])
    parser.add_argument("--assets", type=int, default=DEFAULT_SIZES["assets"])
    parser.add_argument("--deps", type=int, default=DEFAULT_SIZES["deps"])
    parser.add_argument(
        "--no-count", action="store_true", help="skip loading the tree to count its keys"
    )
    args = parser.parse_args(argv)

    info = make_tree(
        args.out,
        scale=args.scale,
        prompt_files=args.prompt_files,
        prompts_per_file=args.prompts_per_file,
        configs=args.configs,
        assets=args.assets,
        deps=args.deps,
    )
    s, e = info["sizes"], info["expected_keys"]
    print(
        f"wrote {info['root']}: {info['files']:,} files; {s['prompt_files']:,} prompt files x {s['prompts_per_file']} prompts, "
        f"{s['configs']:,} configs, {s['assets']:,} assets, {s['deps']} dependencies"
    )
    print(
        f"expected keys: {e['total']:,} ({e['prompt']:,} prompts, {e['config']:,} configs, {e['asset']:,} assets)"
    )
    if args.no_count:
        return 0
    counted = count_keys(info["root"])
    print(
        f"keys registered by lllm.load_package: {counted['total']:,} ({counted['prompt']:,} prompts, "
        f"{counted['config']:,} configs, {counted['asset']:,} assets; packages: {', '.join(counted['packages'])})"
    )
    if counted["stderr"].strip():
        print("warnings while loading:\n" + counted["stderr"].rstrip(), file=sys.stderr)
    if any(counted[k] != e[k] for k in ("prompt", "config", "asset", "total")):
        print(
            "MISMATCH: the loader registered a different number of keys than the tree holds",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
