"""Startup, loading, lookup and memory costs of lllm on a synthetic tree, against the budgets.

Run: ``python bench/startup.py [--scale 1 --scale 10] [--repeat 5] [--json PATH] [--tree DIR]``
(``--quick``: scale 1 only, 3 repeats). Every figure comes from fresh subprocesses; each
metric is repeated and reported as median, min and max, with its budget and ratio. All raw
samples go to the JSON file (default ``bench/results/startup.json``). See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tree import DEFAULT_SIZES, child_env, make_tree, read_marker

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_JSON = BENCH_DIR / "results" / "startup.json"
CHILD_TIMEOUT = 1800
GENERAL_FACTOR = 4

# ----------------------------------------------------------------------------- metrics

# id -> (label, unit, kind). kind: "time" and "memory" (lower is better), "rate" (higher is better).
METRICS: dict[str, tuple[str, str, str]] = {
    "python_pass": ("python -c pass (wall)", "ms", "time"),
    "import_empty": ("import lllm, empty folder (wall - bare python)", "ms", "time"),
    "import_empty_inproc": ("  same, timed inside the child", "ms", "time"),
    "rss_empty": ("peak RSS, import lllm in an empty folder", "MiB", "memory"),
    "import_tree_cold": ("import lllm in tree root, cold (wall - bare)", "ms", "time"),
    "import_tree_cold_inproc": ("  same, timed inside the child", "ms", "time"),
    "import_tree_second": ("import lllm in tree root, 2nd run (wall - bare)", "ms", "time"),
    "import_tree_second_inproc": ("  same, timed inside the child", "ms", "time"),
    "import_tree_warm": ("import lllm in tree root, warm (wall - bare)", "ms", "time"),
    "import_tree_warm_inproc": ("  same, timed inside the child", "ms", "time"),
    "load_package_cold": ("load_package(tree), cold (in child)", "ms", "time"),
    "load_package_second": ("load_package(tree), 2nd run (in child)", "ms", "time"),
    "load_package_warm": ("load_package(tree), warm (in child)", "ms", "time"),
    "get_exact": ("get(qualified key)", "ops/s", "rate"),
    "get_prompt_bare": ("get_prompt(bare key)", "ops/s", "rate"),
    "get_prompt_pkg": ("get_prompt('pkg:key')", "ops/s", "rate"),
    "has_hit": ("has(bare key), hit", "ops/s", "rate"),
    "has_miss": ("has(bare key), miss", "ops/s", "rate"),
    "has_miss_uncached": ("has() miss right after a register()", "ops/s", "rate"),
    "keys_prompt": ('keys("prompt") calls', "calls/s", "rate"),
    "first_prompt": ("first .value: .py prompt", "us", "time"),
    "first_config": ("first .value: YAML config", "us", "time"),
    "first_asset": ("first .value: .txt asset", "us", "time"),
    "rss_tree": ("peak RSS, import lllm in tree root (warm)", "MiB", "memory"),
    "rss_added": ("memory added by loading (RSS tree - empty)", "MiB", "memory"),
}
GENERAL = ("python_pass", "import_empty", "import_empty_inproc", "rss_empty")
# In the JSON but not in the printed table.
HIDDEN = {"import_tree_second_inproc"}
PER_SCALE = tuple(m for m in METRICS if m not in GENERAL)

# Budgets from the issue: metric -> {scale: budget}; scale None applies at every scale.
BUDGETS: dict[str, dict[int | None, float]] = {
    "import_empty": {None: 25.0},
    "import_tree_warm": {1: 100.0, 10: 600.0},
    "import_tree_cold": {1: 900.0},
    "load_package_warm": {1: 60.0},
    "get_exact": {None: 2_500_000},
    "get_prompt_bare": {None: 2_000_000},
    "get_prompt_pkg": {None: 2_000_000},
    "has_miss": {None: 1_000_000},
    "keys_prompt": {1: 10_000},  # its cost grows with the number of keys: default size only
    "rss_added": {1: 9.0, 10: 60.0},
}


def budget_for(metric: str, scale: int | None) -> float | None:
    table = BUDGETS.get(metric, {})
    return table.get(scale, table.get(None))


# ----------------------------------------------------------------------------- child code

# Wall-time children do nothing but the import (and print one float), so that the process's
# wall time minus a bare interpreter's is the cost of `import lllm`.
IMPORT_CODE = """\
import time
t0 = time.perf_counter()
import lllm
t1 = time.perf_counter()
print(t1 - t0)
"""

LOAD_CODE = """\
import json, sys, time
from lllm import Runtime, load_package
rt = Runtime()
t0 = time.perf_counter()
load_package(sys.argv[1], runtime=rt)
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "keys": len(rt.keys())}))
"""

# Peak RSS right after `import lllm` (the same code in the empty folder and in the tree's
# root, so the difference is what loading adds), then the first .value of lazy nodes.
PROBE_CODE = """\
import json, resource, sys, time
import lllm
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rt = lllm.get_default_runtime()
out = {"maxrss": maxrss, "keys": len(rt.keys()), "default_namespace": rt.default_namespace, "first": {}}
for kind, key in json.loads(sys.argv[1]).items():
    node = rt.get_node(key)
    before = node.is_loaded
    modules = set(sys.modules)
    t0 = time.perf_counter()
    node.value
    t1 = time.perf_counter()
    new = sorted(m for m in set(sys.modules) - modules if not m.startswith("_lllm_pkgs"))
    out["first"][kind] = {"seconds": t1 - t0, "loaded_before": before, "imported": new}
