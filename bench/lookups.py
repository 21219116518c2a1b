"""Lookup throughput at 10,000 registered keys (issue 2's budgets).

Run: ``python bench/lookups.py`` (add ``--json PATH`` to also write the figures).
Prints operations per second for each lookup and its ratio to the budget (>= 1.0 meets it).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from lllm.core.resource import PackageInfo, ResourceNode
from lllm.core.runtime import Runtime

BUDGETS = {
    "exact get": 2_500_000,
    "get_prompt bare key": 2_000_000,
    "get_prompt pkg:key": 2_000_000,
    "has() miss": 1_000_000,
}


def build_runtime(n_keys: int) -> Runtime:
    """A runtime with ``n_keys`` prompts spread over a root package and two dependencies."""
    rt = Runtime()
    rt.register_package(PackageInfo("root"))
    for i in range(n_keys):
        namespace = ("root", "dep_a", "dep_b")[i % 3] + ".prompts"
        rt.register(
            ResourceNode.eager(
                f"group{i % 50}/prompt{i}", i, namespace=namespace, resource_type="prompt"
            )
        )
    return rt


def ops_per_second(
    fn: Callable[[], None], calls_per_fn: int, seconds: float = 0.4, repeats: int = 5
) -> float:
    """Best of ``repeats`` timed runs of ``fn`` lasting about ``seconds`` each."""
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        if time.perf_counter() - start >= seconds / 4:
            break
        loops *= 2
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, time.perf_counter() - start)
    return loops * calls_per_fn / best


def lookup_rates(
    rt: Runtime,
    exact: list[str],
    bare: list[str],
    short: list[str],
    missing: list[str],
    marker_namespace: str,
    seconds: float = 0.4,
) -> dict[str, float]:
    """Operations per second of each lookup over the given keys (also used by ``startup.py``).

    ``has_miss_uncached`` registers a marker node in ``marker_namespace`` before each round,
    so that no resolution is remembered: the worst case of a miss.
    """
    get, get_prompt, has, keys = rt.get, rt.get_prompt, rt.has, rt.keys
    marker = ResourceNode.eager(
        "bench/marker", 0, namespace=marker_namespace, resource_type="prompt"
    )

    def run_exact() -> None:
        for k in exact:
            get(k)

    def run_bare() -> None:
        for k in bare:
            get_prompt(k)

    def run_short() -> None:
        for k in short:
            get_prompt(k)

    def run_has_hit() -> None:
        for k in bare:
            has(k)

    def run_miss() -> None:
        for k in missing:
            has(k)

    def run_keys() -> None:
        keys("prompt")

    def run_fresh_miss() -> None:
        rt.register(marker)
        for k in missing:
            has(k)

    return {
        "get_exact": ops_per_second(run_exact, len(exact), seconds),
        "get_prompt_bare": ops_per_second(run_bare, len(bare), seconds),
        "get_prompt_pkg": ops_per_second(run_short, len(short), seconds),
        "has_hit": ops_per_second(run_has_hit, len(bare), seconds),
        "has_miss": ops_per_second(run_miss, len(missing), seconds),
        "keys_prompt": ops_per_second(run_keys, 1, seconds),
        "has_miss_uncached": ops_per_second(run_fresh_miss, len(missing), seconds),
    }


LABELS = {
    "get_exact": "exact get",
    "get_prompt_bare": "get_prompt bare key",
    "get_prompt_pkg": "get_prompt pkg:key",
    "has_miss": "has() miss",
    "has_miss_uncached": "has() miss, uncached",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()

    rt = build_runtime(args.keys)
    root_keys = [k for k in rt.keys("prompt") if k.startswith("root.")][:1000]
    bare = [k.partition(":")[2] for k in root_keys]
    rates = lookup_rates(
        rt,
        root_keys,
        bare,
        [f"root:{k}" for k in bare],
        [f"missing/key{i}" for i in range(1000)],
        "root.prompts",
    )
    results = {LABELS[key]: rates[key] for key in LABELS}
    print(f"lookups at {args.keys:,} registered keys")
    print(f"{'lookup':<22}{'ops/s':>14}{'budget':>14}{'ratio':>8}")
    for name, rate in results.items():
        budget = BUDGETS.get(name)
        if budget is None:
            print(f"{name:<22}{rate:>14,.0f}{'-':>14}{'-':>8}")
        else:
            print(f"{name:<22}{rate:>14,.0f}{budget:>14,}{rate / budget:>8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"keys": args.keys, "ops_per_second": results, "budgets": BUDGETS}, f, indent=2
            )


if __name__ == "__main__":
    main()
