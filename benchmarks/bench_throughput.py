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
import random
import statistics
import time
from collections import deque
from math import log

import simpy
from racesim.engine.runner import config_for, run_one
from racesim.models import ops
from racesim.models.execution_scheduler import execution_scheduler
from racesim.models.guards import Guards
from racesim.models.listener import completion_listener
from racesim.models.probe import Decide
from racesim.models.rows import COMPLETED_QUEUE, REQUESTS_QUEUE, Delivery, worker_queue
from racesim.models.starter import request_workflow
from racesim.models.worker import worker_slot
from racesim.scenarios.loader import load
from racesim.sim.db import SimDB


def sequential_run(scenario, guards: Guards) -> tuple[int, int]:
    """Drive the ported models round-robin on plain stores; returns (round trips executed,
    empty polls): a consume that finds its queue empty is a poll, issued again on the
    actor's next turn."""
    dep = scenario.deployment
    db = SimDB(tuple(range(1, dep.workers + 1)))
    handlers = db.handlers
    queues: dict[str, deque] = {}
    tag = 0
    actors = [request_workflow(scenario.workflow_ref)]
    consumer_queue = {"req": REQUESTS_QUEUE, "done": COMPLETED_QUEUE}
    actors += [execution_scheduler(guards, "req", scenario.graph), completion_listener(guards, "done")]
    for w in range(1, dep.workers + 1):
        consumer_queue[f"w{w}"] = worker_queue(w)
        actors.append(worker_slot(f"w{w}", worker_queue(w), guards))
    results: list[object] = [None] * len(actors)
    started = [False] * len(actors)
    # The consume an actor waits on: issued again, without resuming the model, next turn.
    # (Wrapping the model in a generator that re-yields it, as this driver once did, nested
    # a layer per wait and made every later op of that actor pay for each layer.)
    waiting: list[ops.Consume | None] = [None] * len(actors)
    count = 0
    polls = 0
    progress = True
    while progress:
        progress = False
        for i, gen in enumerate(actors):
            if gen is None:
                continue
            while True:
                op = waiting[i]
                if op is not None:
                    waiting[i] = None
                else:
                    try:
                        op = gen.send(results[i]) if started[i] else next(gen)
                    except StopIteration:
                        actors[i] = None
                        break
                    started[i] = True
                kind = type(op)
                if kind is Decide:  # a guard decision the model reports: no op, no step
                    results[i] = None
                    continue
                if kind is ops.Consume:
                    q = queues.setdefault(consumer_queue[op.consumer], deque())
                    if not q:
                        polls += 1
                        waiting[i] = op  # wait: issue this consume again next round
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
                    results[i] = handlers[kind](0, op)
                count += 1
                progress = True
    return count, polls


def simpy_bare_run(scenario, guards: Guards, seed: int) -> int:
    """The same models as simpy processes and little else: one timeout per round trip (an
    exponential of 2 ms, the action's 1.0-1.1 s for RunAction), a simpy Store per queue, the
    plain stores; no broker model (no prefetch, acks or TTL), no choice source, no trace, no
    checker. The issue's rough estimate of what simpy alone costs these models. Returns the
    round trips executed."""
    dep = scenario.deployment
    env = simpy.Environment()
    db = SimDB(tuple(range(1, dep.workers + 1)), clock=env)
    handlers = db.handlers
    rnd = random.Random(seed).random
    stores: dict[str, simpy.Store] = {}
    consumer_queue = {"req": REQUESTS_QUEUE, "done": COMPLETED_QUEUE}
    models = [request_workflow(scenario.workflow_ref)]
    models += [execution_scheduler(guards, "req", scenario.graph), completion_listener(guards, "done")]
    for w in range(1, dep.workers + 1):
        consumer_queue[f"w{w}"] = worker_queue(w)
        models.append(worker_slot(f"w{w}", worker_queue(w), guards))
    trips = 0
    tags = 0

    def store(name: str) -> simpy.Store:
        q = stores.get(name)
        if q is None:
            q = stores[name] = simpy.Store(env)
        return q

    def actor(gen):
        nonlocal trips, tags
        result: object = None
        op = next(gen)
        while True:
            kind = type(op)
            if kind is not Decide:
                trips += 1
                if kind is ops.Consume:
                    message = yield store(consumer_queue[op.consumer]).get()
                    tags += 1
                    result = Delivery(tags, message)
                else:
                    if kind is ops.RunAction:
                        delay = 1.0 + 0.1 * rnd()
                    elif kind is ops.Sleep:
                        delay = op.seconds
                    else:
                        delay = -log(1.0 - rnd()) * 0.002
                    yield env.timeout(delay)
                    if kind is ops.Publish:
                        store(op.queue).put(op.message)
                        result = None
                    elif kind is ops.RunAction:
                        result = True
                    elif kind in _NO_RESULT:
                        result = None
                    else:
                        result = handlers[kind](0, op)
            else:
                result = None
            try:
                op = gen.send(result)
            except StopIteration:
                return

    for gen in models:
        env.process(actor(gen))
    env.run()
    return trips


_NO_RESULT = (ops.Ack, ops.Nack, ops.Sleep, ops.AdvisoryLock, ops.AdvisoryUnlock)


def simpy_rate(n: int = 200_000) -> float:
    env = simpy.Environment()

    def proc(env):
        for _ in range(n):
            yield env.timeout(1)

    env.process(proc(env))
    t = time.process_time()
    env.run()
    return n / (time.process_time() - t)


def _rate(fn, n: int) -> float:
    t = time.process_time()
    fn(n)
    return n / (time.process_time() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200, help="runs per round and mode")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; medians are reported")
    args = parser.parse_args()
    scenario = load("with-items-fanin")
    header = ("guards", "runs/s", "events/run", "events/s", "seq runs/s", "sim/seq", "events/s vs simpy")
    print(f"median of {args.rounds} rounds of {args.runs} runs; each round measures simpy, the simulator and the")
    print("sequential driver back to back, so machine noise hits all three alike")
    print(f"{header[0]:<12} {header[1]:>8} {header[2]:>10} {header[3]:>10} {header[4]:>10} {header[5]:>8} {header[6]:>18}")
    for name in ("none", "layer1", "layer2", "both", "serialized"):
        guards = Guards.parse(name)
        config = config_for(scenario, guards)
        steps = sum(run_one(config, seed).output.steps for seed in range(1, args.runs + 1)) / args.runs
        sim, seq, vs_simpy, ratio = [], [], [], []
        for r in range(args.rounds):
            base = 1 + r * args.runs
            simpy_eps = simpy_rate(50_000)
            sim_rate = _rate(lambda n, base=base, c=config: [run_one(c, seed) for seed in range(base, base + n)], args.runs)
            seq_rate = _rate(lambda n, g=guards: [sequential_run(scenario, g) for _ in range(n)], args.runs)
            sim.append(sim_rate)
            seq.append(seq_rate)
            ratio.append(seq_rate / sim_rate)
            vs_simpy.append(sim_rate * steps / simpy_eps)
        runs_s = statistics.median(sim)
        print(
            f"{name:<12} {runs_s:>8.0f} {steps:>10.0f} {runs_s * steps:>10,.0f} {statistics.median(seq):>10.0f} "
            f"{statistics.median(ratio):>7.1f}x {statistics.median(vs_simpy):>17.2f}x"
        )


if __name__ == "__main__":
    main()
