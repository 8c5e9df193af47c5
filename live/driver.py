"""Live mode: the generators of ``models/`` as real threads against PostgreSQL and RabbitMQ.

Each actor (worker slot, executor scheduler, completion listener, starter) is a thread that
drives its model generator: it executes every yielded op for real (``PgStore`` on its own
connection, ``AmqpSession`` on its own AMQP connection) and sends the result back. A run
gets its own schema and its own queue-name prefix and removes both, and every connection,
before it returns, also on failure. The verdict comes from ``sim.checkers.check`` on the
rows read back from PostgreSQL and the dispatches the actors published.

``Gates`` carry the delays a saved failing schedule implies: a worker is held between its
terminal write (W6) and its next step until the items whose terminal write preceded the
processing of its completion in the simulated trace have written theirs for real.
"""

from __future__ import annotations

import os
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from racesim.live import amqp, pg_store
from racesim.live.amqp import AmqpSession, QueueAdmin
from racesim.live.pg_store import PgStore
from racesim.models import ops
from racesim.models.execution_scheduler import execution_scheduler
from racesim.models.listener import completion_listener
from racesim.models.ops import Model, StoreError
from racesim.models.probe import Decide
from racesim.models.rows import (
    COMPLETED_QUEUE,
    EXECUTION_COMPLETED,
    REQUESTS_QUEUE,
    STATUS_QUEUE,
    WORKER_DISPATCH,
    Delivery,
    ExecRow,
    worker_queue,
)
from racesim.models.starter import request_workflow
from racesim.models.worker import worker_slot
from racesim.sim import topology
from racesim.sim.checkers import Verdict, check, merge
from racesim.sim.config import RunConfig
from racesim.sim.timing import transaction_channel

Key = tuple[str, int | None]  # (task name, item index): a row's identity across sim and live
APP_PREFIX = "racesim-live"


@dataclass(frozen=True, slots=True)
class LiveSettings:
    dsn: str = pg_store.DEFAULT_DSN
    amqp_url: str = amqp.DEFAULT_URL
    time_scale: float = 0.05  # simulated seconds -> wall seconds for RunAction and Sleep
    quiet: float = 0.08  # all actors idle and queues empty this long = quiescent
    max_seconds: float = 15.0  # a run that does not settle is stopped and reported stuck
    gate_timeout: float = 2.0  # a gate whose items never finish opens anyway (counted)


@dataclass(slots=True)
class Gates:
    """item key -> keys that must have written their terminal status before it may go on."""

    waits: dict[Key, frozenset[Key]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.waits)


@dataclass(slots=True)
class LiveRun:
    verdict: Verdict
    dispatched: list[Key]
    completions: int
    seconds: float
    quiescent: bool
    gate_timeouts: int
    errors: list[str]
    latencies: dict[str, list[float]] = field(default_factory=dict)  # seconds by channel, every actor


# ---- one run ----------------------------------------------------------------------------------
class _Run:
    """Shared state of one live run; actors report to it, the monitor reads it."""

    def __init__(self, config: RunConfig, settings: LiveSettings, seed: int, gates: Gates, tag: str) -> None:
        self.config = config
        self.settings = settings
        self.gates = gates
        self.tag = tag
        self.schema = f"racesim_live_{tag}"
        self.prefix = f"racesim.{tag}."
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.rng = random.Random(seed)
        self.run_time = config.timing.samplers(self.rng)["run"]
        self.outcomes = dict(config.outcomes)
        self.dispatched: list[int] = []
        self.completions: list[int] = []
        self.finished: dict[Key, int] = {}  # W6 writes seen, per key
        self.gate_timeouts = 0
        self.errors: list[str] = []
        self.actors: list[_Actor] = []
        self.local: dict[str, queue.Queue[Delivery]] = {}  # worker consumer -> its prefetch buffer
        self.feeders: dict[str, _Actor] = {}  # worker consumer -> the thread that consumes for it
        self.last_activity = time.monotonic()
        self.children: list[ExecRow] = []  # read back at the end

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def draw_run(self, row: ExecRow | None) -> tuple[float, bool]:
        """The action's duration and outcome, as ``World._run_action`` decides them."""
        with self.lock:
            seconds = self.run_time() * self.settings.time_scale
            wt = row.workflow_task if row is not None else None
            outcome = self.outcomes.get(wt.task_name) if wt is not None else None
            ok = True
            if outcome is not None:
                if outcome.fail_all or (wt is not None and wt.task_index is not None and wt.task_index in outcome.fail_items):
                    ok = False
                elif outcome.fail_probability > 0:
                    ok = self.rng.random() >= outcome.fail_probability
        return seconds, ok

    def ack_taken(self, consumer: str, tag: int) -> None:
        """A slot took a delivery: the feeder's channel acks it, on the feeder's thread."""
        mq = self.feeders[consumer].mq
        assert mq is not None, "a delivery came through this feeder's channel"
        mq.ack_from_another_thread(tag)

    def note_finished(self, key: Key) -> None:
        with self.cond:
            self.finished[key] = self.finished.get(key, 0) + 1
            self.cond.notify_all()

    def hold(self, key: Key) -> None:
        need = self.gates.waits.get(key)
        if not need:
            return
        with self.cond:
            ok = self.cond.wait_for(
                lambda: self.stop.is_set() or all(k in self.finished for k in need), timeout=self.settings.gate_timeout
            )
            if not ok:
                self.gate_timeouts += 1


