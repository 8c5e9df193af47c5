"""The simpy-driven kernel: a lean counting run, a recorded (traced) run, the sequential
driver and bare simpy events, per guard set, in one process and one run of this script.

    python benchmarks/kernel_bench.py [--runs 200] [--rounds 5]

- sweep: ``engine.runner.sweep`` per run, the counting sweep as ``racesim run`` makes it
  (lean runs, every ``TRACE_EVERY``-th seed traced for coverage, each run's verdict, digest
  and coverage added to the summary): the figure the issue 14 target is about;
- lean: ``run_one(config, seed)`` alone (no trace records, run digest over the schedule
  and verdict);
- traced: ``run_one(config, seed, record=True)`` (trace records and the choice sequence,
  as ``--trace``/``--html``/``--save-failing`` regenerate a failing seed);
- sequential: ``bench_throughput.sequential_run``, the same models on plain stores with no
  clock, no draws, no scheduler, no trace, no checker (the floor);
- bare: ``bench_throughput.simpy_bare_run``, the same models as simpy processes with one
  timeout per round trip and a simpy Store per queue, nothing else (the issue's own rough
  estimate of simpy's floor for these models);
- simpy: a bare process yielding timeouts, microseconds per event.

Per run is the issue's yardstick, but the two drivers do not make the same runs: the
sequential driver's round-robin order makes one fixed interleaving per guard set, the
kernel's runs follow their drawn timings. Under ``none`` the sequential run makes about
twice the round trips of an average kernel run (its order sets off more duplicate
dispatches), under ``serialized`` about as many. So the last columns also compare per round
trip: the sweep's time per kernel step against the sequential driver's time per round
trip it executed (empty polls of a queue not counted).

Process CPU time (``time.process_time``); medians over rounds. Within a round the modes
take turns in chunks of 20 runs, so that machine noise hits them alike. Read the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_throughput import sequential_run, simpy_bare_run, simpy_rate  # noqa: E402
from racesim.engine.runner import config_for, run_one, sweep  # noqa: E402
from racesim.models.guards import Guards  # noqa: E402
from racesim.scenarios.loader import load  # noqa: E402

CHUNK = 20  # runs per turn (a multiple of TRACE_EVERY, so each turn of the sweep traces alike)


def _us_per_run(fn, n: int) -> float:
    t = time.process_time()
    fn(n)
    return (time.process_time() - t) / n * 1e6


def _each(run, config, base: int, n: int) -> None:
    """Runs seeds ``base ..``, dropping each result as a sweep does (a list of results
    would keep every run's world alive and tax the cyclic collector)."""
    for s in range(base, base + n):
        run(config, s)


def _each_bare(scenario, guards, base: int, n: int) -> None:
    for s in range(base, base + n):
        simpy_bare_run(scenario, guards, s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=CHUNK, help=f"runs per turn of each mode (default {CHUNK})")
    args = parser.parse_args()
    scenario = load("with-items-fanin")
    print(f"median of {args.rounds} rounds of {args.runs} runs, seed scenario, random timing; us per run")
    cols = (
        f"{'steps':>6} {'sweep':>7} {'lean':>7} {'traced':>7} {'seq':>7} {'sweep/seq':>10} {'lean/seq':>9} "
        f"{'traced/seq':>11} {'seq trips':>10} {'per trip':>9} {'bare':>7} {'sweep/bare':>11} {'simpy us/event':>15}"
    )
    print(f"{'guards':<12} {cols}")
    for name in ("none", "layer1", "layer2", "both", "serialized"):
        guards = Guards.parse(name)
        config = config_for(scenario, guards)
        seeds = range(1, args.runs * args.rounds + 1)  # every seed timed below
        steps = sum(run_one(config, s).output.steps for s in seeds) / len(seeds)
        trips, _polls = sequential_run(scenario, guards)  # one fixed run: the driver draws nothing
        swept, lean, traced, seq, bare, ev = [], [], [], [], [], []
        for r in range(args.rounds):
            base = 1 + r * args.runs
            ev.append(1e6 / simpy_rate(50_000))
            # The modes take turns in chunks of CHUNK runs, so that a slow spell of the
            # machine (a shared VM drifts by 10-20% within seconds) hits each mode alike.
            totals = [0.0, 0.0, 0.0, 0.0, 0.0]
            for start in range(base, base + args.runs, args.chunk):
                n = min(args.chunk, base + args.runs - start)
                totals[0] += _us_per_run(lambda k, b=start, c=config: sweep(c, b, k), n) * n
                totals[1] += _us_per_run(lambda k, b=start, c=config: _each(run_one, c, b, k), n) * n
                totals[2] += _us_per_run(lambda k, b=start, c=config: _each(partial(run_one, record=True), c, b, k), n) * n
                totals[3] += _us_per_run(lambda k, g=guards: [sequential_run(scenario, g) for _ in range(k)], n) * n
                totals[4] += _us_per_run(lambda k, b=start, g=guards: _each_bare(scenario, g, b, k), n) * n
            for column, total in zip((swept, lean, traced, seq, bare), totals, strict=True):
                column.append(total / args.runs)
        ratio_sweep = statistics.median(a / b for a, b in zip(swept, seq, strict=True))
        ratio_lean = statistics.median(a / b for a, b in zip(lean, seq, strict=True))
        ratio_traced = statistics.median(a / b for a, b in zip(traced, seq, strict=True))
        # sweep us per kernel step over sequential us per round trip
        per_trip = statistics.median((a / steps) / (b / trips) for a, b in zip(swept, seq, strict=True))
        ratio_bare = statistics.median(a / b for a, b in zip(swept, bare, strict=True))
        print(
            f"{name:<12} {steps:>6.0f} {statistics.median(swept):>7.0f} {statistics.median(lean):>7.0f} "
            f"{statistics.median(traced):>7.0f} {statistics.median(seq):>7.0f} {ratio_sweep:>9.2f}x {ratio_lean:>8.2f}x "
            f"{ratio_traced:>10.2f}x {trips:>10} {per_trip:>8.2f}x {statistics.median(bare):>7.0f} {ratio_bare:>10.2f}x "
            f"{statistics.median(ev):>15.2f}"
        )


if __name__ == "__main__":
    main()
