"""Measure the live stores' latency per operation kind and write a timing profile.

Each operation the models use is run ``samples`` times (after a warm-up) through the same
code the live driver runs (``PgStore`` on one connection in a throwaway schema,
``AmqpSession`` on throwaway queues), timed with ``time.perf_counter``. The profile keeps
every kind's figures and derives the scenario channels from them:

- ``db_latency``: the reads, counts and transaction statements pooled, each weighted by how
  often it occurs in a simulated run of the reference scenario (so the channel's mean is the
  mean round trip a simulated actor pays), fitted as ``fit`` says;
- ``db_write_latency``: the autocommitted writes and inserts pooled the same way (each flushes
  before it answers); a write inside a transaction is timed like a read, and measured as
  ``WriteInTransaction`` to show it;
- ``db_commit_latency``: a COMMIT after a write (``CommitAfterWrite``: the flush moves there);
- ``publish_latency``: a publish (no publisher confirms, as the live driver publishes);
- ``listener_delay``: from a publish to the delivery at a consumer already waiting on the queue.

Worker durations are the scenario's business (they model the action), so a profile never
sets ``worker_duration``.
"""

from __future__ import annotations

import datetime
import math
import platform
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from racesim.live import pg_store
from racesim.live.amqp import AmqpSession, QueueAdmin
from racesim.live.pg_store import PgStore
from racesim.models import ops
from racesim.models.graph import Graph, Node, Transition
from racesim.models.rows import COMPLETED_QUEUE, EXECUTION_COMPLETED, Message, WorkflowTask
from racesim.scenarios.schema import PROFILE_KIND
from racesim.sim.timing import CHANNEL_KEYS

PROFILE_VERSION = 1
# Which channel each measured kind feeds (the simulator's latency channels, sim/timing.py).
DB_KINDS = {
    "ReadExecution": "read",
    "ReadWorkflowExecution": "read",
    "ReadChildren": "read",
    "CountInFlight": "count",
    "CountRemaining": "count",
    "CountRunning": "count",
    "AnyItemFailed": "count",
    "SelectPending": "count",
    "SetExecutionStatus": "write",
    "CasExecutionStatus": "write",
    "UpdateWorkflowExecution": "write",
    "InsertExecution": "insert",
    "InsertDispatchKey": "insert",
    "Begin": "transaction",
    "Commit": "transaction",
    "AdvisoryLock": "lock",
    "AdvisoryUnlock": "lock",
    # inside BEGIN .. COMMIT (HEAD's advance): a write, and the COMMIT after it
    "WriteInTransaction": "write in transaction",
    "CommitAfterWrite": "commit",
}
# The database channels (sim/timing.py) and the kinds pooled into each: an autocommitted
# write flushes the WAL before it answers, a write inside a transaction does not (its COMMIT
# does), so writes and commits are timed apart from the rest.
POOLS = {"db_latency": ("read", "count", "transaction"), "db_write_latency": ("write", "insert")}
MQ_KINDS = {"Publish": "publish", "Consume": "consume"}


@dataclass(slots=True)
class Stats:
    kind: str
    samples: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float | int | str]:
        xs = sorted(self.samples)
        return {
            "kind": self.kind,
            "n": len(xs),
            "mean": _round(statistics.fmean(xs)),
            "sd": _round(statistics.pstdev(xs)),
            "p50": _round(_quantile(xs, 0.5)),
            "p95": _round(_quantile(xs, 0.95)),
        }


def _quantile(xs: list[float], q: float) -> float:
    return xs[min(len(xs) - 1, max(0, math.ceil(q * len(xs)) - 1))]


def _round(x: float) -> float:
    return float(f"{x:.3g}")


