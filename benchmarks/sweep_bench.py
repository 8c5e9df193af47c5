"""Sweep and CI-gate benchmark (issue 7): `racesim check` on the whole catalog, and the
`--jobs 2` vs `--jobs 1` speed-up on a 20,000-run matrix, measured in one invocation.

    python benchmarks/sweep_bench.py [--runs-per-cell 2500] [--skip-check]

Prints a Markdown section for benchmarks/RESULTS.md. Each command runs as a subprocess,
exactly as a user or CI would type it; its output for `--jobs 2` must equal `--jobs 1`
byte for byte. CPU seconds (the process and its workers) are reported next to wall time
because on a shared machine wall time also measures the neighbours.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

SCENARIO = "with-items-fanin"
GUARD_SETS = 4  # the matrix's default rows: none, layer1, layer2, both
REPLICAS = "1,2"


def timed(cmd: list[str]) -> tuple[float, float, str, int]:
    """Wall seconds, CPU seconds (user + sys of the command and every process it reaped), stdout, exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout, proc.returncode


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min) / {five:.2f} (5 min)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs-per-cell", type=int, default=2500, help="x 4 guard sets x 2 deployments = total runs")
    ap.add_argument("--skip-check", action="store_true", help="only the matrix speed-up")
    args = ap.parse_args()
    racesim = [sys.executable, "-m", "racesim.cli"]
    lines = ["## Sweeps and the CI gate", ""]
    lines.append(f"Machine: {os.cpu_count()} cores, shared; load average at start {load()}.")
    lines.append("")

    if not args.skip_check:
        lines += ["| command | exit | wall s | CPU s |", "|---|---|---|---|"]
        outputs = {}
        for jobs in (1, 2):
            cmd = ["racesim", "check", "--jobs", str(jobs)]
            wall, cpu, out, rc = timed([*racesim, "check", "--jobs", str(jobs)])
            outputs[jobs] = out
            lines.append(f"| `{' '.join(cmd)}` | {rc} | {wall:.1f} | {cpu:.1f} |")
        entries = sum(line.startswith(("ok ", "FAIL ")) for line in outputs[1].splitlines())
        lines.append("")
        same = outputs[1] == outputs[2]
        lines.append(f"Catalog: {entries} expect entries at their own run counts; same output for both: {same}.")
        lines.append("")

    total = args.runs_per_cell * GUARD_SETS * len(REPLICAS.split(","))
    base = ["matrix", SCENARIO, "--runs", str(args.runs_per_cell), "--replicas", REPLICAS, "--json"]
    results = {}
    for jobs in (1, 2):
        results[jobs] = timed([*racesim, *base, "--jobs", str(jobs)])
    (w1, c1, o1, r1), (w2, c2, o2, r2) = results[1], results[2]
    shown = "racesim " + " ".join(base)
    lines += [
        f"{total:,}-run matrix (`{shown} --jobs N`):",
        "",
        "| jobs | exit | wall s | CPU s |",
        "|---|---|---|---|",
        f"| 1 | {r1} | {w1:.1f} | {c1:.1f} |",
        f"| 2 | {r2} | {w2:.1f} | {c2:.1f} |",
        "",
        f"Speed-up {w1 / w2:.2f}x wall; `--jobs 2` spent {c2 / c1:.2f}x the CPU of `--jobs 1` "
        f"(worker start-up and result shipping). JSON byte-identical: {o1 == o2}.",
        f"Load average at end {load()}.",
    ]
    print("\n".join(lines))
    if o1 != o2 or r1 or r2:
        sys.exit(1)


if __name__ == "__main__":
    main()
