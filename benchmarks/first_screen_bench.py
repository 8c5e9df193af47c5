"""The first screen's cost: `racesim matrix with-items-fanin` with no axes (8 cells, 300 runs
each), as a new user runs it, with --jobs 1 and --jobs 2.

Wall time depends on the host's load, so the script prints the CPU seconds of the command
(user + system, children included) next to the wall seconds and the load average; on an idle
2-core host the wall time of --jobs 2 is about half the CPU time plus start-up.

    python benchmarks/first_screen_bench.py [ROUNDS]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(jobs: int) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "racesim.cli", "matrix", "with-items-fanin", "--jobs", str(jobs)],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"load average before: {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    print("| jobs | wall s (median) | CPU s (median) |")
    print("|---|---|---|")
    for jobs in (1, 2):
        samples = sorted(measure(jobs) for _ in range(rounds))
        walls = sorted(w for w, _ in samples)
        cpus = sorted(c for _, c in samples)
        print(f"| {jobs} | {walls[len(walls) // 2]:.1f} | {cpus[len(cpus) // 2]:.1f} |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
