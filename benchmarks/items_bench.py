"""Cost per item of one run as a ``with_items`` task grows (issue 14: linear, not quadratic).

The seed scenario with its ``process_items`` task resized to N items (concurrency 3, as in
the seed). Each size runs enough seeds for about the same number of items in total; the
step limit is lifted so a large run is not cut short. Reported: microseconds of process CPU
per item and per kernel step, and each size's cost per item relative to the smallest size.

    python benchmarks/items_bench.py [--sizes 100,1000,10000] [--guards both,serialized]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from racesim.engine.runner import config_for, run_one
from racesim.models.guards import Guards
from racesim.scenarios.loader import load
from racesim.sim.config import RunConfig
from racesim.sim.shrink import with_item_counts


def resized(n: int, guards: str) -> RunConfig:
    """The seed scenario's config with ``process_items`` given ``n`` items."""
    return with_item_counts(config_for(load("with-items-fanin"), Guards.parse(guards)), {"process_items": n})


def measure(n: int, guards: str, total_items: int) -> tuple[float, float, int]:
    """(us per item, us per step, runs) over ``total_items // n`` runs (at least 1)."""
    config = dataclasses.replace(resized(n, guards), max_steps=10**9)
    runs = max(1, total_items // n)
    run_one(config, 0)  # warm up imports and caches
    steps = 0
    start = time.process_time()
    for seed in range(1, runs + 1):
        steps += run_one(config, seed).output.steps
    spent = time.process_time() - start
    return spent / (runs * n) * 1e6, spent / steps * 1e6, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--guards", default="both,serialized")
    parser.add_argument("--items", type=int, default=20_000, help="items per size in total (runs = items // size)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print("| guards | items | runs | us/item | us/step | vs smallest |")
    print("|---|---|---|---|---|---|")
    for guards in args.guards.split(","):
        base = None
        for n in sizes:
            per_item, per_step, runs = measure(n, guards, args.items)
            base = base or per_item
            print(f"| {guards} | {n:,} | {runs} | {per_item:.0f} | {per_step:.2f} | {per_item / base:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
