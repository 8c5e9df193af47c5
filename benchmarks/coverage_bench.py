"""Strategy benchmark (issue 17 item 4): runs and seconds to the first finding under random
timing, PCT and coverage-guided search, median of N campaigns, on four findings, one rare.

    PYTHONPATH=. python benchmarks/coverage_bench.py [--campaigns 10] [--cap 300]

Prints a Markdown section for benchmarks/RESULTS.md. Run counts are deterministic; seconds
are wall-clock on this machine, comparable only within one run of the script.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

from racesim.engine import coverage_search
from racesim.engine.exploration import estimate_length
from racesim.engine.runner import config_for, run_one
from racesim.models.guards import Guards
from racesim.scenarios.loader import load
from racesim.sim.config import Faults


def dup(task: str):
    return lambda r: r.verdict.by_task.get(task) is not None and r.verdict.by_task[task].duplicate_dispatches > 0


def stuck(r) -> bool:
    return r.verdict.stuck_workflows > 0


def findings():
    sc = load("with-items-fanin")
    two = load("two-predecessors")
    return [
        (
            "validate twice, guards both, 2 replicas",
            config_for(sc, Guards.parse("both"), replace(sc.deployment, replicas=2)),
            dup("validate"),
        ),
        (
            "validate twice, guards both+claim, 2 replicas",
            config_for(sc, Guards.parse("both+claim"), replace(sc.deployment, replicas=2)),
            dup("validate"),
        ),
        (
            "publish twice (two-predecessors), guards both, 2 replicas",
            config_for(two, Guards.parse("both"), replace(two.deployment, replicas=2)),
            dup("publish"),
        ),
        (
            "stuck after crash-before-publish=0.002, guards serialized (rare)",
            config_for(sc, Guards.parse("serialized"), faults=Faults.parse("crash-before-publish=0.002")),
            stuck,
        ),
    ]


def first_by_strategy(config, strategy: str, params: dict, campaign: int, cap: int, fails) -> int | None:
    for i in range(cap):
        if fails(run_one(config, campaign * 100_000 + i, strategy, params)):
            return i + 1
    return None


def first_by_coverage(config, campaign: int, cap: int, fails) -> int | None:
    return coverage_search.search(config, campaign, cap, fails).failing_at


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--campaigns", type=int, default=10)
    ap.add_argument("--cap", type=int, default=300)
    args = ap.parse_args()
    print(f"### Runs to the first finding: random, PCT, coverage-guided ({args.campaigns} campaigns, cap {args.cap} runs)\n")
    print("| finding | strategy | median runs | found in | median seconds |")
    print("|---|---|---|---|---|")
    for label, config, fails in findings():
        length = estimate_length(config)
        for name in ("random", "pct d=3", "coverage"):
            runs: list[int] = []
            secs: list[float] = []
            for c in range(args.campaigns):
                t = time.perf_counter()
                if name == "coverage":
                    n = first_by_coverage(config, c, args.cap, fails)
                elif name == "random":
                    n = first_by_strategy(config, "random", {}, c, args.cap, fails)
                else:
                    n = first_by_strategy(config, "pct", {"depth": 3, "length": length}, c, args.cap, fails)
                secs.append(time.perf_counter() - t)
                runs.append(n if n is not None else args.cap + 1)
            found = sum(1 for n in runs if n <= args.cap)
            med = statistics.median(runs)
            shown = f"{med:g}" if med <= args.cap else f"> {args.cap}"
            print(f"| {label} | {name} | {shown} | {found}/{args.campaigns} | {statistics.median(secs):.2f} |")


if __name__ == "__main__":
    main()
