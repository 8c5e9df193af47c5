"""The deployment's processes, consumers and actors, described once.

Both the simulator (``sim/world.py``) and the live driver (``live/driver.py``) build their
actors from this description, so they cannot disagree about who consumes what.

Per the spec (3.1, 3.2, 3.3, 3.5):

- an executor process has ONE consumer per queue it reads: ``exec{e}.requests`` (the
  scheduler's) and ``exec{e}.completions`` (the completion handler's), each with the
  deployment's prefetch and manual ack. attune runs one completion handler per executor,
  sequentially (``listeners = 1``); ``listeners = k`` models k concurrent handlers taking
  deliveries from that one consumer's prefetch buffer (a what-if, not attune's code);
- a worker process has one consumer ``worker{w}`` on its own queue, feeding ``worker_slots``
  execution slots (its concurrency permits). It acks a delivery when a slot takes it (a
  permit is free), before the action runs, and holds at most ``worker_slots + 2`` deliveries
  not yet taken (attune's prefetch); the rest wait in the broker, where the worker queue's TTL
  can expire them, and a crash requeues the ones it held;
- a process that crashes and comes back is generation ``g`` > 0: its names get ``r{g}``
  (``exec0r1.scheduler``), so a trace tells the incarnations apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from racesim.models.rows import COMPLETED_QUEUE, REQUESTS_QUEUE, worker_queue
from racesim.sim.config import Deployment

SCHEDULER = "scheduler"
LISTENER = "listener"
WORKER_SLOT = "worker_slot"


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    name: str
    queue: str
    prefetch: int
    # acks a delivery as the actor takes it (a worker: once a concurrency permit is free, before
    # the action runs; attune's worker consumer), instead of by an Ack op of the model
    ack_on_take: bool


@dataclass(frozen=True, slots=True)
class ActorSpec:
    name: str
    role: str  # SCHEDULER, LISTENER or WORKER_SLOT
    consumer: str  # the consumer it takes deliveries from


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """One OS process: what crashes and restarts as a unit."""

    group: str  # exec{e} or worker{w}, the same for every generation
    consumers: tuple[ConsumerSpec, ...]
    actors: tuple[ActorSpec, ...]


def _prefix(base: str, generation: int) -> str:
    return base if generation == 0 else f"{base}r{generation}"


@lru_cache(maxsize=1024)  # specs are immutable; a sweep asks for the same ones every run
def executor(dep: Deployment, e: int, generation: int = 0) -> ProcessSpec:
    p = _prefix(f"exec{e}", generation)
    requests = ConsumerSpec(f"{p}.requests", REQUESTS_QUEUE, dep.prefetch, False)
    completions = ConsumerSpec(f"{p}.completions", COMPLETED_QUEUE, dep.prefetch, False)
    actors = [ActorSpec(f"{p}.scheduler", SCHEDULER, requests.name)]
    actors += [ActorSpec(f"{p}.listener{k}", LISTENER, completions.name) for k in range(dep.listeners)]
    return ProcessSpec(f"exec{e}", (requests, completions), tuple(actors))


@lru_cache(maxsize=1024)
def worker(dep: Deployment, w: int, generation: int = 0) -> ProcessSpec:
    name = _prefix(f"worker{w}", generation)
    # attune's worker: manual ack once a permit is held, prefetch = its permits + 2
    consumer = ConsumerSpec(name, worker_queue(w), dep.worker_slots + 2, True)
    slots = tuple(ActorSpec(f"{name}.slot{n}", WORKER_SLOT, name) for n in range(dep.worker_slots))
    return ProcessSpec(f"worker{w}", (consumer,), slots)


def topology(dep: Deployment) -> tuple[ProcessSpec, ...]:
    """Every process of the deployment at start: the workers, then the executors."""
    return tuple(worker(dep, w) for w in range(1, dep.workers + 1)) + tuple(executor(dep, e) for e in range(dep.replicas))