print(json.dumps(out))
"""

LOOKUP_CODE = """\
import json, sys, time
import lllm

rt = lllm.get_default_runtime()
root = rt.default_namespace
prefix = root + ".prompts:"
prompt_keys = [k for k in rt.keys("prompt") if k.startswith(prefix)]
step = max(1, len(prompt_keys) // 1000)
exact = prompt_keys[::step][:1000]
bare = [k[len(prefix):] for k in exact]
short = [root + ":" + k for k in bare]
missing = ["missing/key_%d" % i for i in range(1000)]
for k in exact:
    rt.get(k)  # load values first: only lookups are timed
assert rt.get_prompt(bare[0]) is rt.get(exact[0]) and rt.get_prompt(short[-1]) is rt.get(exact[-1])
assert rt.has(bare[0]) and not rt.has(missing[0])
target = float(sys.argv[1])
sys.path.insert(0, sys.argv[2])
from lookups import lookup_rates  # the one implementation of the lookup timings

out = {
    "keys": len(rt.keys()),
    "distinct_keys": len(exact),
    **lookup_rates(rt, exact, bare, short, missing, prefix[:-1], target),
    "prompt_keys_per_call": len(rt.keys("prompt")),
}
print(json.dumps(out))
"""


# ----------------------------------------------------------------------------- running


class ChildError(RuntimeError):
    pass


class Runner:
    """Runs child interpreters and remembers what they wrote to stderr."""

    def __init__(self) -> None:
        self.stderr: dict[str, str] = {}
        self.children = 0

    def run(
        self, code: str, cwd: Path, env: dict[str, str], *args: str, label: str
    ) -> tuple[float, str]:
        """Run ``python -c code args`` in ``cwd``; return (wall seconds, stdout)."""
        argv = [sys.executable, "-c", code, *args]
        t0 = time.perf_counter()
        proc = subprocess.run(
            argv,
            check=False,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
        )
        wall = time.perf_counter() - t0
        self.children += 1
        if proc.returncode != 0:
            raise ChildError(
                f"{label}: child exited with {proc.returncode}:\n{proc.stderr[-4000:]}"
            )
        if proc.stderr.strip() and label not in self.stderr:
            self.stderr[label] = proc.stderr.strip()
        return wall, proc.stdout


def remove_bytecode(tree: Path) -> int:
    """Delete every ``__pycache__`` folder under ``tree``; return how many."""
    removed = 0
    for folder, dirs, _ in os.walk(tree):
        if "__pycache__" in dirs:
            shutil.rmtree(os.path.join(folder, "__pycache__"))
            dirs.remove("__pycache__")
            removed += 1
    return removed


def make_cold(tree: Path, cache_dir: Path) -> None:
    remove_bytecode(tree)
    shutil.rmtree(cache_dir, ignore_errors=True)


def folder_stats(folder: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            files += 1
            try:
                size += os.path.getsize(os.path.join(dirpath, name))
            except OSError:
                pass
    return files, size


def maxrss_mib(value: int) -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    return value / (1024 * 1024) if sys.platform == "darwin" else value / 1024


def find_manifest_above(folder: Path) -> Path | None:
    for parent in (folder, *folder.parents):
        if (parent / "lllm.toml").is_file():
            return parent / "lllm.toml"
    return None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- statistics


def summarize(metric: str, scale: int | None, samples: list[float], **extra: Any) -> dict[str, Any]:
    label, unit, kind = METRICS[metric]
    median = statistics.median(samples)
    budget = budget_for(metric, scale)
    ratio = None
    if budget is not None:
        if kind == "rate":
            ratio = budget / median if median > 0 else float("inf")
        else:
            # A difference of two wall times can come out below zero (noise): that meets any budget.
            ratio = max(median, 0.0) / budget
    return {
        "metric": metric,
        "label": label.strip(),
        "scale": scale,
        "unit": unit,
        "kind": kind,
        "samples": samples,
        "median": median,
        "min": min(samples),
        "max": max(samples),
        "budget": budget,
        "ratio": ratio,
        "meets_budget": None if ratio is None else ratio <= 1.0,
        **extra,
    }


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("ops/s", "calls/s"):
        if value >= 1e6:
            return f"{value / 1e6:.2f} M"
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    width = max(len(label) for label, _, _ in METRICS.values()) + 2
    print(f"\n{title}")
    header = f"{'metric':<{width}}{'unit':>8}{'median':>11}{'min':>11}{'max':>11}{'budget':>11}{'ratio':>8}"
    print(header)
    print("-" * (len(header) + 4))
    for r in rows:
        if r["metric"] in HIDDEN:
            continue
        unit = r["unit"]
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        verdict = "" if r["ratio"] is None else ("ok" if r["ratio"] <= 1.0 else "MISS")
        budget = "-"
        if r["budget"] is not None:
            budget = (">= " if r["kind"] == "rate" else "<= ") + fmt(r["budget"], unit)
        note = r.get("note", "")
        line = (
            f"{METRICS[r['metric']][0]:<{width}}{unit:>8}{fmt(r['median'], unit):>11}{fmt(r['min'], unit):>11}"
            f"{fmt(r['max'], unit):>11}{budget:>11}{ratio:>8}  {verdict}{('  (' + note + ')') if note else ''}"
        )
        print(line.rstrip())


# ----------------------------------------------------------------------------- the benchmark


def prepare_tree(base: Path, scale: int) -> dict[str, Any]:
    """The tree for ``scale`` under ``base``: reused if its marker matches, else (re)written."""
    out = base / f"scale-{scale}"
    wanted = {
        **DEFAULT_SIZES,
        "scale": scale,
        "prompt_files": DEFAULT_SIZES["prompt_files"] * scale,
    }
    marker = read_marker(out)
    if marker is not None and marker.get("sizes") == wanted and (out / "lllm.toml").is_file():
        log(f"scale {scale}: reusing the tree at {out}")
        return {"root": str(out), "reused": True, **marker}
    t0 = time.perf_counter()
    info = make_tree(out, scale=scale)
    log(
        f"scale {scale}: wrote {info['files']:,} files to {out} in {time.perf_counter() - t0:.1f} s"
    )
    return {**info, "reused": False}


def bench_general(
    runner: Runner, empty: Path, env: dict[str, str], repeat: int
) -> tuple[list[dict[str, Any]], float]:
    """python -c pass, import lllm in an empty folder, its peak RSS. Returns rows and the bare
    interpreter's median wall time (seconds)."""
    for _ in range(2):  # warm the OS caches and lllm's own bytecode
        runner.run("pass", empty, env, label="python -c pass")
        runner.run(IMPORT_CODE, empty, env, label="import lllm (empty folder)")
    _, out = runner.run(PROBE_CODE, empty, env, "{}", label="probe (empty folder)")
    probe = json.loads(out)
    if probe["keys"]:
        raise SystemExit(
            f"import lllm in the empty folder {empty} loaded {probe['keys']} keys (default package "
            f"{probe['default_namespace']!r}); is there an lllm.toml above it?"
        )
    pass_walls: list[float] = []
    empty_walls: list[float] = []
    empty_inproc: list[float] = []
    rss: list[float] = []
    # These children take a few ms and the difference is small against the noise of starting a
    # process: GENERAL_FACTOR x repeat interleaved pairs (bare, import) instead of repeat.
    rounds = repeat * GENERAL_FACTOR
    for r in range(rounds):
        if r % GENERAL_FACTOR == 0:
            log(f"general: round {r // GENERAL_FACTOR + 1}/{repeat}")
        wall, _ = runner.run("pass", empty, env, label="python -c pass")
        pass_walls.append(wall)
        wall, out = runner.run(IMPORT_CODE, empty, env, label="import lllm (empty folder)")
        empty_walls.append(wall)
        empty_inproc.append(float(out))
        if r % GENERAL_FACTOR == 0:
            _, out = runner.run(PROBE_CODE, empty, env, "{}", label="probe (empty folder)")
            rss.append(maxrss_mib(json.loads(out)["maxrss"]))
    bare = statistics.median(pass_walls)
    rows = [
        summarize("python_pass", None, [w * 1e3 for w in pass_walls]),
        summarize(
            "import_empty",
            None,
            [(w - bare) * 1e3 for w in empty_walls],
            raw_wall_seconds=empty_walls,
            bare_python_median_seconds=bare,
        ),
        summarize("import_empty_inproc", None, [s * 1e3 for s in empty_inproc]),
        summarize("rss_empty", None, rss),
    ]
    return rows, bare


def bench_scale(
    runner: Runner,
    scale: int,
    tree: dict[str, Any],
    empty: Path,
    env: dict[str, str],
    cache_dir: Path,
    repeat: int,
    bare: float,
    rss_empty: float,
    lookup_seconds: float,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    root = Path(tree["root"])
    expected = tree["expected_keys"]["total"]
    samples = json.dumps({k: v for k, v in tree["sample_keys"].items() if v})
    facts: dict[str, Any] = {}

    # Warm-up and checks: a cold load writes bytecode (and the index cache), then count keys.
    make_cold(root, cache_dir)
    runner.run(IMPORT_CODE, root, env, label=f"import lllm (tree, scale {scale})")
    _, out = runner.run(PROBE_CODE, root, env, "{}", label=f"probe (tree, scale {scale})")
    probe = json.loads(out)
    facts["keys_after_import"] = probe["keys"]
    facts["default_namespace"] = probe["default_namespace"]
    if probe["keys"] < expected or probe["default_namespace"] != tree["package"]:
        raise SystemExit(
            f"scale {scale}: import lllm in {root} registered {probe['keys']} keys with default package "
            f"{probe['default_namespace']!r}; expected {expected} keys from {tree['package']!r}."
        )
    facts["index_cache_files"], facts["index_cache_bytes"] = folder_stats(cache_dir)
    facts["bytecode_folders"] = sum(1 for _ in root.rglob("__pycache__"))

    states = ("cold", "second", "warm")
    walls: dict[str, list[float]] = {state: [] for state in states}
    inproc: dict[str, list[float]] = {state: [] for state in states}
    load: dict[str, list[float]] = {state: [] for state in states}
    lookups: dict[str, list[float]] = {}
    first: dict[str, list[float]] = {}
    loaded_before: dict[str, list[bool]] = {}
    imported: dict[str, list[list[str]]] = {}
    rss_tree: list[float] = []
    for r in range(repeat):
        log(f"scale {scale}: round {r + 1}/{repeat}")
        # cold: bytecode and cache removed; second: the run right after a cold one; warm: a third run.
        make_cold(root, cache_dir)
        for state in states:
            wall, out = runner.run(
                IMPORT_CODE, root, env, label=f"import lllm (tree, scale {scale})"
            )
            walls[state].append(wall)
            inproc[state].append(float(out))
        make_cold(root, cache_dir)
        for state in states:
            _, out = runner.run(
                LOAD_CODE, empty, env, str(root), label=f"load_package (scale {scale})"
            )
            result = json.loads(out)
            if result["keys"] != expected:
                raise SystemExit(
                    f"scale {scale}: load_package registered {result['keys']} keys, expected {expected}"
                )
            load[state].append(result["seconds"])
        _, out = runner.run(PROBE_CODE, root, env, samples, label=f"probe (tree, scale {scale})")
        probe = json.loads(out)
        rss_tree.append(maxrss_mib(probe["maxrss"]))
        for kind, value in probe["first"].items():
            first.setdefault(kind, []).append(value["seconds"])
            loaded_before.setdefault(kind, []).append(value["loaded_before"])
            imported.setdefault(kind, []).append(value["imported"])
        _, out = runner.run(
            LOOKUP_CODE,
            root,
            env,
            str(lookup_seconds),
            str(BENCH_DIR),
            label=f"lookups (scale {scale})",
        )
        result = json.loads(out)
        facts["lookup_distinct_keys"] = result["distinct_keys"]
        facts["prompt_keys_per_keys_call"] = result["prompt_keys_per_call"]
        for name in (
            "get_exact",
            "get_prompt_bare",
            "get_prompt_pkg",
            "has_hit",
            "has_miss",
            "has_miss_uncached",
            "keys_prompt",
        ):
            lookups.setdefault(name, []).append(result[name])

    rows = []
    for state in states:
        rows.append(
            summarize(
                f"import_tree_{state}",
                scale,
                [(w - bare) * 1e3 for w in walls[state]],
                raw_wall_seconds=walls[state],
                bare_python_median_seconds=bare,
            )
        )
        rows.append(
            summarize(f"import_tree_{state}_inproc", scale, [s * 1e3 for s in inproc[state]])
        )
    for state in states:
        rows.append(summarize(f"load_package_{state}", scale, [s * 1e3 for s in load[state]]))
    for name in (
        "get_exact",
        "get_prompt_bare",
        "get_prompt_pkg",
        "has_hit",
        "has_miss",
        "has_miss_uncached",
        "keys_prompt",
    ):
        rows.append(summarize(name, scale, lookups[name]))
    for kind in ("prompt", "config", "asset"):
        if kind in first:
            flags = loaded_before[kind]
            notes = []
            if any(flags):
                notes.append(
                    "already loaded before the read" + ("" if all(flags) else " in some runs")
                )
            # lllm's own modules by full name, other libraries by their top-level name.
            libraries = sorted(
                {
                    m if m.startswith("lllm.") else m.split(".")[0]
                    for run in imported[kind]
                    for m in run
                    if not m.startswith("_") and m != "cython_runtime"
                }
            )
            if libraries:
                notes.append("includes importing " + ", ".join(libraries))
            rows.append(
                summarize(
                    f"first_{kind}",
                    scale,
                    [s * 1e6 for s in first[kind]],
                    loaded_before=flags,
                    modules_imported=imported[kind],
                    note="; ".join(notes),
                )
            )
    rows.append(summarize("rss_tree", scale, rss_tree))
    rows.append(
        summarize(
            "rss_added", scale, [m - rss_empty for m in rss_tree], rss_empty_median_mib=rss_empty
        )
    )
    return rows, facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="lllm startup benchmark (see bench/README.md).")
    parser.add_argument(
        "--scale", type=int, action="append", help="tree scale; repeatable (default: 1 and 10)"
    )
    parser.add_argument(
        "--repeat", type=int, help="fresh processes per metric (default 5; 3 with --quick)"
    )
    parser.add_argument("--quick", action="store_true", help="scale 1 only, 3 repeats")
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help=f"write all samples here (default {DEFAULT_JSON.relative_to(BENCH_DIR.parent)})",
    )
    parser.add_argument(
        "--tree", type=Path, help="keep the trees in DIR/scale-N and reuse them on later runs"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (trees, caches)"
    )
    parser.add_argument(
        "--lookup-seconds",
        type=float,
        default=0.05,
        help="approximate length of one timed lookup loop",
    )
    parser.add_argument(
        "--builtin-plugins-only",
        action="store_true",
        help="set LLLM_PLUGINS_AUTOLOAD=0 in the children",
    )
    args = parser.parse_args(argv)

    scales = args.scale or ([1] if args.quick else [1, 10])
    repeat = args.repeat or (3 if args.quick else 5)
    if repeat < 1 or any(s < 1 for s in scales):
        parser.error("--repeat and --scale must be >= 1")

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="lllm-bench-")).resolve()
    try:
        home = work / "home"
        empty = work / "empty"
        home.mkdir()
        empty.mkdir()
        manifest = find_manifest_above(empty)
        if manifest is not None:
            raise SystemExit(
                f"{manifest} is above the temporary folder {work}; set TMPDIR to a folder outside any project."
            )
        tree_base = args.tree.resolve() if args.tree else work
        tree_base.mkdir(parents=True, exist_ok=True)
        trees = {scale: prepare_tree(tree_base, scale) for scale in scales}

        runner = Runner()
        general_env = child_env(
            home, work / "cache-empty", builtin_plugins_only=args.builtin_plugins_only
        )
        general_rows, bare = bench_general(runner, empty, general_env, repeat)
        rss_empty = next(r["median"] for r in general_rows if r["metric"] == "rss_empty")
        scale_rows: dict[int, list[dict[str, Any]]] = {}
        facts: dict[int, dict[str, Any]] = {}
        for scale in scales:
            cache_dir = work / f"cache-{scale}"
            env = child_env(home, cache_dir, builtin_plugins_only=args.builtin_plugins_only)
            scale_rows[scale], facts[scale] = bench_scale(
                runner,
                scale,
                trees[scale],
                empty,
                env,
                cache_dir,
                repeat,
                bare,
                rss_empty,
                args.lookup_seconds,
            )
        elapsed = time.perf_counter() - started
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    from importlib.metadata import entry_points

    plugins = sorted(f"{ep.name}={ep.value}" for ep in entry_points(group="lllm.plugins"))

    result = {
        "meta": {
            "python": sys.version,
            "executable": sys.executable,
            "platform": platform.platform(),
            "repeat": repeat,
            "scales": scales,
            "lookup_seconds": args.lookup_seconds,
            "builtin_plugins_only": args.builtin_plugins_only,
            "plugins": plugins,
            "children": runner.children,
            "elapsed_seconds": elapsed,
            "budgets": {m: {str(k): v for k, v in b.items()} for m, b in BUDGETS.items()},
        },
        "general": general_rows,
        "scales": {
            str(scale): {
                "tree": {k: v for k, v in trees[scale].items() if k != "root"},
                "facts": facts[scale],
                "metrics": scale_rows[scale],
            }
            for scale in scales
        },
        "children_stderr": runner.stderr,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"lllm startup benchmark: Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{repeat} fresh processes per metric, {runner.children} children in {elapsed:.0f} s"
    )
    print(
        "ratio = measured/budget for times and memory, budget/measured for throughput: "
        "<= 1.00 meets the budget, > 1.00 misses it (MISS)."
    )
    print(
        "cold = no bytecode under the tree and an empty LLLM_CACHE_DIR; 2nd run = the run right after a cold one; "
        "warm = the third run in a row."
    )
    print("'wall - bare' = child wall time minus the median of `python -c pass`.")
    print_table("general", general_rows)
    for scale in scales:
        t, f = trees[scale], facts[scale]
        s = t["sizes"]
        cache = (
            f"{f['index_cache_files']} files, {f['index_cache_bytes'] / 1024:,.0f} KiB"
            if f["index_cache_files"]
            else "nothing written"
        )
        print_table(
            f"scale {scale}: {s['prompt_files']:,} prompt files x {s['prompts_per_file']}, {s['configs']} configs, "
            f"{s['assets']:,} assets, {s['deps']} deps = {t['expected_keys']['total']:,} keys\n"
            f"(index cache after a load: {cache}; lookups over {f.get('lookup_distinct_keys', 0):,} distinct keys; "
            f'keys("prompt") returns {f.get("prompt_keys_per_keys_call", 0):,} keys)',
            scale_rows[scale],
        )
    if runner.stderr:
        print("\nchildren wrote to stderr (first occurrence per kind of child):")
        for label, text in runner.stderr.items():
            lines = text.splitlines()
            shown = "\n    ".join(lines[:8]) + (
                f"\n    ... ({len(lines) - 8} more lines)" if len(lines) > 8 else ""
            )
            print(f"  {label}:\n    {shown}")

    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