class _Actor(threading.Thread):
    def __init__(self, run: _Run, name: str, gen: Model, consumers: dict[str, tuple[str, int]]) -> None:
        super().__init__(name=f"{run.tag}:{name}", daemon=True)
        self.run_ = run
        self.actor = name
        self.gen = gen
        self.consumers = consumers  # consumer name -> (queue, prefetch) it reads itself, acking by hand
        self.pg: psycopg.Connection | None = None
        self.store: PgStore | None = None
        self.mq: AmqpSession | None = None
        self.idle = False
        self.rows: dict[int, ExecRow] = {}
        self.done = False
        # round-trip seconds by simulator channel (sim/timing.py), as this run's concurrency
        # makes them: what `racesim live --profile-out` turns into a timing profile
        self.latencies: dict[str, list[float]] = {}
        self._in_tx = False
        self._tx_wrote = False

    # connections are opened on first use, so idle worker slots cost a thread only
    def _store(self) -> PgStore:
        if self.store is None:
            s = self.run_.settings
            self.pg = pg_store.connect(s.dsn, f"{APP_PREFIX}-{self.run_.tag}", f'"{self.run_.schema}"')
            self.pg.execute("SET lock_timeout = '10s'")
            self.store = PgStore(self.pg, tuple(range(1, self.run_.config.deployment.workers + 1)))
        return self.store

    def _mq(self) -> AmqpSession:
        if self.mq is None:
            self.mq = AmqpSession(self.run_.settings.amqp_url, self.run_.prefix, f"{APP_PREFIX}-{self.run_.tag}-{self.actor}")
            for q, prefetch in self.consumers.values():
                self.mq.start_consuming(q, prefetch, auto_ack=False)
        return self.mq

    def _skip_probes(self, op: ops.Op | Decide) -> ops.Op:
        while isinstance(op, Decide):  # a guard decision (models/probe.py): no round trip
            op = self.gen.send(None)
        return op

    def run(self) -> None:
        run = self.run_
        try:
            result: object = None
            error: StoreError | None = None
            op = self._skip_probes(next(self.gen))
            while not run.stop.is_set():
                try:
                    result, error = self._execute(op), None
                except StoreError as exc:
                    result, error = None, exc
                if run.stop.is_set():
                    break
                op = self._skip_probes(self.gen.send(result) if error is None else self.gen.throw(error))
        except StopIteration:
            pass
        except _Stopped:
            pass
        except Exception as exc:  # a bug or a dead service: the run reports it
            if not run.stop.is_set():
                run.errors.append(f"{self.actor}: {type(exc).__name__}: {exc}")
        finally:
            self.done = True
            self.gen.close()
            self.close()

    def close(self) -> None:
        if self.mq is not None:
            self.mq.close()
        if self.pg is not None:
            try:
                self.pg.close()
            except psycopg.Error:
                pass

    def _execute(self, op: ops.Op) -> object:
        run = self.run_
        run.touch()
        if isinstance(op, ops.Consume):
            return self._consume(op.consumer)
        if isinstance(op, ops.Ack):
            self._mq().ack(op.tag)
            return None
        if isinstance(op, ops.Nack):
            self._mq().nack(op.tag, op.requeue)
            return None
        if isinstance(op, ops.Publish):
            m = op.message
            if m.kind == WORKER_DISPATCH:
                run.dispatched.append(m.execution_id)
            elif m.kind == EXECUTION_COMPLETED:
                run.completions.append(m.execution_id)
            mq = self._mq()
            t0 = time.perf_counter()
            mq.publish(op.queue, m)
            self._timed("mq", time.perf_counter() - t0)
            return None
        if isinstance(op, ops.RunAction):
            seconds, ok = run.draw_run(self.rows.get(op.execution_id))
            time.sleep(seconds)
            return ok
        if isinstance(op, ops.Sleep):
            time.sleep(op.seconds * run.settings.time_scale)
            return None
        if op.step == "W7" and run.gates and isinstance(op, ops.ReadExecution):
            run.hold(self._key(op.execution_id))  # between the terminal write and the publishes
        store = self._store()
        channel = transaction_channel(op.channel, self._in_tx, self._tx_wrote)
        t0 = time.perf_counter()
        result = store.execute(op)
        if channel != "lock":  # a lock's wait is contention, which the simulator models itself
            self._timed(channel, time.perf_counter() - t0)
        self._track_transaction(op)
        if isinstance(op, ops.ReadExecution):
            self.rows[op.execution_id] = result  # type: ignore[assignment]
        elif isinstance(op, ops.SetExecutionStatus) and op.step == "W6":
            run.note_finished(self._key(op.execution_id))
        return result

    def _timed(self, channel: str, seconds: float) -> None:
        samples = self.latencies.get(channel)
        if samples is None:
            samples = self.latencies[channel] = []
        samples.append(seconds)

    def _track_transaction(self, op: ops.Op) -> None:
        """The session's transaction state, as ``SimDB`` keeps it (an undo log)."""
        if isinstance(op, ops.Begin):
            self._in_tx, self._tx_wrote = True, False
        elif isinstance(op, ops.Commit | ops.Rollback):
            self._in_tx = self._tx_wrote = False
        elif self._in_tx and op.channel == "db_write":
            self._tx_wrote = True

    def _key(self, eid: int) -> Key:
        row = self.rows.get(eid)
        wt = row.workflow_task if row is not None else None
        return (wt.task_name, wt.task_index) if wt is not None else ("", eid)

    def _consume(self, consumer: str) -> Delivery:
        run = self.run_
        local = run.local.get(consumer)
        self.idle = True
        try:
            if local is not None:  # a worker slot: take from its worker's buffer, and ack it
                while not run.stop.is_set():
                    try:
                        taken = local.get(timeout=amqp.POLL_SECONDS)
                    except queue.Empty:
                        continue
                    run.ack_taken(consumer, taken.tag)
                    return taken
                raise _Stopped
            delivery = self._mq().next_delivery(run.stop)
            if delivery is None:
                raise _Stopped
            return delivery
        finally:
            self.idle = False
            run.touch()


