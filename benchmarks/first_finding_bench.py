"""Random timing vs PCT vs DFS: runs and CPU seconds to the first failing run, on the seed
scenario's duplicate and on a rare finding, in one invocation.

- seed: `with-items-fanin`, guards `both`, 2 replicas; finding: `validate` dispatched twice
  (spec 7(b)).
- rare: `fanin-2x2`, no guards; finding: `validate` never dispatched (an item re-run
  completes the workflow early: a missed dispatch); plain sleep sets under bound 1 used to
  cut it.

random and pct run seeds 1, 2, ... up to ``--cap``; dfs runs its search (POR on) with
``--max-schedules`` = cap. Process CPU time (``time.process_time``).

    python benchmarks/first_finding_bench.py [--cap 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable

from racesim.engine.exploration import estimate_length, explore_dfs, failing_check
from racesim.engine.runner import RunConfig, RunResult, config_for, run_one
from racesim.models.guards import Guards
from racesim.scenarios.loader import load

Found = Callable[[RunResult], bool]


def sampled(config: RunConfig, strategy: str, params: dict, found: Found, cap: int) -> tuple[int | None, float]:
    start = time.process_time()
    for seed in range(1, cap + 1):
        if found(run_one(config, seed, strategy, params)):
            return seed, time.process_time() - start
    return None, time.process_time() - start


def searched(config: RunConfig, bound: int, found: Found, cap: int) -> tuple[int | None, float]:
    start = time.process_time()
    r = explore_dfs(config, 0, bound, cap, is_failing=found)
    return r.failing_index, time.process_time() - start


def missed_validate(r: RunResult) -> bool:
    stats = r.verdict.by_task.get("validate")
    return r.verdict.missed_dispatches > 0 and (stats is None or stats.max_dispatches == 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cap", type=int, default=2000)
    args = ap.parse_args()
    seed_sc = load("with-items-fanin")
    cases = [
        (
            "seed: validate twice (both, 2 replicas)",
            config_for(seed_sc, Guards.parse("both"), dataclasses.replace(seed_sc.deployment, replicas=2)),
            failing_check("validate"),
        ),
        (
            "rare: validate never dispatched (fanin-2x2, none)",
            config_for(load("fanin-2x2"), Guards.parse("none")),
            missed_validate,
        ),
    ]
    print("| finding | strategy | runs to first | CPU s |")
    print("|---|---|---|---|")
    for label, config, found in cases:
        length = estimate_length(config)
        rows: list[tuple[str, tuple[int | None, float]]] = [
            ("random", sampled(config, "random", {}, found, args.cap)),
            ("pct d=3", sampled(config, "pct", {"depth": 3, "length": length}, found, args.cap)),
            ("dfs k=1", searched(config, 1, found, args.cap)),
            ("dfs k=2", searched(config, 2, found, args.cap)),
        ]
        for name, (n, secs) in rows:
            shown = f"{n:,}" if n is not None else f"not within {args.cap:,}"
            print(f"| {label} | {name} | {shown} | {secs:.1f} |", flush=True)


if __name__ == "__main__":
    main()
