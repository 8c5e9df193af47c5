"""Operations: every store round trip the ported code makes, described as data.

A model yields an ``Op`` and receives its result. The simulator executes ops on simulated
stores (``sim.db``, ``sim.broker``); the live driver executes the same ops as SQL and AMQP.
``step`` names the spec step (``P6e``, ``F2``, ``S4`` ...) so traces read like the spec.
``channel`` selects the latency distribution and the kind of yield point.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol

from racesim.models.probe import Decide
from racesim.models.rows import ExecRow, Message, WorkflowTask


@dataclass(slots=True)
class Op:
    step: str
    channel = "db"

    def args(self) -> tuple:
        """Key arguments for the trace (primitives only, so the trace repr is canonical)."""
        return ()


# ---- execution table -------------------------------------------------------------------
@dataclass(slots=True)
class ReadExecution(Op):
    execution_id: int

    def args(self) -> tuple:
        return (self.execution_id,)


@dataclass(slots=True)
class InsertExecution(Op):
    channel = "db_write"  # timed as an autocommitted write unless in a transaction (SimDB.latency_channel)
    action_ref: str | None
    parent: int | None
    workflow_task: WorkflowTask | None
    status: str = "requested"

    def args(self) -> tuple:
        wt = self.workflow_task
        return (wt.task_name, wt.task_index) if wt else (self.action_ref,)


@dataclass(slots=True)
class SetExecutionStatus(Op):
    """The worker's unconditional status write (spec 3.1 steps 4 and 6)."""

    channel = "db_write"  # timed as an autocommitted write unless in a transaction (SimDB.latency_channel)

    execution_id: int
    status: str
    result: object = None

    def args(self) -> tuple:
        return (self.execution_id, self.status)


@dataclass(slots=True)
class WriteExecutionRow(Op):
    """PRE/FIX scheduler S4: writes back the whole snapshot read at S1, with a new status."""

    channel = "db_write"  # timed as an autocommitted write unless in a transaction (SimDB.latency_channel)

    snapshot: ExecRow
    status: str
    worker: int | None

    def args(self) -> tuple:
        return (self.snapshot.id, self.status, self.worker)


@dataclass(slots=True)
class CasExecutionStatus(Op):
    """SERIALIZED scheduler claim: ``UPDATE ... SET status = new WHERE status = expect``."""

    channel = "db_write"  # timed as an autocommitted write unless in a transaction (SimDB.latency_channel)

    execution_id: int
    expect: str
    new: str
    worker: int | None = None
    stale_after: float | None = None  # match ``expect`` only if last updated this long ago

    def args(self) -> tuple:
        return (self.execution_id, self.expect, self.new)


@dataclass(slots=True)
class CountInFlight(Op):
    """P6b: rows of (W, T) in IN_FLIGHT, the caller's own row excluded."""

    workflow_execution: int
    task_name: str
    exclude_id: int

    def args(self) -> tuple:
        return (self.workflow_execution, self.task_name, self.exclude_id)


@dataclass(slots=True)
class SelectPending(Op):
    """P6d: ids of (W, T) rows still ``requested``, lowest task_index first, at most ``limit``."""

    workflow_execution: int
    task_name: str
    limit: int

    def args(self) -> tuple:
        return (self.workflow_execution, self.task_name, self.limit)


@dataclass(slots=True)
class CountRemaining(Op):
    """P6e: rows of (W, T) not in FINISHED, the caller's own row excluded."""

    workflow_execution: int
    task_name: str
    exclude_id: int

    def args(self) -> tuple:
        return (self.workflow_execution, self.task_name, self.exclude_id)


@dataclass(slots=True)
class AnyItemFailed(Op):
    """P6f: does any row of (W, T) have a status in ITEM_FAILED (caller included)?"""

    workflow_execution: int
    task_name: str

    def args(self) -> tuple:
        return (self.workflow_execution, self.task_name)


@dataclass(slots=True)
class CountTaskRows(Op):
    """F2 (Layer 2): rows of (W, N), any status, any index."""

    workflow_execution: int
    task_name: str

    def args(self) -> tuple:
        return (self.workflow_execution, self.task_name)