class _Stopped(Exception):
    """The run is over: leave the generator where it waits."""


def _feeder(buffer: queue.Queue[Delivery], consumer: str, source: str) -> Model:
    """A worker process's consumer: moves deliveries into the slots' buffer. The slot that
    takes one acks it (``_Run.ack_taken``), as attune's worker acks once a permit is free."""
    while True:
        delivery = yield ops.Consume("W1", consumer, source)
        buffer.put(delivery)


def build_actors(run: _Run) -> None:
    """The deployment's threads, from the description the simulator also builds from
    (``sim/topology.py``). Threads connect on first use, so building opens nothing."""
    dep, guards = run.config.deployment, run.config.guards

    def spawn(name: str, gen: Model, consumers: dict[str, tuple[str, int]] | None = None) -> None:
        run.actors.append(_Actor(run, name, gen, consumers or {}))

    for process in topology.topology(dep):
        for c in process.consumers:
            if c.ack_on_take:  # a worker: one consumer thread feeds the slots' buffer
                run.local[c.name] = queue.Queue()
                feed = _feeder(run.local[c.name], f"{c.name}.mq", c.queue)
                spawn(f"{c.name}.feed", feed, {f"{c.name}.mq": (c.queue, c.prefetch)})
                run.feeders[c.name] = run.actors[-1]
        consumers = {c.name: c for c in process.consumers}
        for a in process.actors:
            c = consumers[a.consumer]
            if a.role == topology.WORKER_SLOT:
                spawn(a.name, worker_slot(c.name, c.queue, guards))
            elif a.role == topology.SCHEDULER:
                spawn(a.name, execution_scheduler(guards, c.name, run.config.graph), {c.name: (c.queue, c.prefetch)})
            else:
                spawn(a.name, completion_listener(guards, c.name), {c.name: (c.queue, c.prefetch)})


