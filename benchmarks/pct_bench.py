"""PCT's cost per run next to a random-timing run's (issue 14: a PCT step that does not sort).

    python benchmarks/pct_bench.py [--runs 200] [--rounds 5]

Seed scenario, lean runs (``run_one``, no trace), process CPU; each round measures both
strategies back to back; medians over rounds, and the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time

from racesim.engine.runner import config_for, run_one
from racesim.models.guards import Guards
from racesim.scenarios.loader import load


def _us_per_run(config, strategy: str, first: int, n: int) -> float:
    t = time.process_time()
    for s in range(first, first + n):
        run_one(config, s, strategy)
    return (time.process_time() - t) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    scenario = load("with-items-fanin")
    print("| guards | random us/run | pct us/run | pct/random |")
    print("|---|---|---|---|")
    for name in ("none", "both", "serialized"):
        config = config_for(scenario, Guards.parse(name))
        rnd, pct = [], []
        for r in range(args.rounds):
            base = 1 + r * args.runs
            rnd.append(_us_per_run(config, "random", base, args.runs))
            pct.append(_us_per_run(config, "pct", base, args.runs))
        ratio = statistics.median(p / q for p, q in zip(pct, rnd, strict=True))
        print(f"| {name} | {statistics.median(rnd):.0f} | {statistics.median(pct):.0f} | {ratio:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