@dataclass(slots=True)
class CountRunning(Op):
    """P12: rows of W not in FINISHED whose task name is in neither C nor F."""

    workflow_execution: int
    completed: tuple[str, ...]
    failed: tuple[str, ...]

    def args(self) -> tuple:
        return (self.workflow_execution,)


@dataclass(slots=True)
class ReadChildren(Op):
    """P9: every execution whose parent is the workflow's own execution (for the result map)."""

    parent: int

    def args(self) -> tuple:
        return (self.parent,)


@dataclass(slots=True)
class ReadItemRows(Op):
    """EXPAND step 3 (SERIALIZED): existing item indexes for (W, N)."""

    workflow_execution: int
    task_name: str

    def args(self) -> tuple:
        return (self.workflow_execution, self.task_name)


@dataclass(slots=True)
class ReadAction(Op):
    action_ref: str

    def args(self) -> tuple:
        return (self.action_ref,)


@dataclass(slots=True)
class ReadDefinition(Op):
    """P4/H8: the workflow definition (parameter defaults only; structure comes from WE)."""

    workflow_execution: int

    def args(self) -> tuple:
        return (self.workflow_execution,)


@dataclass(slots=True)
class ReadWorkers(Op):
    """S3: the worker list the scheduler picks from round-robin."""


# ---- workflow_execution table ----------------------------------------------------------
@dataclass(slots=True)
class InsertWorkflowExecution(Op):
    channel = "db_write"  # timed as an autocommitted write unless in a transaction (SimDB.latency_channel)
    execution: int
    task_graph: object

    def args(self) -> tuple:
        return (self.execution,)


@dataclass(slots=True)
class ReadWorkflowExecution(Op):
    workflow_execution: int
    for_update: bool = False

    def args(self) -> tuple:
        return (self.workflow_execution, self.for_update)


@dataclass(slots=True)
class UpdateWorkflowExecution(Op):
    """Whole-value overwrite of each supplied column (no append, no compare-and-set)."""

    channel = "db_write"  # timed as an autocommitted write unless in a transaction (SimDB.latency_channel)

    workflow_execution: int
    changes: tuple[tuple[str, object], ...]

    def args(self) -> tuple:
        return (self.workflow_execution, tuple(_brief(k, v) for k, v in self.changes))


def _brief(column: str, value: object) -> str:
    if isinstance(value, tuple) and column != "variables":
        return f"{column}=[{','.join(map(str, value))}]"
    return f"{column}={value}"


# ---- workflow_task_dispatch (SERIALIZED dedupe, spec 2.4) -------------------------------
@dataclass(slots=True)
class InsertDispatchKey(Op):
    """``INSERT ... ON CONFLICT DO NOTHING``: True when this call created the key."""

    channel = "db_write"  # timed as an autocommitted write unless in a transaction (SimDB.latency_channel)

    workflow_execution: int
    task_name: str
    task_index: int | None

    def args(self) -> tuple:
        return (self.workflow_execution, self.task_name, self.task_index)


@dataclass(slots=True)
class ReadDispatchKey(Op):
    """Lock and read a key row: (exists, execution id or None)."""

    workflow_execution: int
    task_name: str
    task_index: int | None

    def args(self) -> tuple:
        return (self.workflow_execution, self.task_name, self.task_index)


@dataclass(slots=True)
class SetDispatchKeyExecution(Op):
    channel = "db_write"  # timed as an autocommitted write unless in a transaction (SimDB.latency_channel)
    workflow_execution: int
    task_name: str
    task_index: int | None
    execution_id: int

    def args(self) -> tuple:
        return (self.workflow_execution, self.task_name, self.task_index, self.execution_id)


# ---- transactions and advisory locks (SERIALIZED) ---------------------------------------
@dataclass(slots=True)
class Begin(Op):
    pass


@dataclass(slots=True)
class Commit(Op):
    channel = "db_commit"  # timed as a flushing commit when the transaction wrote (SimDB.latency_channel)


@dataclass(slots=True)
class Rollback(Op):
    pass


@dataclass(slots=True)
class AdvisoryLock(Op):
    """``pg_advisory_lock(key)``: blocks while another session holds it (a yield point)."""

    key: int
    channel = "lock"

    def args(self) -> tuple:
        return (self.key,)


@dataclass(slots=True)
class AdvisoryUnlock(Op):
    key: int

    def args(self) -> tuple:
        return (self.key,)


