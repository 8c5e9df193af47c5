"""The world: a simpy clock, the simulated stores, the actors, and the step loop.

Each actor is a model generator. It yields an op; the world draws the op's latency and
tells the scheduler the actor is ready; the scheduler picks which ready actor goes next;
the world executes that actor's op atomically on the stores, appends a trace record,
sends the result back into the generator and takes its next op. Actors that wait on an
empty queue or a held lock are parked and woken by the store that frees them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from heapq import heappop, heappush

import simpy
from racesim.models import ops
from racesim.models.execution_scheduler import execution_scheduler
from racesim.models.listener import completion_listener
from racesim.models.ops import Op, StoreError
from racesim.models.rows import (
    COMPLETED_QUEUE,
    EXECUTION_COMPLETED,
    REQUESTS_QUEUE,
    WORKER_DISPATCH,
    Delivery,
    worker_queue,
)
from racesim.models.starter import start_workflow
from racesim.models.worker import worker_slot
from racesim.sim.broker import Consumer, SimBroker
from racesim.sim.choices import ChoiceSource
from racesim.sim.config import RunConfig, TaskOutcome
from racesim.sim.db import SimDB
from racesim.sim.faults import CRASH_EXECUTOR, CRASH_WORKER, FaultInjector
from racesim.sim.schedulers.random_timing import RandomTiming
from racesim.sim.trace import SUMMARIES as _SUMMARIES
from racesim.sim.trace import Record


class Actor:
    __slots__ = (
        "id",
        "name",
        "group",
        "gen",
        "op",
        "ready_at",
        "preset",
        "has_preset",
        "alive",
        "ticket",
        "respawn",
    )

    def __init__(self, aid: int, name: str, group: str, gen: Generator, respawn: Callable | None) -> None:
        self.id = aid
        self.name = name
        self.group = group
        self.gen = gen
        self.op: Op | None = None
        self.ready_at = 0.0
        self.preset: object = None
        self.has_preset = False
        self.alive = True
        self.ticket = 0  # bumps on every new op, so a stale scheduler entry is ignored
        self.respawn = respawn

    def __repr__(self) -> str:
        return f"Actor({self.id}, {self.name})"


@dataclass(slots=True)
class RunOutput:
    """What a finished run hands to the checkers and reports."""

    config: RunConfig
    seed: int
    db: SimDB
    workflow_id: int
    records: list[Record]
    dispatched: list[int]  # execution ids handed to a worker, in order
    completions_published: list[int]
    faults_fired: list[tuple[str, str]]
    steps: int
    end_time: float
    livelock: bool
    choices: list[list] | None


class World:
    def __init__(self, config: RunConfig, scheduler, source: ChoiceSource) -> None:
        self.config = config
        self.env = simpy.Environment()
        self.scheduler = scheduler
        self.source = source
        dep = config.deployment
        self.db = SimDB(tuple(range(1, dep.workers + 1)))
        self.broker = SimBroker(self._wake)
        self.records: list[Record] = []
        self.actors: dict[int, Actor] = {}
        self.pending: dict[int, Actor] = {}  # ready to step, by actor id
        self.current: Actor | None = None
        self.dispatched: list[int] = []
        self.completions_published: list[int] = []
        self._next_actor = 0
        self._executor_generation: dict[int, int] = {}
        self._executor_consumers: dict[int, tuple[str, str]] = {}
        self._worker_consumers: dict[str, Consumer] = {}  # worker queue -> its consumer
        self._worker_slots: dict[str, int] = {}  # worker consumer -> slot actors created
        self._latency = source.latency
        self._draw = source.direct_draws()  # skip the recording wrapper when nothing records
        self._outcomes: dict[str, TaskOutcome] = dict(config.outcomes)
        self.faults = FaultInjector(config.faults, source.chance) if config.faults.probabilities else None
        # Every handler takes (actor id, op): the id is also the actor's DB session.
        self._handlers: dict[type, Callable[[int, Op], object]] = dict(self.db.handlers)
        self._handlers.update(
            {
                ops.Publish: self._publish,
                ops.Consume: self._consume,
                ops.Ack: self._ack,
                ops.Nack: self._nack,
                ops.AdvisoryLock: self._lock,
                ops.AdvisoryUnlock: self._unlock,
                ops.RunAction: self._run_action,
                ops.Sleep: _nothing,
            }
        )
        scheduler.attach(self)
        self._ready = scheduler.ready
        self._build()

    # ---- deployment ----------------------------------------------------------------------
    def _build(self) -> None:
        dep, guards = self.config.deployment, self.config.guards
        for w in range(1, dep.workers + 1):
            consumer = self.broker.add_consumer(f"worker{w}", worker_queue(w), dep.prefetch, auto_ack=True)
            self._worker_consumers[worker_queue(w)] = consumer
            self._worker_slots[consumer.name] = 0
        for e in range(dep.replicas):
            self._start_executor(e, delay=0.0)
        graph = self.config.graph
        self.spawn("starter", "starter", start_workflow(guards, self.config.workflow_ref, graph))

    def _spawn_worker_slot(self, name: str, consumer: str) -> None:
        group = name.split(".")[0]
        queue = self.broker.consumers[consumer].queue
        self.spawn(name, group, worker_slot(consumer, queue), respawn=lambda: self._spawn_worker_slot(name, consumer))

    def _add_worker_slot(self, consumer: str) -> None:
        """Slots are created when work arrives, up to the worker's permit count: an idle
        slot only waits on the queue, so creating it late changes nothing but the cost."""
        n = self._worker_slots[consumer]
        self._worker_slots[consumer] = n + 1
        self._spawn_worker_slot(f"{consumer}.slot{n}", consumer)

    def _start_executor(self, e: int, delay: float) -> None:
        dep, guards = self.config.deployment, self.config.guards
        gen = self._executor_generation.get(e, 0)
        self._executor_generation[e] = gen + 1
        prefix = f"exec{e}" if gen == 0 else f"exec{e}r{gen}"
        requests = self.broker.add_consumer(f"{prefix}.requests", REQUESTS_QUEUE, dep.prefetch).name
        completions = self.broker.add_consumer(f"{prefix}.completions", COMPLETED_QUEUE, dep.prefetch).name
        self._executor_consumers[e] = (requests, completions)
        group = f"exec{e}"
        self.spawn(f"{prefix}.scheduler", group, execution_scheduler(guards, requests), delay)
        for k in range(dep.listeners):
            self.spawn(f"{prefix}.listener{k}", group, completion_listener(guards, completions), delay)

    def spawn(self, name: str, group: str, gen: Generator, delay: float = 0.0, respawn: Callable | None = None) -> Actor:
        actor = Actor(self._next_actor, name, group, gen, respawn)
        self._next_actor += 1
        self.actors[actor.id] = actor
        self._advance(actor, None, None, delay)
        return actor

    # ---- the step loop -------------------------------------------------------------------
    def run(self) -> RunOutput:
        limit = self.config.max_steps
        if self.faults is None and self._draw is not None and type(self.scheduler) is RandomTiming:
            steps = self._run_timed(limit)
        else:
            steps = self._run_any(limit)
        livelock = steps >= limit and bool(self.pending)
        w = next(iter(self.db.workflows), 0)
        return RunOutput(
            self.config,
            self.source.seed,
            self.db,
            w,
            self.records,
            self.dispatched,
            self.completions_published,
            self.faults.fired if self.faults else [],
            steps,
            self.env.now,
            livelock,
            self.source.log,
        )

    def _run_any(self, limit: int) -> int:
        """Any scheduler, fault injector and choice source: one ``_step`` per pick."""
        steps = 0
        nxt = self.scheduler.next
        step = self._step
        while steps < limit:
            actor = nxt()
            if actor is None:
                break
            step(actor)
            steps += 1
        return steps

    def _run_timed(self, limit: int) -> int:
        """The common case (plain ``RandomTiming``, no faults, nothing recorded): the pick,
        ``_step`` and ``_advance`` inlined on locals, which is most of the kernel's cost.
        Must stay equivalent to ``_run_any``: same heap entries (time, issue counter, actor,
        ticket), same clock, same records, same draws in the same order."""
        sched = self.scheduler
        heap = sched._heap
        count = sched._count  # shared with sched.ready(), which wakes and grants still use
        env = self.env
        db = self.db
        pending = self.pending
        append = self.records.append
        handlers = self._handlers
        draw = self._draw
        consumers = self.broker.consumers
        summaries = _SUMMARIES
        consume_op = ops.Consume
        blocked = _BLOCKED
        actor = None
        steps = 0
        while steps < limit:
            # The scheduler's next(): earliest (ready_at, issue order), skipping entries a
            # re-pend left stale.
            while heap:
                now, _, actor, ticket = heappop(heap)
                if actor.alive and actor.ticket == ticket:
                    break
            else:
                break
            env._now = now
            steps += 1
            # _step
            aid = actor.id
            del pending[aid]
            op = actor.op
            db.now = now
            if actor.has_preset:
                result = actor.preset
                actor.has_preset = False
                actor.preset = None
            else:
                try:
                    result = handlers[type(op)](aid, op)
                except StoreError as exc:
                    self.current = actor
                    self._finish(actor, op, now, exc)
                    continue
                if result is blocked:
                    continue  # parked; a lock hand-over re-pends it
            summary = summaries.get(type(result))
            append((now, actor.name, op.step, type(op).__name__, op.args(), result if summary is None else summary(result)))
            # _advance
            try:
                op = actor.gen.send(result)
            except StopIteration:
                actor.alive = False
                actor.op = None
                continue
            actor.op = op
            if type(op) is consume_op:
                consumer = consumers[op.consumer]
                if not consumer.buffer:
                    consumer.waiters.append(aid)  # the broker's push wakes it
                    continue
            channel = op.channel
            actor.ready_at = at = now + (op.seconds if channel == "sleep" else draw[channel]())
            actor.ticket = ticket = actor.ticket + 1
            pending[aid] = actor
            heappush(heap, (at, next(count), actor, ticket))
        self.current = actor
        return steps

    def _finish(self, actor: Actor, op: Op, now: float, error: StoreError) -> None:
        """Record an op that raised and throw the error into its actor (the rare path)."""
        self.records.append((now, actor.name, op.step, type(op).__name__, op.args(), ("error", str(error))))
        self._advance(actor, None, error, 0.0)

    def _step(self, actor: Actor) -> None:
        """Execute ``actor``'s op atomically, record it, and take the actor's next op."""
        del self.pending[actor.id]
        self.current = actor
        op = actor.op
        now = self.env._now
        self.db.now = now
        error = None
        if actor.has_preset:
            result = actor.preset
            actor.has_preset = False
            actor.preset = None
        else:
            if self.faults is not None:
                strike = self.faults.check(actor.name, op)
                if strike is not None:
                    if strike is CRASH_WORKER or strike is CRASH_EXECUTOR:
                        self._crash(actor, strike)
                        return
                    error = strike
            if error is None:
                try:
                    result = self._handlers[type(op)](actor.id, op)
                except StoreError as exc:
                    error = exc
            if error is None and result is _BLOCKED:
                return  # parked; a lock hand-over re-pends it
        if error is not None:
            result = ("error", str(error))
        rt = type(result)
        self.records.append(
            (now, actor.name, op.step, type(op).__name__, op.args(), _SUMMARIES[rt](result) if rt in _SUMMARIES else result)
        )
        self._advance(actor, result, error, 0.0)

    def _advance(self, actor: Actor, result: object, error: StoreError | None, delay: float) -> None:
        try:
            if actor.op is None:
                op = next(actor.gen)
            elif error is None:
                op = actor.gen.send(result)
            else:
                op = actor.gen.throw(error)
        except StopIteration:
            actor.alive = False
            actor.op = None
            return
        actor.op = op
        if type(op) is ops.Consume:
            consumer = self.broker.consumers[op.consumer]
            if not consumer.buffer:
                # Nothing to take: wait on the queue now rather than spend a step finding
                # out. The broker's push wakes the actor with its delivery.
                consumer.waiters.append(actor.id)
                return
        channel = op.channel
        if channel == "sleep":
            latency = op.seconds
        elif self._draw is not None:
            latency = self._draw[channel]()
        else:
            latency = self._latency(channel)
        delay += latency
        actor.ready_at = self.env._now + delay
        actor.ticket += 1
        self.pending[actor.id] = actor
        self._ready(actor)

    def _pend(self, actor: Actor, delay: float) -> None:
        # ready_at = now + delay computed exactly as simpy computes an event's time, so a
        # replay that jumps the clock to ready_at lands on the very same float.
        actor.ready_at = self.env._now + delay
        actor.ticket += 1
        self.pending[actor.id] = actor
        self._ready(actor)

    def enabled_order(self) -> list[Actor]:
        """Ready actors in canonical order: the current one first if it can go on (index 0
        = no preemption), then the others by actor id."""
        pending = self.pending
        order = [pending[i] for i in sorted(pending)]
        cur = self.current
        if cur is not None and cur.id in pending and order[0] is not cur:
            order.remove(cur)
            order.insert(0, cur)
        return order

    # ---- waking parked actors --------------------------------------------------------------
    def _wake(self, actor_id: int, delivery: Delivery) -> None:
        actor = self.actors[actor_id]
        actor.preset = delivery
        actor.has_preset = True
        self._pend(actor, self._latency("consume"))

    def _grant(self, actor_id: int) -> None:
        actor = self.actors[actor_id]
        actor.preset = None
        actor.has_preset = True
        self._pend(actor, self._latency("lock"))

    # ---- broker and lock ops -------------------------------------------------------------
    def _publish(self, aid: int, op: ops.Publish) -> None:
        message = op.message
        self.broker.publish(op.queue, message)
        if message.kind == WORKER_DISPATCH:
            self.dispatched.append(message.execution_id)
            consumer = self._worker_consumers[op.queue]
            if consumer.buffer and self._worker_slots[consumer.name] < self.config.deployment.worker_slots:
                self._add_worker_slot(consumer.name)
        elif message.kind == EXECUTION_COMPLETED:
            self.completions_published.append(message.execution_id)

    def _consume(self, aid: int, op: ops.Consume) -> object:
        # Only reached with a non-empty buffer (see _advance), or after a wake (preset).
        delivery = self.broker.consume(aid, op.consumer)
        return _BLOCKED if delivery is None else delivery

    def _ack(self, aid: int, op: ops.Ack) -> None:
        self.broker.ack(op.consumer, op.tag)

    def _nack(self, aid: int, op: ops.Nack) -> None:
        self.broker.nack(op.consumer, op.tag, op.requeue)

    def _lock(self, aid: int, op: ops.AdvisoryLock) -> object:
        return None if self.db.try_lock(aid, op.key) else _BLOCKED

    def _unlock(self, aid: int, op: ops.AdvisoryUnlock) -> None:
        nxt = self.db.unlock(aid, op.key)
        if nxt is not None:
            self._grant(nxt)

    def _run_action(self, aid: int, op: ops.RunAction) -> bool:
        row = self.db.executions[op.execution_id]
        wt = row.workflow_task
        outcome = self._outcomes.get(wt.task_name) if wt is not None else None
        if outcome is None:
            return True
        if outcome.fail_all or (wt.task_index is not None and wt.task_index in outcome.fail_items):
            return False
        if outcome.fail_probability > 0:
            return not self.source.chance(outcome.fail_probability)
        return True

    # ---- crashes -----------------------------------------------------------------------------
    def _kill(self, actor: Actor) -> None:
        actor.alive = False
        self.pending.pop(actor.id, None)
        actor.gen.close()
        for consumer in self.broker.consumers.values():
            if actor.id in consumer.waiters:
                consumer.waiters.remove(actor.id)
        for _key, nxt in self.db.end_session(actor.id):
            self._grant(nxt)

    def _crash(self, actor: Actor, kind: object) -> None:
        now = self.env.now
        if kind is CRASH_WORKER:
            self.records.append((now, actor.name, actor.op.step, "Crash", ("worker", *actor.op.args()), None))
            self._kill(actor)
            if actor.respawn is not None:
                actor.respawn()  # the worker process comes back with an empty slot
            return
        e = int(actor.group[4:])
        self.records.append((now, actor.name, actor.op.step, "Crash", (actor.group,), None))
        for other in [a for a in self.actors.values() if a.group == actor.group and a.alive]:
            self._kill(other)
        for name in self._executor_consumers[e]:
            self.broker.kill_consumer(name)
        self._start_executor(e, delay=self.config.deployment.restart_delay)


_BLOCKED = object()


def _nothing(aid: int, op: Op) -> None:
    return None
