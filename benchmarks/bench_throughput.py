"""Simulation throughput of the seed scenario, per guard set, with the kernel's overhead shown.

For each guard set, in one process and one run of this script:
- runs/s, events (kernel steps) per run and events/s of the full simulator (random
  timing, trace, digest, checker);
- the same model code driven sequentially on plain in-memory stores: no clock, no latency
  draws, no scheduler choices, no trace, no checker; each actor runs until it waits on an
  empty queue (the floor any kernel could reach with these models and stores);
- simpy's own rate on bare timeout events, measured here, so the ratio to it is honest.

    python benchmarks/bench_throughput.py [--runs 2000]

Process CPU time is used (``time.process_time``) so other load on the machine skews less.
"""

from __future__ import annotations

import argparse
import time
from collections import deque

import simpy

from models import ops
from models.execution_scheduler import execution_scheduler
from models.guards import Guards
from models.listener import completion_listener
from models.rows import COMPLETED_QUEUE, REQUESTS_QUEUE, Delivery, worker_queue
from models.starter import start_workflow
from models.worker import worker_slot
from racesim.runner import config_for, run_one
from scenarios.loader import load
from sim.db import SimDB


def sequential_run(scenario, guards: Guards) -> int:
    """Drive the ported models round-robin on plain stores; returns ops executed."""
    dep = scenario.deployment
    db = SimDB(tuple(range(1, dep.workers + 1)))
    queues: dict[str, deque] = {}
    unacked: dict[int, tuple[str, object]] = {}
    tag = 0
    actors = [start_workflow(guards, scenario.workflow_ref, scenario.graph)]
    waits: list[str | None] = [None]
    consumer_queue = {"req": REQUESTS_QUEUE, "done": COMPLETED_QUEUE}
    actors += [execution_scheduler(guards, "req"), completion_listener(guards, "done")]
    waits += [None, None]
    for w in range(1, dep.workers + 1):
        consumer_queue[f"w{w}"] = worker_queue(w)
        actors.append(worker_slot(f"w{w}"))
        waits.append(None)
    results: list[object] = [None] * len(actors)
    started = [False] * len(actors)
    count = 0
    progress = True
    while progress:
        progress = False
        for i, gen in enumerate(actors):
            if gen is None:
                continue
            while True:
                try:
                    op = gen.send(results[i]) if started[i] else next(gen)
                except StopIteration:
                    actors[i] = None
                    break
                started[i] = True
                count += 1
                kind = type(op)
                if kind is ops.Consume:
                    q = queues.setdefault(consumer_queue[op.consumer], deque())
                    if not q:
                        # wait: re-issue this consume next round
                        actors[i] = _resume_with(gen, op)
                        started[i] = False
                        break
                    tag += 1
                    results[i] = Delivery(tag, q.popleft())
                elif kind is ops.Publish:
                    queues.setdefault(op.queue, deque()).append(op.message)
                    results[i] = None
                elif kind in (ops.Ack, ops.Nack):
                    results[i] = None
                elif kind is ops.RunAction:
                    results[i] = True
                elif kind is ops.Sleep:
                    results[i] = None
                elif kind is ops.AdvisoryLock or kind is ops.AdvisoryUnlock:
                    results[i] = None  # sequential: never contended
                else:
                    results[i] = db.handlers[kind](0, op)
                progress = True
    del unacked
    return count


def _resume_with(gen, op):
    """A generator that first re-yields ``op``, then continues ``gen``."""
    result = yield op
    while True:
        try:
            op = gen.send(result)
        except StopIteration:
            return
        result = yield op


def simpy_rate(n: int = 200_000) -> float:
    env = simpy.Environment()

    def proc(env):
        for _ in range(n):
            yield env.timeout(1)

    env.process(proc(env))
    t = time.process_time()
    env.run()
    return n / (time.process_time() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    scenario = load("with-items-fanin")
    simpy_eps = simpy_rate()
    print(f"simpy alone: {simpy_eps:,.0f} timeout events/s")
    header = ("guards", "runs/s", "events/run", "events/s", "seq runs/s", "sim/seq", "events/s vs simpy")
    print(f"{header[0]:<12} {header[1]:>8} {header[2]:>10} {header[3]:>10} {header[4]:>10} {header[5]:>8} {header[6]:>18}")

    for name in ("none", "layer1", "layer2", "both", "serialized"):
        guards = Guards.parse(name)
        config = config_for(scenario, guards)
        t = time.process_time()
        steps = 0
        for seed in range(1, args.runs + 1):
            steps += run_one(config, seed).output.steps
        sim_s = time.process_time() - t
        t = time.process_time()
        for _ in range(args.runs):
            sequential_run(scenario, guards)
        seq_s = time.process_time() - t
        runs_s = args.runs / sim_s
        eps = steps / sim_s
        print(
            f"{name:<12} {runs_s:>8.0f} {steps / args.runs:>10.0f} {eps:>10,.0f} {args.runs / seq_s:>10.0f} "
            f"{(args.runs / seq_s) / runs_s:>7.1f}x {eps / simpy_eps:>17.2f}x"
        )


if __name__ == "__main__":
    main()