# ---- broker ----------------------------------------------------------------------------
@dataclass(slots=True)
class Publish(Op):
    queue: str
    message: Message
    channel = "mq"

    def args(self) -> tuple:
        m = self.message
        return (self.queue, m.summary(), m.kind, m.execution_id)


@dataclass(slots=True)
class Consume(Op):
    """Take the next delivery for ``consumer`` (reading ``queue``); blocks while its prefetch
    buffer is empty."""

    consumer: str
    queue: str
    channel = "consume"

    def args(self) -> tuple:
        return (self.consumer, self.queue)


@dataclass(slots=True)
class Ack(Op):
    consumer: str
    queue: str
    tag: int
    channel = "mq"

    def args(self) -> tuple:
        return (self.consumer, self.queue, self.tag)


@dataclass(slots=True)
class Nack(Op):
    consumer: str
    queue: str
    tag: int
    requeue: bool
    channel = "mq"

    def args(self) -> tuple:
        return (self.consumer, self.queue, self.tag, self.requeue)


# ---- the world outside the stores --------------------------------------------------------
@dataclass(slots=True)
class RunAction(Op):
    """The action itself (spec 3.1 step 5): takes the task's duration, returns ok or not."""

    execution_id: int
    channel = "run"

    def args(self) -> tuple:
        return (self.execution_id,)


@dataclass(slots=True)
class Sleep(Op):
    seconds: float
    channel = "sleep"

    def args(self) -> tuple:
        return (self.seconds,)


# ---- HEAD recovery actors (spec 3.4 and 10) -------------------------------------------------
@dataclass(slots=True)
class RecoveryScan(Op):
    """One recovery rule's candidate rows, oldest first, at most ``limit``:
    ``timeout`` = scheduled and not updated for ``age`` s; ``dead_worker`` = running on a
    worker that is missing or whose heartbeat is older than ``heartbeat_age`` s;
    ``supervisor`` = requested/scheduling/scheduled/canceling, or running on a worker that
    is missing or silent for ``heartbeat_age`` s, and not updated for ``age`` s.
    Returns ((id, status), ...) and whether any row or workflow is still open."""

    rule: str
    age: float
    limit: int
    heartbeat_age: float = 0.0

    def args(self) -> tuple:
        return (self.rule, self.age, self.limit)


@dataclass(slots=True)
class StaleWorkflows(Op):
    """The supervisor's workflow rule: running workflows not updated for ``age`` s whose
    children (by parent) are all terminal, abandoned included, with at least one
    failed/cancelled/timeout/abandoned child -> (W, execution, "failed", True); and
    non-terminal workflows whose own execution is terminal -> (W, execution, its status, False)."""

    age: float
    limit: int

    def args(self) -> tuple:
        return (self.age, self.limit)


# ---- the op catalogue --------------------------------------------------------------------
# Everything racesim knows about an op kind lives in its one entry below: the store method
# that executes it, its lane, whether it writes shared state, whether its result feeds a
# dispatch or release decision, a one-line description, and the shared resources it touches,
# predicted from the op before it runs (``footprint``: partial-order reduction) and observed
# from its trace record after it ran (``observed``: happens-before analysis). One resource
# vocabulary serves both:
#   ("exec", id)             one execution row
#   ("task", W, name)        the rows of one task of workflow W (predicate queries over them)
#   ("rows", W)              all child rows of W (the P9/P12 queries)
#   ("children", parent)     rows whose parent execution is ``parent``
#   ("seq", table)           a table's id sequence (two inserts never commute: ids would swap)
#   ("wf", W)                the workflow_execution row
#   ("key", W, name, index)  a dispatch key (spec 2.4)
#   ("lock", key)            an advisory lock
#   ("queue", name)          a broker queue (delivery order, prefetch credit, round-robin turn)
#   ("all",)                 conflicts with everything (unknown or global effects)

Resource = tuple
Footprint = tuple[frozenset[Resource], frozenset[Resource]]  # (reads, writes)
ALL: Resource = ("all",)
NONE: frozenset[Resource] = frozenset()
EVERYTHING: frozenset[Resource] = frozenset({ALL})


class RowIndex(Protocol):
    """Row facts the resource mapping needs (the simulated DB implements it)."""

    def row_known(self, execution_id: int) -> bool: ...

    def row_task(self, execution_id: int) -> tuple[int, str] | None:
        """(W, task name) of a workflow child row; None for any other row."""
        ...

    def row_parent(self, execution_id: int) -> int | None: ...


