"""Speed-up of a sweep over two local processes (`--jobs 2`) and over a two-worker Dask
`LocalCluster` (`--cluster`), against one process, in one invocation.

    python benchmarks/cluster_bench.py [--runs 3000]

The sweep: the seed scenario under none, layer1, layer2 and both, ``--runs`` seeds each.
The pool and the cluster are started (and warmed by a small sweep) before the clock starts,
as a user's scheduler and workers would already be running; the serial sweep runs in this
process. Every parallel result must equal the serial one (summaries and sweep digests).
Wall time is what a speed-up is about; the load average is printed because on a shared
machine wall time also measures the neighbours.
"""

from __future__ import annotations

import argparse
import os
import time

from racesim.engine import parallel
from racesim.engine.parallel import run_sweeps
from racesim.engine.runner import config_for
from racesim.models.guards import Guards
from racesim.scenarios.loader import load


def timed(configs: list, runs: int, **kw: object) -> tuple[float, list]:
    start = time.perf_counter()
    out = run_sweeps(configs, 1, runs, **kw)  # type: ignore[arg-type]
    return time.perf_counter() - start, out


def main() -> None:
    from distributed import LocalCluster

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3000, help="runs per guard set (4 guard sets)")
    args = ap.parse_args()
    scenario = load("with-items-fanin")
    configs = [config_for(scenario, Guards.parse(g)) for g in ("none", "layer1", "layer2", "both")]
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        run_sweeps(configs, 1, 20, jobs=2)  # warm: pool up, workers imported
        run_sweeps(configs, 1, 20, cluster=address)
        serial_s, serial = timed(configs, args.runs)
        jobs_s, jobs = timed(configs, args.runs, jobs=2)
        cluster_s, clustered = timed(configs, args.runs, cluster=address)
        parallel.close_clients()
    for name, other in (("--jobs 2", jobs), ("--cluster", clustered)):
        same = all(a.to_json() == b.to_json() and a.digest == b.digest for a, b in zip(serial, other, strict=True))
        assert same, name
    total = args.runs * len(configs)
    print(f"load average at end: {os.getloadavg()[0]:.2f} (1 min)")
    print("| sweep | runs | wall s | runs/s | speed-up |")
    print("|---|---|---|---|---|")
    for name, secs in (("1 process", serial_s), ("--jobs 2", jobs_s), ("LocalCluster, 2 workers x 1 thread", cluster_s)):
        print(f"| {name} | {total:,} | {secs:.1f} | {total / secs:,.0f} | {serial_s / secs:.2f}x |")
    parallel.shutdown_pool()


if __name__ == "__main__":
    main()