def run_live(config: RunConfig, seed: int = 1, gates: Gates | None = None, settings: LiveSettings | None = None) -> LiveRun:
    """One live run of ``config``; always cleans up its schema, queues and connections."""
    if config.deployment.listeners != 1:
        # sim/topology.py: k handlers share ONE completion consumer per executor. Live, each
        # thread has its own AMQP channel, so k threads would be k consumers with k prefetch
        # windows: not the topology the simulator runs (nor attune's, which has one handler).
        raise ValueError(
            f"live runs one completion handler per executor (attune's); listeners={config.deployment.listeners} is simulated only"
        )
    settings = settings or LiveSettings()
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:10]}"
    run = _Run(config, settings, seed, gates or Gates(), tag)
    dep = config.deployment
    admin = pg_store.connect(settings.dsn, f"{APP_PREFIX}-{tag}-admin")
    mq_admin: QueueAdmin | None = None
    started = time.monotonic()
    quiescent = False
    try:
        pg_store.create_schema(admin, run.schema, id_base=random.randrange(1, 2**40))
        mq_admin = QueueAdmin(settings.amqp_url, run.prefix)
        workers = [worker_queue(w) for w in range(1, dep.workers + 1)]
        queues = [REQUESTS_QUEUE, COMPLETED_QUEUE, STATUS_QUEUE] + workers
        for q in queues:  # worker queues with attune's message TTL, as the simulated broker has
            mq_admin.declare(q, ttl=dep.worker_queue_ttl if q in workers else None)

        build_actors(run)
        for actor in run.actors:
            actor.start()
        # load: one starter per workflow execution, each waiting for its arrival time
        # (scaled like every Sleep); Poisson gaps drawn from the run's seed
        gaps = random.Random(seed)
        starts = config.load.start_times(lambda _channel: gaps.expovariate(1.0 / config.load.gap))
        for i, at in enumerate(starts):
            name = "starter" if len(starts) == 1 else f"starter{i}"
            starter = _Actor(run, name, request_workflow(config.workflow_ref, at), {})
            run.actors.append(starter)
            starter.start()
        quiescent = _wait_quiescent(run, mq_admin, queues)
    finally:
        run.stop.set()
        with run.cond:
            run.cond.notify_all()
        _join(run)
        verdict: Verdict | None = None
        try:
            if not run.errors or quiescent:
                verdict = _verdict(admin, run, not quiescent)
        finally:
            try:
                pg_store.drop_schema(admin, run.schema)
            finally:
                admin.close()
                if mq_admin is not None:
                    mq_admin.delete_all()
                    mq_admin.close()
    if verdict is None:
        raise RuntimeError(f"live run {tag} failed: {'; '.join(run.errors)}")
    by_id = _keys_by_id(verdict, run)
    return LiveRun(
        verdict,
        [by_id.get(eid, ("?", eid)) for eid in run.dispatched],
        len(run.completions),
        time.monotonic() - started,
        quiescent,
        run.gate_timeouts,
        run.errors,
        _latencies(run.actors),
    )