LANES = ("db", "mq", "lock", "local")


@dataclass(frozen=True, slots=True)
class OpKind:
    name: str
    lane: str  # one of LANES: where the op happens (database, broker, lock, inside the actor)
    handler: str | None  # the store method that executes it (DB ops); None: the kernel does
    writes: bool  # may change shared state
    decisive: bool  # its result feeds a dispatch or item-release decision (explanations)
    summary: str  # one line, for reports and docs
    footprint: Callable[[Any, RowIndex], Footprint]  # (op, rows) -> (reads, writes), before it runs
    observed: Callable[[tuple, object, RowIndex], Footprint]  # (trace args, result, rows), after


def row_write(rows: RowIndex, eid: object) -> frozenset[Resource]:
    """Writing one execution row also writes the predicates over its task and its workflow."""
    if not isinstance(eid, int) or not rows.row_known(eid):
        return EVERYTHING  # unknown row: an error path; assume the worst
    out: set[Resource] = {("exec", eid)}
    task = rows.row_task(eid)
    if task is not None:
        w, name = task
        out |= {("task", w, name), ("rows", w)}
    parent = rows.row_parent(eid)
    if parent is not None:
        out.add(("children", parent))
    return frozenset(out)


def _r(*res: Resource) -> Footprint:
    return frozenset(res), NONE


def _w(*res: Resource) -> Footprint:
    return NONE, frozenset(res)


def _nothing(*_: object) -> Footprint:
    return NONE, NONE


def _everything(*_: object) -> Footprint:
    return NONE, EVERYTHING


def _failed(result: object) -> bool:
    return isinstance(result, tuple) and len(result) == 2 and result[0] == "error"


def _insert_execution(op: InsertExecution, rows: RowIndex) -> Footprint:
    writes: set[Resource] = {("seq", "execution")}
    wt = op.workflow_task
    if wt is not None:
        writes |= {("task", wt.workflow_execution, wt.task_name), ("rows", wt.workflow_execution)}
    if op.parent is not None:
        writes.add(("children", op.parent))
    return NONE, frozenset(writes)


def _insert_execution_seen(args: tuple, result: object, rows: RowIndex) -> Footprint:
    if not isinstance(result, int):
        return NONE, NONE
    return NONE, row_write(rows, result) | {("seq", "execution")}


def _cas_seen(args: tuple, result: object, rows: RowIndex) -> Footprint:
    return (NONE, row_write(rows, args[0])) if result is True else _r(("exec", args[0]))


def _task_query_seen(args: tuple, result: object, rows: RowIndex) -> Footprint:
    return _r(("task", args[0], args[1]))


def _select_pending_seen(args: tuple, result: object, rows: RowIndex) -> Footprint:
    seen = [("exec", e) for e in result] if isinstance(result, tuple) else []
    return _r(("task", args[0], args[1]), *seen)  # it saw these rows still `requested`


def _insert_key_seen(args: tuple, result: object, rows: RowIndex) -> Footprint:
    key = ("key", *args[:3])
    return frozenset({key}), (frozenset({key}) if result is True else NONE)


def _insert_wf_seen(args: tuple, result: object, rows: RowIndex) -> Footprint:
    return _w(("wf", result), ("seq", "workflow_execution")) if isinstance(result, int) else (NONE, NONE)


def _kind(
    cls: type[Op],
    lane: str,
    summary: str,
    footprint: Callable[[Any, RowIndex], Footprint],
    observed: Callable[[tuple, object, RowIndex], Footprint],
    *,
    handler: str | None = None,
    writes: bool = False,
    decisive: bool = False,
) -> tuple[type[Op], OpKind]:
    return cls, OpKind(cls.__name__, lane, handler, writes, decisive, summary, footprint, observed)