def _timed(fn: Callable[[], object], n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out: list[float] = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _graph() -> Graph:
    return Graph.build(
        [
            Node("process_items", "demo.handle_one", 5, 3, None, (Transition("succeeded", ("validate",)),)),
            Node("validate", "demo.verify_all"),
        ]
    )


def measure_postgres(dsn: str, samples: int, warmup: int) -> dict[str, Stats]:
    """Every database kind on a seeded workflow (5 item rows) in a throwaway schema."""
    schema = f"racesim_calibrate_{uuid.uuid4().hex[:10]}"
    admin = pg_store.connect(dsn, "racesim-calibrate-admin")
    stats: dict[str, Stats] = {name: Stats(kind) for name, kind in DB_KINDS.items()}
    try:
        pg_store.create_schema(admin, schema, id_base=random.randrange(1, 2**40))
        conn = pg_store.connect(dsn, "racesim-calibrate", f'"{schema}"')
        try:
            store = PgStore(conn, (1, 2, 3))

            def run(op: ops.Op) -> Any:
                return store.execute(op)

            parent = run(ops.InsertExecution("c", "demo.fanin", None, None, "running"))
            w = run(ops.InsertWorkflowExecution("c", parent, _graph()))
            items = [
                run(ops.InsertExecution("c", "demo.handle_one", parent, WorkflowTask(w, "process_items", i))) for i in range(5)
            ]
            x = items[0]
            by_kind: dict[str, Callable[[], object]] = {
                "ReadExecution": lambda: run(ops.ReadExecution("c", x)),
                "ReadWorkflowExecution": lambda: run(ops.ReadWorkflowExecution("c", w)),
                "ReadChildren": lambda: run(ops.ReadChildren("c", parent)),
                "CountInFlight": lambda: run(ops.CountInFlight("c", w, "process_items", x)),
                "CountRemaining": lambda: run(ops.CountRemaining("c", w, "process_items", x)),
                "CountRunning": lambda: run(ops.CountRunning("c", w, (), ())),
                "AnyItemFailed": lambda: run(ops.AnyItemFailed("c", w, "process_items")),
                "SelectPending": lambda: run(ops.SelectPending("c", w, "process_items", 3)),
                "SetExecutionStatus": lambda: run(ops.SetExecutionStatus("c", x, "running")),
                "CasExecutionStatus": lambda: run(ops.CasExecutionStatus("c", x, "running", "running")),
                "UpdateWorkflowExecution": lambda: run(
                    ops.UpdateWorkflowExecution("c", w, (("completed_tasks", ("process_items",)), ("failed_tasks", ())))
                ),
                "InsertExecution": lambda: run(ops.InsertExecution("c", "demo.verify_all", parent, WorkflowTask(w, "validate"))),
            }
            keys = iter(range(10**9))
            by_kind["InsertDispatchKey"] = lambda: run(ops.InsertDispatchKey("c", w, "validate", next(keys)))
            for name, fn in by_kind.items():
                stats[name].samples = _timed(fn, samples, warmup)
            begin, commit = ops.Begin("c"), ops.Commit("c")
            write = ops.SetExecutionStatus("c", x, "running")
            for i in range(warmup + samples):  # BEGIN; timed write; timed COMMIT
                run(begin)
                t0 = time.perf_counter()
                run(write)
                t1 = time.perf_counter()
                run(commit)
                t2 = time.perf_counter()
                if i >= warmup:
                    stats["WriteInTransaction"].samples.append(t1 - t0)
                    stats["CommitAfterWrite"].samples.append(t2 - t1)
            lock, unlock = ops.AdvisoryLock("c", w), ops.AdvisoryUnlock("c", w)
            for _ in range(warmup):
                run(begin), run(commit), store.handlers[ops.AdvisoryLock](lock), store.handlers[ops.AdvisoryUnlock](unlock)
            for _ in range(samples):
                timed: tuple[tuple[str, ops.Op, Callable[[Any], object]], ...] = (
                    ("Begin", begin, run),
                    ("Commit", commit, run),
                    ("AdvisoryLock", lock, store.handlers[ops.AdvisoryLock]),
                    ("AdvisoryUnlock", unlock, store.handlers[ops.AdvisoryUnlock]),
                )
                for name, op, call in timed:
                    t0 = time.perf_counter()
                    call(op)
                    stats[name].samples.append(time.perf_counter() - t0)
        finally:
            conn.close()
    finally:
        try:
            pg_store.drop_schema(admin, schema)
        finally:
            admin.close()
    return stats


def measure_rabbitmq(url: str, samples: int, warmup: int) -> dict[str, Stats]:
    """Publish latency, and publish -> delivery at a consumer already waiting."""
    prefix = f"racesim-calibrate-{uuid.uuid4().hex[:10]}."
    admin = QueueAdmin(url, prefix)
    stats = {name: Stats(kind) for name, kind in MQ_KINDS.items()}
    try:
        admin.declare(COMPLETED_QUEUE)
        producer = AmqpSession(url, prefix, "racesim-calibrate-producer")
        consumer = AmqpSession(url, prefix, "racesim-calibrate-consumer")
        stop = threading.Event()
        try:
            consumer.start_consuming(COMPLETED_QUEUE, 10, True)
            message = Message(EXECUTION_COMPLETED, 1, "completed")
            for i in range(warmup + samples):
                t0 = time.perf_counter()
                producer.publish(COMPLETED_QUEUE, message)
                t1 = time.perf_counter()
                delivery = consumer.next_delivery(stop)
                t2 = time.perf_counter()
                assert delivery is not None
                if i >= warmup:
                    stats["Publish"].samples.append(t1 - t0)
                    stats["Consume"].samples.append(t2 - t1)
        finally:
            producer.close()
            consumer.close()
    finally:
        admin.delete_all()
        admin.close()
    return stats


def weights(reference: Callable[[], list[str]]) -> dict[str, int]:
    """How often each measured database kind occurs in the reference run's trace."""
    counts: dict[str, int] = {}
    for name in reference():
        if name in DB_KINDS and DB_KINDS[name] != "lock":
            counts[name] = counts.get(name, 0) + 1
    return counts


def pooled(stats: dict[str, Stats], weight: dict[str, int], kinds: tuple[str, ...] | None = None) -> tuple[float, float]:
    """Mean and standard deviation of the mixture of the weighted kinds (those of ``kinds``
    only, when given)."""
    if kinds is not None:
        weight = {k: w for k, w in weight.items() if DB_KINDS[k] in kinds}
    total = sum(weight.values())
    if not total:
        what = f" of kind {', '.join(kinds)}" if kinds else ""
        raise ValueError(f"the reference run used none of the measured database kinds{what}")
    mean = sum(w * statistics.fmean(stats[k].samples) for k, w in weight.items()) / total
    second = sum(w * statistics.fmean([s * s for s in stats[k].samples]) for k, w in weight.items()) / total
    return mean, math.sqrt(max(0.0, second - mean * mean))


def profile(
    db: dict[str, Stats],
    mq: dict[str, Stats],
    weight: dict[str, int],
    samples: int,
    server: dict[str, str],
    reference: str,
) -> dict:
    pools = {channel: fit(*pooled(db, weight, kinds)) for channel, kinds in POOLS.items()}
    lock = Stats("lock", db["AdvisoryLock"].samples + db["AdvisoryUnlock"].samples)
    return {
        **_header(
            "racesim calibrate",
            **server,
            samples_per_kind=samples,
            reference_run=reference,
            note="one client connection per store, sequential round trips, from this process's side "
            "(driver and Python overhead included, as the live mode pays them)",
        ),
        "operations": {name: s.summary() for name, s in (*db.items(), *mq.items())},
        "weights": dict(sorted(weight.items())),
        "channels": {
            **pools,
            "db_commit_latency": _fit_stats(db["CommitAfterWrite"]),
            "publish_latency": _fit_stats(mq["Publish"]),
            "listener_delay": _fit_stats(mq["Consume"]),
        },
        "lock_round_trip": _fit_stats(lock),
    }


def profile_from_live(latencies: dict[str, list[float]], runs: int, reference: str) -> dict:
    """A timing profile from the round trips live runs made (``LiveRun.latencies``): each
    channel's samples as the run's own concurrency made them, fitted as ``fit`` says. The
    delivery delay is not measured live, so the profile leaves ``listener_delay`` out."""
    # each simulator channel the live driver timed feeds its scenario key (sim/timing.py)
    channels = {CHANNEL_KEYS[ch]: _fit_stats(Stats(ch, xs)) for ch, xs in sorted(latencies.items()) if xs}
    return {
        **_header(
            "racesim live --profile-out",
            runs=runs,
            reference_run=reference,
            note="every round trip of the live runs' actors (threads of one process, one connection "
            "each), by simulator channel; advisory-lock waits left out (the simulator models contention)",
        ),
        "operations": {ch: Stats(ch, xs).summary() for ch, xs in sorted(latencies.items()) if xs},
        "channels": channels,
    }


def _header(by: str, **measured: object) -> dict:
    """A profile's kind, version and what measured it, when and where."""
    return {
        "kind": PROFILE_KIND,
        "version": PROFILE_VERSION,
        "measured": {
            "by": by,
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
            "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
            **measured,
        },
    }


def fit(mean: float, sd: float) -> dict[str, float | str]:
    """The simulator's distributions are constant, uniform, exponential and normal: a skewed
    sample (sd at least half the mean, as round trips on a busy machine are) gets the
    exponential with its mean; a tight one the normal with its mean and sd."""
    if sd >= 0.5 * mean:
        return {"dist": "exponential", "mean": _round(mean)}
    return {"dist": "normal", "mean": _round(mean), "sd": _round(sd)}


def _fit_stats(s: Stats) -> dict[str, float | str]:
    return fit(statistics.fmean(s.samples), statistics.pstdev(s.samples))


def server_versions(dsn: str, url: str) -> dict[str, str]:
    out: dict[str, str] = {}
    conn = pg_store.connect(dsn, "racesim-calibrate-version")
    try:
        row = conn.execute("SHOW server_version").fetchone()
        out["postgresql"] = str(row[0]) if row else "?"
    finally:
        conn.close()
    session = AmqpSession(url, "racesim-calibrate-version.", "racesim-calibrate-version")
    try:
        props = session.connection._impl.server_properties  # pika exposes it only here
        version = props.get("version", b"?")
        out["rabbitmq"] = version.decode() if isinstance(version, bytes) else str(version)
    finally:
        session.close()
    return out
