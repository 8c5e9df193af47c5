"""Exploration benchmark (issue 4): how fast each strategy finds the FIXn duplicate, and
what bounded DFS costs on the serialized variant, with and without sleep sets.

    python benchmarks/explore_bench.py [--campaigns 20] [--cap 3000] [--max-schedules 3000]

Prints a Markdown section for benchmarks/RESULTS.md. Wall-clock times are for information
only; every count is deterministic.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

from racesim.engine.exploration import estimate_length, explore_dfs, failing_check
from racesim.engine.runner import config_for, run_one
from racesim.models.guards import Guards
from racesim.scenarios.loader import load


def runs_to_first(config, strategy: str, params: dict, campaign: int, cap: int, fails) -> int | None:
    for i in range(cap):
        if fails(run_one(config, campaign * 100_000 + i, strategy, params)):
            return i + 1
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--campaigns", type=int, default=20)
    ap.add_argument("--cap", type=int, default=3000)
    ap.add_argument("--max-schedules", type=int, default=3000)
    args = ap.parse_args()
    sc = load("with-items-fanin")
    fails = failing_check("validate")
    fix2 = config_for(sc, Guards.parse("both"), replace(sc.deployment, replicas=2))
    length = estimate_length(fix2)
    print("### Runs to the first duplicate `validate`, guards `both`, 2 replicas (seed scenario)\n")
    print(
        f"{args.campaigns} campaigns (campaign c runs seeds c*100000, c*100000+1, ...), "
        f"cap {args.cap} runs; PCT length k = {length} steps.\n"
    )
    print("| strategy | median runs | min | max | not found within cap | seconds |")
    print("|---|---|---|---|---|---|")
    for label, strategy, params in (
        ("random", "random", {}),
        ("pct d=2", "pct", {"depth": 2, "length": length}),
        ("pct d=3", "pct", {"depth": 3, "length": length}),
    ):
        t = time.perf_counter()
        xs = [runs_to_first(fix2, strategy, params, c, args.cap, fails) for c in range(args.campaigns)]
        found = [x for x in xs if x is not None]
        med = statistics.median(found) if found else None
        print(
            f"| {label} | {med} | {min(found) if found else '-'} | {max(found) if found else '-'} | "
            f"{len(xs) - len(found)} | {time.perf_counter() - t:.1f} |"
        )
    print("\n### DFS, preemption bound 2, guards `serialized`\n")
    print("| scenario / deployment | POR | schedules | complete | sleep-skipped branches | abandoned runs | failing | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    small = load("fanin-2x2")
    cases = [
        ("seed scenario, 3 workers x 10 slots, 1 replica", config_for(sc, Guards.parse("serialized"))),
        (
            "seed scenario, 1 worker x 3 slots, 1 replica",
            config_for(sc, Guards.parse("serialized"), replace(sc.deployment, workers=1, worker_slots=3)),
        ),
        ("2 items conc. 2, 1 worker x 2 slots, 1 replica", config_for(small, Guards.parse("serialized"))),
    ]
    for label, config in cases:
        for por in (True, False):
            t = time.perf_counter()
            r = explore_dfs(config, 0, 2, args.max_schedules, por=por, stop_at_first=False)
            print(
                f"| {label} | {'sleep sets' if por else 'off'} | {r.schedules} | {r.complete} | {r.sleep_skipped} | "
                f"{r.sleep_blocked} | {r.failing is not None} | {time.perf_counter() - t:.1f} |"
            )


if __name__ == "__main__":
    main()