# fmt: off
CATALOGUE: dict[type[Op], OpKind] = dict([
    # execution rows
    _kind(ReadExecution, "db", "read one execution row",
          lambda op, rows: _r(("exec", op.execution_id)),
          lambda a, res, rows: _r(("exec", a[0])), handler="read_execution"),
    _kind(InsertExecution, "db", "insert an execution row (status requested)",
          _insert_execution, _insert_execution_seen, handler="insert_execution", writes=True),
    _kind(SetExecutionStatus, "db", "worker's unconditional status write",
          lambda op, rows: (NONE, row_write(rows, op.execution_id)),
          lambda a, res, rows: (NONE, row_write(rows, a[0])), handler="set_execution_status", writes=True),
    _kind(WriteExecutionRow, "db", "scheduler writes back a whole row snapshot with a new status",
          lambda op, rows: (NONE, row_write(rows, op.snapshot.id)),
          lambda a, res, rows: (NONE, row_write(rows, a[0])), handler="write_execution_row", writes=True),
    _kind(CasExecutionStatus, "db", "compare-and-set of an execution's status",
          lambda op, rows: (NONE, row_write(rows, op.execution_id)),
          _cas_seen, handler="cas_execution_status", writes=True),
    # predicate queries over one task's rows
    _kind(CountInFlight, "db", "count a task's rows in flight, own row excluded",
          lambda op, rows: _r(("task", op.workflow_execution, op.task_name)),
          _task_query_seen, handler="count_in_flight"),
    _kind(SelectPending, "db", "select a task's rows still requested, lowest index first",
          lambda op, rows: _r(("task", op.workflow_execution, op.task_name)),
          _select_pending_seen, handler="select_pending", decisive=True),
    _kind(CountRemaining, "db", "count a task's unfinished rows, own row excluded",
          lambda op, rows: _r(("task", op.workflow_execution, op.task_name)),
          _task_query_seen, handler="count_remaining", decisive=True),
    _kind(AnyItemFailed, "db", "does any row of a task have a failed status",
          lambda op, rows: _r(("task", op.workflow_execution, op.task_name)),
          _task_query_seen, handler="any_item_failed"),
    _kind(CountTaskRows, "db", "count a task's rows, any status (Layer 2)",
          lambda op, rows: _r(("task", op.workflow_execution, op.task_name)),
          _task_query_seen, handler="count_task_rows", decisive=True),
    _kind(ReadItemRows, "db", "read the existing item indexes of a task",
          lambda op, rows: _r(("task", op.workflow_execution, op.task_name)),
          _task_query_seen, handler="read_item_rows"),
    # queries over the whole workflow
    _kind(CountRunning, "db", "count unfinished child rows outside the completed and failed lists",
          lambda op, rows: _r(("rows", op.workflow_execution)),
          lambda a, res, rows: _r(("rows", a[0])), handler="count_running"),
    _kind(ReadChildren, "db", "read every child row of the workflow's execution (result map; HEAD reconciles from it)",
          lambda op, rows: _r(("children", op.parent)),
          lambda a, res, rows: _r(("children", a[0])), handler="read_children", decisive=True),
    # static data
    _kind(ReadAction, "db", "read an action by ref", _nothing, _nothing, handler="read_action"),
    _kind(ReadDefinition, "db", "read the workflow definition (parameter defaults)", _nothing, _nothing,
          handler="read_definition"),
    _kind(ReadWorkers, "db", "read the worker list", _nothing, _nothing, handler="read_workers"),
    # workflow_execution row
    _kind(InsertWorkflowExecution, "db", "create the workflow_execution row",
          _everything, _insert_wf_seen, handler="insert_workflow_execution", writes=True),
    _kind(ReadWorkflowExecution, "db", "read the workflow_execution row (FOR UPDATE under the lock)",
          lambda op, rows: _r(("wf", op.workflow_execution)),
          lambda a, res, rows: _r(("wf", a[0])), handler="read_workflow_execution", decisive=True),
    _kind(UpdateWorkflowExecution, "db", "overwrite whole columns of the workflow_execution row",
          lambda op, rows: _w(("wf", op.workflow_execution)),
          lambda a, res, rows: _w(("wf", a[0])), handler="update_workflow_execution", writes=True),
    # dispatch keys
    _kind(InsertDispatchKey, "db", "insert a dispatch key if absent",
          lambda op, rows: _w(("key", op.workflow_execution, op.task_name, op.task_index)),
          _insert_key_seen, handler="insert_dispatch_key", writes=True, decisive=True),
    _kind(ReadDispatchKey, "db", "lock and read a dispatch key",
          lambda op, rows: _r(("key", op.workflow_execution, op.task_name, op.task_index)),
          lambda a, res, rows: _r(("key", *a[:3])), handler="read_dispatch_key", decisive=True),
    _kind(SetDispatchKeyExecution, "db", "store the created execution's id on its dispatch key",
          lambda op, rows: _w(("key", op.workflow_execution, op.task_name, op.task_index)),
          lambda a, res, rows: _w(("key", *a[:3])), handler="set_dispatch_key_execution", writes=True),
    # transactions (session-local until commit; a rollback undoes whatever the session wrote)
    _kind(Begin, "db", "begin a transaction", _nothing, _nothing, handler="begin"),
    _kind(Commit, "db", "commit the transaction", _nothing, _nothing, handler="commit"),
    _kind(Rollback, "db", "roll the transaction back", _everything, _nothing, handler="rollback", writes=True),
    # advisory locks
    _kind(AdvisoryLock, "lock", "take an advisory lock (blocks while another session holds it)",
          lambda op, rows: _w(("lock", op.key)), lambda a, res, rows: _w(("lock", a[0])), writes=True),
    _kind(AdvisoryUnlock, "lock", "release an advisory lock",
          lambda op, rows: _w(("lock", op.key)), lambda a, res, rows: _w(("lock", a[0])), writes=True),
    # broker
    _kind(Publish, "mq", "publish a message to a queue",
          lambda op, rows: _w(("queue", op.queue)), lambda a, res, rows: _w(("queue", a[0])), writes=True),
    _kind(Consume, "mq", "take the next delivery from a consumer's prefetch buffer",
          lambda op, rows: _w(("queue", op.queue)), lambda a, res, rows: _w(("queue", a[1])), writes=True),
    _kind(Ack, "mq", "acknowledge a delivery",
          lambda op, rows: _w(("queue", op.queue)), lambda a, res, rows: _w(("queue", a[1])), writes=True),
    _kind(Nack, "mq", "reject a delivery (requeue or dead-letter)",
          lambda op, rows: _w(("queue", op.queue)), lambda a, res, rows: _w(("queue", a[1])), writes=True),
    # inside the actor
    _kind(RunAction, "local", "run the action (the task's duration)", _nothing, _nothing),
    _kind(Sleep, "local", "sleep inside the handler", _nothing, _nothing),
    # HEAD recovery scans read every row; declared as touching everything (never reordered)
    _kind(RecoveryScan, "db", "a recovery actor's scan for stale rows (timeout, dead worker, supervisor)",
          _everything, _everything, handler="recovery_scan"),
    _kind(StaleWorkflows, "db", "the supervisor's scan for workflows to fail or to align with their execution",
          _everything, _everything, handler="stale_workflows"),
])
# fmt: on