def _latencies(actors: list[_Actor]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for actor in actors:
        for channel, samples in sorted(actor.latencies.items()):
            out.setdefault(channel, []).extend(samples)
    return dict(sorted(out.items()))


def _wait_quiescent(run: _Run, mq_admin: QueueAdmin, queues: list[str]) -> bool:
    """All actors idle (starter done), every buffer and watched queue empty, for ``quiet`` s."""
    s = run.settings
    deadline = time.monotonic() + s.max_seconds
    watched = [q for q in queues if q != STATUS_QUEUE]  # nobody consumes status changes (as in the sim)
    calm_since: float | None = None
    while time.monotonic() < deadline:
        time.sleep(0.01)
        if run.errors:
            return False
        idle = all(a.idle or a.done for a in run.actors) and all(b.empty() for b in run.local.values())
        if idle and all(mq_admin.depth(q) == 0 for q in watched):
            now = time.monotonic()
            if calm_since is None or run.last_activity > calm_since:
                calm_since = now
            elif now - calm_since >= s.quiet:
                return True
        else:
            calm_since = None
    return False


def _join(run: _Run) -> None:
    deadline = time.monotonic() + 5.0
    for actor in run.actors:
        if not actor.is_alive():
            continue
        actor.join(max(0.0, deadline - time.monotonic()))
        if actor.is_alive() and actor.pg is not None:
            try:
                actor.pg.cancel()  # stuck in a statement (a lock wait): interrupt it
            except psycopg.Error:
                pass
            actor.join(2.0)
        if actor.is_alive():
            run.errors.append(f"{actor.actor}: thread did not stop")


def _verdict(admin: psycopg.Connection, run: _Run, livelock: bool) -> Verdict:
    """Each workflow execution checked on its own, as in the simulator (load)."""
    admin.execute(f'SET search_path TO "{run.schema}"')
    try:
        ids = [r[0] for r in admin.execute("SELECT id FROM workflow_execution ORDER BY id").fetchall()]
        if not ids:
            raise RuntimeError(f"live run {run.tag}: the workflow was never started ({'; '.join(run.errors)})")
        verdicts: dict[int, Verdict] = {}
        run.children = []
        for w in ids:
            we, children = pg_store.read_workflow(admin, w)
            run.children.extend(children)
            verdicts[w] = check(
                run.config.graph,
                we,
                children,
                list(run.dispatched),
                list(run.completions),
                livelock=livelock,
                faults_fired=None,
                lost_writes=None,  # the live store does not record overwritten values: lost_update is unknown
                rewrites=None,  # nor the status a write replaced: finished_overwritten is unknown
                failure_handled=run.config.guards.handled,
            )
        return merge(verdicts)
    finally:
        admin.execute("SET search_path TO DEFAULT")


def _keys_by_id(verdict: Verdict, run: _Run) -> dict[int, Key]:
    return {r.id: (wt.task_name, wt.task_index) for r in run.children if (wt := r.workflow_task) is not None}


# ---- gates from a simulated trace ----------------------------------------------------------------
def gates_from_records(records: list[tuple], key_of: Callable[[int], Key | None]) -> Gates:
    """For every item whose completion the listener processed (L1), the items of the same task
    whose terminal write (W6) came earlier in the simulated trace."""
    w6: dict[int, float] = {}
    l1: dict[int, float] = {}
    for t, _actor, step, op, args, _result in records:
        if step == "W6" and op == "SetExecutionStatus":
            w6.setdefault(args[0], t)
        elif step == "L1" and op == "ReadExecution":
            l1.setdefault(args[0], t)
    waits: dict[Key, frozenset[Key]] = {}
    for eid, seen in l1.items():
        key = key_of(eid)
        if key is None or key[1] is None:
            continue  # only with_items items: their completions race the siblings' writes
        before = {
            k for j, t in w6.items() if j != eid and t < seen and (k := key_of(j)) is not None and k[0] == key[0] and k != key
        }
        if before:
            waits[key] = frozenset(before)
    return Gates(waits)


@dataclass(slots=True)
class Replayed:
    """A schedule file replayed in the simulator, and the gates its trace implies."""

    config: RunConfig
    verdict: Verdict
    gates: Gates


def replay_schedule(path: str) -> Replayed:
    """Load a ``racesim-schedule/1`` file, replay it in the simulator, derive the gates."""
    from racesim.engine.runner import config_for, run_one
    from racesim.models.guards import Guards
    from racesim.scenarios import loader
    from racesim.sim import schedule_file
    from racesim.sim.config import Faults

    sf = schedule_file.load(path)
    config = config_for(loader.load(sf.scenario), Guards.parse(sf.guards), sf.deployment, Faults.parse(sf.faults))
    result = run_one(config, sf.seed, choices=sf.choices)
    db = result.output.db

    def key_of(eid: int) -> Key | None:
        row = db.executions.get(eid)
        wt = row.workflow_task if row is not None else None
        return (wt.task_name, wt.task_index) if wt is not None else None

    return Replayed(config, result.verdict, gates_from_records(result.output.records, key_of))
