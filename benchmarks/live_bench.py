"""Live runs per second against simulated runs per second, same scenario, in one run.

    python benchmarks/live_bench.py [--runs 20] [--sim-runs 1000] [--guards none]

The number is the reason the simulator exists: how many interleavings per second each can try.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from racesim.engine.runner import config_for, sweep
from racesim.live.driver import run_live
from racesim.models.guards import Guards
from racesim.scenarios.loader import load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="with-items-fanin")
    ap.add_argument("--guards", default="none")
    ap.add_argument("--runs", type=int, default=20, help="live runs")
    ap.add_argument("--sim-runs", type=int, default=1000, help="simulated runs")
    args = ap.parse_args()
    config = config_for(load(args.scenario), Guards.parse(args.guards))

    t = time.perf_counter()
    summary = sweep(config, 1, args.sim_runs)
    sim_s = time.perf_counter() - t

    t = time.perf_counter()
    live_dups = 0
    for i in range(args.runs):
        live_dups += bool(run_live(config, seed=i).verdict.duplicate_dispatches)
    live_s = time.perf_counter() - t

    sim_rate, live_rate = args.sim_runs / sim_s, args.runs / live_s
    print(
        json.dumps(
            {
                "scenario": args.scenario,
                "guards": args.guards,
                "python": platform.python_version(),
                "sim_runs": args.sim_runs,
                "sim_seconds": round(sim_s, 2),
                "sim_runs_per_second": round(sim_rate, 1),
                "sim_runs_with_duplicates": summary.runs_with_duplicates,
                "live_runs": args.runs,
                "live_seconds": round(live_s, 2),
                "live_runs_per_second": round(live_rate, 2),
                "live_runs_with_duplicates": live_dups,
                "speedup": round(sim_rate / live_rate, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