BY_NAME: dict[str, OpKind] = {kind.name: kind for kind in CATALOGUE.values()}

# The database contract: every op a database store executes, and the name of the store method
# that executes it. sim.db.SimDB and live.pg_store.PgStore both dispatch from it.
DB_OPS: dict[type[Op], str] = {cls: kind.handler for cls, kind in CATALOGUE.items() if kind.handler is not None}


def footprint(op: Op, rows: RowIndex) -> Footprint:
    """(reads, writes) of ``op`` if it ran now; an op kind missing from the catalogue
    conflicts with everything."""
    kind = CATALOGUE.get(type(op))
    return (NONE, EVERYTHING) if kind is None else kind.footprint(op, rows)


def observed(op_name: str, args: tuple, result: object, rows: RowIndex) -> Footprint:
    """(reads, writes) of an executed op, from its trace record; a failed op touched nothing."""
    kind = BY_NAME.get(op_name)
    if kind is None or _failed(result):
        return NONE, NONE
    return kind.observed(args, result, rows)


class StoreError(Exception):
    """A failed round trip (database error, publish failure). ``transport`` marks errors the
    SERIALIZED listener treats as retriable (spec 3.2)."""

    def __init__(self, message: str, transport: bool = False) -> None:
        super().__init__(message)
        self.transport = transport


# A model: a generator that yields ops and receives each op's result (whatever the store
# returns for that op kind), returning what the step computes.
# A model may also yield a ``probe.Decide`` (a guard decision counted for coverage, no store
# round trip).
Model = Generator["Op | Decide", Any, Any]
