"""Wall and CPU time of `racesim audit tests/data/attune/` at the default run count, --jobs 1 and 2.

Usage: python benchmarks/audit_bench.py [--runs N]   (from a checkout; prints a Markdown table)
The corpus: every workflow file under tests/data/attune (13 files, 10 audited: 3 are refused by
attune even when read leniently), 4 versions x 2 deployments per file.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one(jobs: int, runs: int | None) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    args = [sys.executable, "-m", "racesim.cli", "audit", "tests/data/attune/", "--json", "--fail-on", "none"]
    args += ["--jobs", str(jobs)]
    if runs is not None:
        args += ["--runs", str(runs)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    total = int(done.stderr.split(": ")[-1].split(" runs")[0]) if " runs on " in done.stderr else 0
    return wall, cpu, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=None, help="runs per cell (default: audit's default)")
    opts = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("| jobs | runs in total | wall s | CPU s (all processes) | wall vs jobs 1 |")
    print("|---|---|---|---|---|")
    base = None
    for jobs in (1, 2):
        wall, cpu, total = one(jobs, opts.runs)
        base = base or wall
        print(f"| {jobs} | {total} | {wall:.1f} | {cpu:.1f} | {wall / base:.2f}x |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
