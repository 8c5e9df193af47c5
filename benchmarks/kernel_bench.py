"""The simpy-driven kernel: a lean counting run, a recorded (traced) run, the sequential
driver and bare simpy events, per guard set, in one process and one run of this script.

    python benchmarks/kernel_bench.py [--runs 200] [--rounds 5]

- lean: ``run_one(config, seed)`` as sweeps run it (no trace records, run digest over
  the schedule and verdict);
- traced: ``run_one(config, seed, record=True)`` (trace records and the choice sequence,
  as ``--trace``/``--html``/``--save-failing`` regenerate a failing seed);
- sequential: ``bench_throughput.sequential_run``, the same models on plain stores with no
  clock, no draws, no scheduler, no trace, no checker (the floor);
- simpy: a bare process yielding timeouts, microseconds per event.

Process CPU time (``time.process_time``); medians over rounds, each round measuring all
modes back to back so machine noise hits them alike. Read the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_throughput import sequential_run, simpy_rate  # noqa: E402
from racesim.engine.runner import config_for, run_one  # noqa: E402
from racesim.models.guards import Guards  # noqa: E402
from racesim.scenarios.loader import load  # noqa: E402


def _us_per_run(fn, n: int) -> float:
    t = time.process_time()
    fn(n)
    return (time.process_time() - t) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    scenario = load("with-items-fanin")
    print(f"median of {args.rounds} rounds of {args.runs} runs, seed scenario, random timing; us per run")
    cols = f"{'steps':>6} {'lean':>7} {'traced':>7} {'seq':>7} {'lean/seq':>9} {'traced/seq':>11} {'simpy us/event':>15}"
    print(f"{'guards':<12} {cols}")
    for name in ("none", "layer1", "layer2", "both", "serialized"):
        guards = Guards.parse(name)
        config = config_for(scenario, guards)
        steps = sum(run_one(config, s).output.steps for s in range(1, args.runs + 1)) / args.runs
        lean, traced, seq, ev = [], [], [], []
        for r in range(args.rounds):
            base = 1 + r * args.runs
            ev.append(1e6 / simpy_rate(50_000))
            lean.append(_us_per_run(lambda n, b=base, c=config: [run_one(c, s) for s in range(b, b + n)], args.runs))
            traced.append(
                _us_per_run(lambda n, b=base, c=config: [run_one(c, s, record=True) for s in range(b, b + n)], args.runs)
            )
            seq.append(_us_per_run(lambda n, g=guards: [sequential_run(scenario, g) for _ in range(n)], args.runs))
        ratio_lean = statistics.median(a / b for a, b in zip(lean, seq, strict=True))
        ratio_traced = statistics.median(a / b for a, b in zip(traced, seq, strict=True))
        print(
            f"{name:<12} {steps:>6.0f} {statistics.median(lean):>7.0f} {statistics.median(traced):>7.0f} "
            f"{statistics.median(seq):>7.0f} {ratio_lean:>8.2f}x {ratio_traced:>10.2f}x {statistics.median(ev):>15.2f}"
        )


if __name__ == "__main__":
    main()
