"""What content-checked bytecode costs: lllm's loader against Python's default imports.

lllm imports the Python files of packages with its own loader (``lllm._imports``), which
trusts a ``.pyc`` (kept in its cache folder) only when it is a checked hash-based one (PEP
552) of exactly the current source: it reads and hashes every source it imports. Python's
default loader compares the source's modification time (whole seconds) and size with its
timestamp ``.pyc`` in ``__pycache__`` instead.

This writes N prompt files (5 ``Prompt`` objects each, as in the startup benchmark's tree) and
imports all of them in fresh processes, median of ``--repeat`` runs:

- *warm*: bytecode already written (timestamp ``.pyc`` files for Python's loader, checked
  hash-based ones for lllm's);
- *cold*: no bytecode yet (both compile and write it).

    python bench/bytecode.py [--files 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import importlib, json, os, sys, time
from lllm._imports import import_file
root, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = [f"file_{i:04d}" for i in range(count)]
start = time.perf_counter()
if mode == "python":
    sys.path.insert(0, root)
    for name in names:
        importlib.import_module(f"prompts_pkg.{name}")
else:
    for name in names:
        import_file(os.path.join(root, "prompts_pkg", name + ".py"), root)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def write_files(root: Path, count: int) -> None:
    package = root / "prompts_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for i in range(count):
        lines = ["from lllm import Prompt"]
        lines += [
            f"p{j} = Prompt(path='p{j}', prompt='Prompt {i}/{j} about {{topic}} for {{user}}.')"
            for j in range(5)
        ]
        (package / f"file_{i:04d}.py").write_text("\n".join(lines) + "\n")


def clear_bytecode(root: Path) -> None:
    for folder in [*root.rglob("__pycache__"), root / "lllm-cache"]:
        shutil.rmtree(folder, ignore_errors=True)


def measure(root: Path, mode: str, count: int) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env["LLLM_AUTO_INIT"] = "0"
    env["LLLM_CACHE_DIR"] = str(root / "lllm-cache")  # where lllm keeps its bytecode
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), mode, str(count)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(result.stdout)["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="lllm-bytecode-") as temp:
        root = Path(temp)
        write_files(root, args.files)
        for _ in range(args.repeat):
            for mode in ("python", "lllm"):
                clear_bytecode(root)
                results.setdefault((mode, "cold"), []).append(measure(root, mode, args.files))
                results.setdefault((mode, "warm"), []).append(measure(root, mode, args.files))
    print(
        f"importing {args.files:,} prompt files (5 prompts each), median of {args.repeat} fresh processes"
    )
    print(f"{'':8}{'python default':>18}{'lllm (checked hash)':>22}{'ratio':>8}")
    for state in ("warm", "cold"):
        python = statistics.median(results[("python", state)])
        lllm = statistics.median(results[("lllm", state)])
        print(f"{state:8}{python * 1000:>15.1f} ms{lllm * 1000:>19.1f} ms{lllm / python:>8.2f}")
        print(
            f"{'':8}{python / args.files * 1e6:>15.1f} us{lllm / args.files * 1e6:>19.1f} us  per file"
        )


if __name__ == "__main__":
    main()
