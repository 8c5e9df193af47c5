"""The world: the simulated stores, the actors as simpy processes, and the run loop.

Each actor is a model generator driven by a simpy process. The model yields an op; the
process draws the op's latency and waits for it; when the op's turn comes it executes
atomically on the stores, is recorded, and its result goes back into the model, which
yields the next op. Who goes next is decided in one of two ways (``Strategy``):

- time order (random timing): each op is a ``simpy`` timeout of its drawn latency and
  simpy's event queue runs the earliest completion first, equal times in issue order;
- a controlling strategy (PCT, DFS, replay): each pending op waits on its own permit event
  and a controller process asks the strategy which one completes next (``choose``), waits
  for a timeout issued with the op (so the clock reaches the op's ready time exactly as in
  a timed run), and triggers the permit.

An actor that waits on an empty queue or a held lock waits on a park event; the store that
frees it draws the wake-up latency at once and hands the actor the event to wait on next.
A crash ends the victims' processes with ``Process.interrupt``; the connection's death
(locks released, unacked deliveries requeued) happens in the stores at the crash instant.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from math import log
from typing import Any, cast

import simpy
from racesim.models import ops
from racesim.models.execution_scheduler import execution_scheduler
from racesim.models.listener import completion_listener
from racesim.models.ops import Model, Op, StoreError
from racesim.models.probe import Decide
from racesim.models.recovery import supervisor, timeout_monitor
from racesim.models.rows import (
    EXECUTION_COMPLETED,
    WORKER_DISPATCH,
    Delivery,
    Message,
    worker_queue,
)
from racesim.models.starter import request_workflow
from racesim.models.worker import worker_slot
from racesim.sim import topology
from racesim.sim.broker import Consumer, SimBroker
from racesim.sim.choices import ChoiceSource
from racesim.sim.config import LOOP_NAMES, LOOP_WINDOW, RunConfig, TaskOutcome
from racesim.sim.db import SimDB
from racesim.sim.faults import CRASH_EXECUTOR, CRASH_WORKER, CRASH_WORKER_PROCESS, FaultInjector
from racesim.sim.schedulers.base import Strategy
from racesim.sim.trace import SUMMARIES as _SUMMARIES
from racesim.sim.trace import Record
from simpy.core import EmptySchedule
from simpy.events import Event, Timeout
from simpy.exceptions import Interrupt


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
        "park",
        "permit",
        "marker",
        "process",
        "respawn",
    )

    def __init__(
        self, aid: int, name: str, group: str, gen: Generator[Any, Any, None], respawn: Callable[[], None] | None
    ) -> None:
        self.id = aid
        self.name = name
        self.group = group
        self.gen = gen
        self.op: Op | None = None
        self.ready_at = 0.0  # when the pending op completes (kept when a strategy controls order)
        self.preset: object = None  # the result a wake-up hands over (a delivery, a granted lock)
        self.has_preset = False
        self.alive = True
        self.park: Event | None = None  # set while waiting on an empty queue or a held lock
        self.permit: Event | None = None  # the pending op's event under a controlling strategy
        self.marker: Event | None = None  # a timeout at the pending op's ready time (ditto)
        self.process: simpy.Process | None = None
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
    schedule: list[int]  # actor id of every step, in order
    decisions: list[Decide] = field(default_factory=list)  # guard checks the models reported, in order
    faults_reached: dict[str, int] = field(default_factory=dict)  # fault point -> times checked
    traced: bool = False  # ``records`` holds every step (a recorded, replayed or traced run)
    expired: tuple[int, ...] = ()  # execution ids whose dispatch the broker dropped at its TTL
    looping: tuple[str, ...] = ()  # a livelock's actors: those that took the last steps, busiest first


class World:
    def __init__(self, config: RunConfig, strategy: Strategy, source: ChoiceSource, trace: bool = False) -> None:
        """``trace``: keep a record of every step even when ``source`` records no choices
        (a sweep's sampled coverage runs need the steps, not the choice sequence)."""
        self.config = config
        self.env = simpy.Environment()
        self.strategy = strategy
        self.scheduler = strategy  # the name the strategies' older code reads
        self.source = source
        dep = config.deployment
        self.db = SimDB(tuple(range(1, dep.workers + 1)), clock=self.env)
        self._trace = trace or source.log is not None  # trace records only for traced or recorded runs
        self.broker = SimBroker(self._wake, clock=self.env, on_expire=self._note_expiry if self._trace else None)
        self.records: list[Record] = []
        self.actors: dict[int, Actor] = {}
        self.pending: dict[int, Actor] = {}  # actors with a pending op (kept when order or picks matter)
        self.current: Actor | None = None  # the actor that stepped last (kept likewise)
        self.dispatched: list[int] = []
        self.completions_published: list[int] = []
        self.schedule: list[int] = []  # actor id of every step, in order (the run's interleaving)
        self._controlled = strategy.controls_order
        self._note = not self._controlled and source.log is not None  # record time-order picks
        self._track = self._controlled or self._note
        # draws straight from the samplers when nothing is tracked, recorded or replayed
        self._direct = None if self._track else source.direct_draws()
        self._next_actor = 0
        self._executor_generation: dict[int, int] = {}
        self._executor_consumers: dict[int, tuple[str, ...]] = {}
        self._worker_consumers: dict[str, Consumer] = {}  # worker queue -> its consumer
        self._worker_slots: dict[str, int] = {}  # worker consumer -> slot actors created
        self._worker_specs: dict[str, topology.ProcessSpec] = {}  # worker consumer -> its process
        self._worker_generation: dict[int, int] = {}
        self.crashes = 0
        self._crash_p = config.faults.get("crash")
        # crash choice points: sampled, chosen by the strategy, or replayed from a recording
        self._crash_points = self._crash_p > 0 or strategy.crash_budget > 0 or source.replays("x")
        self._latency = source.latency
        self._split_db = config.timing.splits_db  # writes and commits timed apart (sim/timing.py)
        self._outcomes: dict[str, TaskOutcome] = dict(config.outcomes)
        injector = FaultInjector(config.faults, source.chance) if config.faults.probabilities else None
        self.faults = injector if injector is not None and injector.by_step else None
        # a sweep's run (traced for coverage or not): nothing tracked or recorded, no crash
        # point, no fault to strike
        self._lean = self._direct is not None and not self._crash_points and self.faults is None
        self.decisions: list[Decide] = []  # guard decisions the models reported (coverage)
        self.crashes_fired: list[tuple[str, str]] = []  # crash choice points that crashed: (kind, actor)
        # Executor group -> the actor id of its scheduler while that scheduler starts a workflow
        # (from the workflow row's insert to the request's ack): no crash takes that executor
        # then, as racesim does not model a crash in the middle of a start (docs/model.md).
        self._starting: dict[str, int] = {}
        # Every handler takes (actor id, op): the id is also the actor's DB session.
        self._handlers: dict[type, Callable[[int, Any], object]] = dict(self.db.handlers)
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
        if self._crash_points or self.faults is not None:  # where a crash is possible: see _starting
            self._insert_workflow = self._handlers[ops.InsertWorkflowExecution]
            self._handlers[ops.InsertWorkflowExecution] = self._start_begins
        strategy.attach(self)
        strategy.new_execution(source.seed)
        self._build()

    # ---- deployment ----------------------------------------------------------------------
    def _build(self) -> None:
        dep, guards = self.config.deployment, self.config.guards
        for w in range(1, dep.workers + 1):
            self._start_worker(w)
        for e in range(dep.replicas):
            self._start_executor(e, delay=0.0)
        starts = self.config.load.start_times(self._latency)
        for i, at in enumerate(starts):  # one workflow execution each (sim/load.py)
            name = "starter" if len(starts) == 1 else f"starter{i}"
            self.spawn(name, "starter", request_workflow(self.config.workflow_ref), at)
        if guards.recovery and guards.modern_recovery:  # HEAD 3.4: one supervisor (monitors: per executor)
            self.spawn("supervisor", "supervisor", supervisor(self.config.recovery))

    def _start_worker(self, w: int) -> None:
        """Worker process ``w`` (again, after a crash: a new consumer, no slots yet)."""
        gen = self._worker_generation.get(w, 0)
        self._worker_generation[w] = gen + 1
        self.db.worker_heartbeat.pop(w, None)  # beating again
        spec = topology.worker(self.config.deployment, w, gen)
        [c] = spec.consumers
        self._worker_specs[c.name] = spec
        self._worker_slots[c.name] = 0
        self.broker.set_ttl(c.queue, self.config.deployment.worker_queue_ttl)
        consumer = self.broker.add_consumer(c.name, c.queue, c.prefetch, ack_on_take=c.ack_on_take)
        self._worker_consumers[c.queue] = consumer
        while consumer.buffer and self._worker_slots[c.name] < len(spec.actors):  # work that waited
            self._add_worker_slot(c.name)

    def _spawn_worker_slot(self, slot: topology.ActorSpec, group: str, queue: str) -> None:
        gen = worker_slot(slot.consumer, queue, self.config.guards)
        self.spawn(slot.name, group, gen, respawn=lambda: self._spawn_worker_slot(slot, group, queue))

    def _add_worker_slot(self, consumer: str) -> None:
        """Slots are created when work arrives, up to the worker's permit count: an idle
        slot only waits on the queue, so creating it late changes nothing but the cost."""
        n = self._worker_slots[consumer]
        self._worker_slots[consumer] = n + 1
        spec = self._worker_specs[consumer]
        self._spawn_worker_slot(spec.actors[n], spec.group, spec.consumers[0].queue)

    def _schedule_restart(self, name: str, start: Callable[[], None]) -> None:
        """A crashed process comes back after the restart delay, as the op of a small actor
        (a sleep), so its return is ordered like any other op: by time under random timing,
        by the strategy under a controlling one. Its consumers exist only from then on; until
        then the broker keeps the queue's messages for the others."""
        self.spawn(f"{name}.restart", "restart", _restarter(start, self.config.deployment.restart_delay))

    def _start_executor(self, e: int, delay: float) -> None:
        guards = self.config.guards
        gen = self._executor_generation.get(e, 0)
        self._executor_generation[e] = gen + 1
        spec = topology.executor(self.config.deployment, e, gen)
        for c in spec.consumers:
            self.broker.add_consumer(c.name, c.queue, c.prefetch, ack_on_take=c.ack_on_take)
        self._executor_consumers[e] = tuple(c.name for c in spec.consumers)
        for actor in spec.actors:
            if actor.role == topology.SCHEDULER:
                self.spawn(actor.name, spec.group, execution_scheduler(guards, actor.consumer, self.config.graph), delay)
            else:
                self.spawn(actor.name, spec.group, completion_listener(guards, actor.consumer), delay)
        if guards.recovery:
            prefix = spec.actors[0].name.split(".")[0]
            monitor = timeout_monitor(self.config.recovery, guards.modern_recovery, guards.lock, self.env.now + delay)
            self.spawn(f"{prefix}.monitor", spec.group, monitor, delay)

    def spawn(self, name: str, group: str, gen: Model, delay: float = 0.0, respawn: Callable[[], None] | None = None) -> Actor:
        """A new actor: its model runs to its first op now (so its draws come in the order
        the actors were created), then a simpy process carries it."""
        actor = Actor(self._next_actor, name, group, gen, respawn)
        self._next_actor += 1
        self.actors[actor.id] = actor
        try:
            op = next(gen)
        except StopIteration:
            actor.alive = False
            return actor
        live = self._live_lean if self._lean else self._live
        actor.process = self.env.process(live(actor, self._issue(actor, op, delay)))
        return actor

    # ---- pending ops ---------------------------------------------------------------------
    def _issue(self, actor: Actor, op: Any, delay: float) -> Event:
        """The event ``actor`` waits on for ``op``: a park when it would only find an empty
        queue, else the op's completion ``delay`` + its latency from now."""
        actor.op = op
        if type(op) is ops.Consume:
            consumer = self.broker.consumers[op.consumer]
            if not consumer.buffer:
                # Nothing to take: wait on the queue rather than spend a step finding out.
                # The broker's push wakes the actor with its delivery.
                consumer.waiters.append(actor.id)
                park = actor.park = self.env.event()
                return park
        channel = self._channel(actor.id, op)
        return self._pend(actor, delay + (op.seconds if channel == "sleep" else self._latency(channel)))

    def _channel(self, aid: int, op: Any) -> str:
        """The channel timing ``op``: its own, resolved by the store for a write or commit
        when the scenario times those apart (``SimDB.latency_channel``)."""
        channel = op.channel
        if self._split_db and (channel == "db_write" or channel == "db_commit"):
            return self.db.latency_channel(aid, channel)
        return channel

    def _pend(self, actor: Actor, delay: float) -> Event:
        """The op of ``actor`` completes after ``delay``: a timeout under time order, or a
        permit the controller triggers when the strategy picks it."""
        if not self._controlled:
            if self._track:
                actor.ready_at = self.env.now + delay
                self.pending[actor.id] = actor
            return self.env.timeout(delay)
        actor.ready_at = self.env.now + delay
        # The marker only carries the clock: simpy puts it at now + delay, the very float a
        # timed run computes, and the controller waits on it before triggering the permit.
        actor.marker = self.env.timeout(delay)
        self.pending[actor.id] = actor
        permit = actor.permit = self.env.event()
        return permit

    def enabled_order(self) -> list[Actor]:
        """Actors with a pending op in canonical order: the current one first if it can go
        on (index 0 = no preemption), then the others by actor id."""
        pending = self.pending
        order = [pending[i] for i in sorted(pending)]
        cur = self.current
        if cur is not None and cur.id in pending and order[0] is not cur:
            order.remove(cur)
            order.insert(0, cur)
        return order

    # ---- the run -------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        return len(self.schedule)

    def run(self) -> RunOutput:
        limit = self.config.step_limit
        env = self.env
        if self._controlled:
            env.process(self._control(limit))
        step = env.step
        schedule = self.schedule
        try:
            # An event completes at most one op, so a batch of ``left`` events stays within
            # the step limit (cheaper than checking the limit after every event).
            while (left := limit - len(schedule)) > 0:
                for _ in repeat(None, left):
                    step()
        except EmptySchedule:
            pass
        livelock = self.steps >= limit and any(a.alive and a.park is None for a in self.actors.values())
        looping = self._looping() if livelock else ()
        w = next(iter(self.db.workflows), 0)
        expired = tuple(m.execution_id for _q, m in self.broker.expired if m.kind == WORKER_DISPATCH)
        self._release()
        return RunOutput(
            self.config,
            self.source.seed,
            self.db,
            w,
            self.records,
            self.dispatched,
            self.completions_published,
            (self.faults.fired if self.faults else []) + self.crashes_fired,
            self.steps,
            self.db.now,
            livelock,
            self.source.log,
            self.schedule,
            self.decisions,
            dict(self.faults.reached) if self.faults else {},
            self._trace,
            expired,
            looping,
        )

    def _looping(self) -> tuple[str, ...]:
        """The busiest actors (up to ``LOOP_NAMES``) over the last ``LOOP_WINDOW`` steps of a run
        cut by the step limit, busiest first (ties in the order they first appear there): who
        was still going round."""
        counts: dict[int, int] = {}
        for aid in self.schedule[-LOOP_WINDOW:]:
            counts[aid] = counts.get(aid, 0) + 1
        busiest = sorted(counts.items(), key=lambda item: -item[1])
        return tuple(self.actors[aid].name for aid, _n in busiest[:LOOP_NAMES])

    def _release(self) -> None:
        """Break the run's reference cycles (actor processes waiting forever on parks,
        bound handlers, the broker's wake-up hook) so its objects are freed as soon as the
        caller drops them, not by the cyclic collector: a sweep allocates fast, and freeing
        by reference count keeps the collector's passes rare and the memory hot."""
        for actor in self.actors.values():
            process = actor.process
            if process is not None and process.is_alive:
                target = process.target
                if target.callbacks is not None:
                    target.callbacks.clear()
                actor.process = None
            actor.park = actor.permit = actor.marker = None
            actor.respawn = None
        self._handlers = {}
        self.strategy.detach()
        self.broker.close()

    def _control(self, limit: int) -> Generator[Event, object, None]:
        """Under a controlling strategy: ask it which pending op completes next, move the
        clock to that op's ready time, trigger the op's permit and wait until it has run."""
        pending = self.pending
        choose = self.strategy.choose
        pick = self.source.pick
        schedule = self.schedule
        # The pick's index among the enabled actors matters only when it is recorded or
        # replayed; otherwise a strategy that can choose unordered skips the sort (PCT).
        unordered = self.strategy.choose_actor if self.strategy.unordered and self.source.log is None else None
        while len(schedule) < limit and pending:
            if unordered is not None:
                actor = unordered(pending, self.current)
            else:
                enabled = self.enabled_order()
                index = pick(len(enabled), partial(choose, enabled, self.current))
                if index is None:
                    return
                actor = enabled[index]
            marker = actor.marker
            if marker is not None and not marker.processed:
                yield marker  # the clock moves to the op's ready time, bit for bit
            permit = actor.permit
            assert permit is not None
            actor.permit = None
            permit.succeed()
            yield permit  # callbacks run in order: the actor steps first, then this resumes

    def _live(self, actor: Actor, wait: Event) -> Generator[Event, object, None]:
        """The simpy process of one actor: wait for the pending op's turn, execute it
        atomically, record it, and issue the model's next op."""
        env = self.env
        aid = actor.id
        gen = actor.gen
        handlers = self._handlers
        faults = self.faults
        track = self._track
        note = self._note
        pending = self.pending
        trace = self._trace
        append = self.records.append
        scheduled = self.schedule.append
        direct = self._direct
        consumers = self.broker.consumers
        blocked = _BLOCKED
        consume_op = ops.Consume
        decide_op = Decide
        decisions = self.decisions
        timeout = Timeout
        event = Event
        crash_points = self._crash_points
        try:
            while True:
                moved = yield wait
                if moved is not None:  # woken from a park: wait for the wake-up's latency
                    yield moved  # type: ignore[misc]
                now = env.now
                scheduled(aid)
                if track:
                    if note:
                        enabled = self.enabled_order()
                        self.source.note_pick(enabled.index(actor), len(enabled))
                    del pending[aid]
                    self.current = actor
                op: Any = actor.op
                if crash_points:
                    crash = self._crash_point(actor)
                    if crash is not None:
                        self._crash(actor, crash)
                        gen.close()
                        return
                error: StoreError | None = None
                if actor.has_preset:
                    result = actor.preset
                    actor.has_preset = False
                    actor.preset = None
                else:
                    strike = faults.check(actor.name, op, actor.group not in self._starting) if faults is not None else None
                    if strike is not None:
                        if strike is CRASH_WORKER or strike is CRASH_EXECUTOR:
                            self._crash(actor, strike)
                            gen.close()
                            return
                        error = cast(StoreError, strike)
                    else:
                        try:
                            result = handlers[type(op)](aid, op)
                        except StoreError as exc:
                            error = exc
                        else:
                            if result is blocked:  # parked; a lock hand-over wakes it
                                wait = actor.park = event(env)
                                continue
                if error is not None:
                    result = ("error", str(error))
                if trace:
                    append(_record(now, actor, op, result))
                try:
                    op = gen.send(result) if error is None else gen.throw(error)
                    while type(op) is decide_op:  # a guard decision: counted, no step (models/probe.py)
                        decisions.append(op)
                        op = gen.send(None)
                except StopIteration:
                    actor.alive = False
                    actor.op = None
                    return
                # issue the next op (``_issue``, inlined: this is most of the kernel's cost)
                actor.op = op
                if type(op) is consume_op:
                    consumer = consumers[op.consumer]
                    if not consumer.buffer:
                        consumer.waiters.append(aid)  # the broker's push wakes it
                        wait = actor.park = event(env)
                        continue
                channel = self._channel(aid, op)
                if direct is not None:
                    wait = timeout(env, op.seconds if channel == "sleep" else direct[channel]())
                else:
                    wait = self._pend(actor, op.seconds if channel == "sleep" else self._latency(channel))
        except Interrupt:
            gen.close()  # crashed by another actor of its process (see _crash)

    def _live_lean(self, actor: Actor, wait: Event) -> Generator[Event, object, None]:
        """``_live`` for a sweep's run (``self._lean``): the same steps with the branches
        for tracking, choice recording, crash points and faults taken out, since a sweep
        runs this loop for nearly all of its time (its traced coverage runs too).
        ``tests/test_kernel.py`` checks that both loops make the same runs."""
        env = self.env
        aid = actor.id
        gen = actor.gen
        handlers = self._handlers
        scheduled = self.schedule.append
        direct = self._direct
        assert direct is not None
        consumers = self.broker.consumers
        blocked = _BLOCKED
        consume_op = ops.Consume
        decide_op = Decide
        decided = self.decisions.append
        timeout = Timeout
        event = Event
        rates = self.config.timing.exponential_rates()  # drawn inline below, as the samplers do
        split_db = self._split_db
        latency_channel = self.db.latency_channel
        rnd = self.source.rng.random
        trace = self._trace  # a sweep's coverage run: records, no choice log
        append = self.records.append
        while True:
            moved = yield wait
            if moved is not None:  # woken from a park: wait for the wake-up's latency
                yield moved  # type: ignore[misc]
            scheduled(aid)
            try:
                if actor.has_preset:
                    result = actor.preset
                    actor.has_preset = False
                    actor.preset = None
                    if trace:
                        append(_record(env.now, actor, actor.op, result))
                    op = gen.send(result)
                else:
                    op = actor.op
                    try:
                        result = handlers[type(op)](aid, op)
                    except StoreError as exc:
                        if trace:
                            append(_record(env.now, actor, op, ("error", str(exc))))
                        op = gen.throw(exc)
                    else:
                        if result is blocked:  # parked; a lock hand-over wakes it
                            wait = actor.park = event(env)
                            continue
                        if trace:
                            append(_record(env.now, actor, op, result))
                        op = gen.send(result)
                while type(op) is decide_op:  # a guard decision: counted, no step (models/probe.py)
                    decided(op)
                    op = gen.send(None)
            except StopIteration:
                actor.alive = False
                actor.op = None
                return
            actor.op = op
            if type(op) is consume_op:
                consumer = consumers[op.consumer]
                if not consumer.buffer:
                    consumer.waiters.append(aid)  # the broker's push wakes it
                    wait = actor.park = event(env)
                    continue
            channel = op.channel
            if split_db and (channel == "db_write" or channel == "db_commit"):
                channel = latency_channel(aid, channel)
            rate = rates.get(channel)
            if rate is not None:  # Distribution.sampler's exponential draw, inlined
                wait = timeout(env, -log(1.0 - rnd()) / rate)
            else:
                wait = timeout(env, op.seconds if channel == "sleep" else direct[channel]())

    def _note_expiry(self, queue: str, message: Message) -> None:
        """A traced run shows the broker dropping a message at its TTL, as a step of its own."""
        self.records.append((self.env.now, "broker", "Q1", "Expire", (queue, message.execution_id), None))

    # ---- waking parked actors --------------------------------------------------------------
    def _wake(self, actor_id: int, delivery: Delivery) -> None:
        self._unpark(self.actors[actor_id], delivery, "consume")

    def _grant(self, actor_id: int) -> None:
        self._unpark(self.actors[actor_id], None, "lock")

    def _unpark(self, actor: Actor, result: object, channel: str) -> None:
        """Hand ``result`` to a parked actor: its op completes after the channel's latency,
        drawn now; the park event tells its process which event to wait on next."""
        actor.preset = result
        actor.has_preset = True
        park = actor.park
        assert park is not None
        actor.park = None
        park.succeed(self._pend(actor, self._latency(channel)))

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
        if self._starting:
            self._start_ends(aid)

    def _nack(self, aid: int, op: ops.Nack) -> None:
        self.broker.nack(op.consumer, op.tag, op.requeue)
        if self._starting:
            self._start_ends(aid)

    def _start_begins(self, aid: int, op: ops.InsertWorkflowExecution) -> object:
        self._starting[self.actors[aid].group] = aid
        return self._insert_workflow(aid, op)

    def _start_ends(self, aid: int) -> None:
        group = self.actors[aid].group
        if self._starting.get(group) == aid:
            del self._starting[group]

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
        if outcome is None or wt is None:
            return True
        if outcome.fail_all or (wt.task_index is not None and wt.task_index in outcome.fail_items):
            return False
        if outcome.fail_probability > 0:
            return not self.source.chance(outcome.fail_probability)
        return True

    # ---- crashes -----------------------------------------------------------------------------
    def _kill(self, actor: Actor) -> None:
        """The actor dies now: its process is interrupted (unless it is the one running),
        and its connection's death frees what it held."""
        actor.alive = False
        self.pending.pop(actor.id, None)
        actor.park = None
        actor.permit = None
        process = actor.process
        if process is not None and process.is_alive and process is not self.env.active_process:
            process.interrupt("crash")
        for consumer in self.broker.consumers.values():
            if actor.id in consumer.waiters:
                consumer.waiters.remove(actor.id)
        for _key, nxt in self.db.end_session(actor.id):
            self._grant(nxt)

    def crash_options(self, actor: Actor) -> tuple[str, ...]:
        """The crashes open to ``actor`` at a yield point: a worker slot alone or its whole
        worker process; an executor actor takes its executor (listeners and scheduler)."""
        group = actor.group
        if group.startswith("worker"):
            return (CRASH_WORKER, CRASH_WORKER_PROCESS)
        if group.startswith("exec") and group not in self._starting:
            return (CRASH_EXECUTOR,)
        return ()

    def _crash_point(self, actor: Actor) -> str | None:
        """The crash choice point at ``actor``'s yield point: the strategy's choice while
        its crash budget lasts, else sampled with the ``crash`` probability."""
        options = self.crash_options(actor)
        if not options:
            return None
        n = len(options) + 1
        strategy = self.strategy
        if strategy.crash_budget > 0:
            # past the budget the point stays (recorded as "no crash"), so a replay meets the
            # same choice points whatever strategy made the recording
            spent = self.crashes >= strategy.crash_budget
            kind = self.source.crash(n, 0.0, _no_crash if spent else partial(strategy.choose_crash, actor, n))
        else:
            kind = self.source.crash(n, self._crash_p)
        if not kind:
            return None
        self.crashes_fired.append((f"crash:{options[kind - 1]}", actor.name))
        return options[kind - 1]

    def _crash(self, actor: Actor, kind: object) -> None:
        now = self.env.now
        op = actor.op
        assert op is not None
        self.crashes += 1
        if kind is CRASH_WORKER:  # one slot; the worker process gives it a fresh slot at once
            self.records.append((now, actor.name, op.step, "Crash", ("worker", *op.args()), None))
            self._kill(actor)
            if actor.respawn is not None:
                actor.respawn()
            return
        if kind is CRASH_WORKER_PROCESS:  # every slot of the worker, and its consumer
            w = int(actor.group[6:])
            self.records.append((now, actor.name, op.step, "Crash", (actor.group, *op.args()), None))
            for other in [a for a in self.actors.values() if a.group == actor.group and a.alive]:
                self._kill(other)
            consumer = self._worker_consumers[worker_queue(w)]
            if consumer.alive:
                self.broker.kill_consumer(consumer.name)  # the deliveries no slot had taken yet go back to the queue
            self.db.worker_heartbeat[w] = now  # its last beat: HEAD's dead-worker rule ages from here
            self._schedule_restart(actor.group, partial(self._start_worker, w))
            return
        e = int(actor.group[4:])
        self.records.append((now, actor.name, op.step, "Crash", (actor.group,), None))
        for other in [a for a in self.actors.values() if a.group == actor.group and a.alive]:
            self._kill(other)
        for name in self._executor_consumers[e]:
            self.broker.kill_consumer(name)
        self._schedule_restart(actor.group, partial(self._start_executor, e, 0.0))


_BLOCKED = object()


def _record(now: float, actor: Actor, op: Any, result: object) -> Record:
    """The trace record of one step: when, who, which op with its arguments, and what it
    returned (summarised where a row would be too much to keep)."""
    rt = type(result)
    summary = _SUMMARIES[rt](result) if rt in _SUMMARIES else result
    return (now, actor.name, op.step, type(op).__name__, op.args(), summary)


def _no_crash() -> int:
    return 0


def _restarter(start: Callable[[], None], delay: float) -> Generator[Op, object, None]:
    yield ops.Sleep("restart", delay)
    start()


def _nothing(aid: int, op: Op) -> None:
    return None
