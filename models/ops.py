"""Operations: every store round trip the ported code makes, described as data.

A model yields an ``Op`` and receives its result. The simulator executes ops on simulated
stores (``sim.db``, ``sim.broker``); the live driver executes the same ops as SQL and AMQP.
``step`` names the spec step (``P6e``, ``F2``, ``S4`` ...) so traces read like the spec.
``channel`` selects the latency distribution and the kind of yield point.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    action_ref: str
    parent: int | None
    workflow_task: WorkflowTask | None
    status: str = "requested"

    def args(self) -> tuple:
        wt = self.workflow_task
        return (wt.task_name, wt.task_index) if wt else (self.action_ref,)


@dataclass(slots=True)
class SetExecutionStatus(Op):
    """The worker's unconditional status write (spec 3.1 steps 4 and 6)."""

    execution_id: int
    status: str
    result: object = None

    def args(self) -> tuple:
        return (self.execution_id, self.status)


@dataclass(slots=True)
class WriteExecutionRow(Op):
    """PRE/FIX scheduler S4: writes back the whole snapshot read at S1, with a new status."""

    snapshot: ExecRow
    status: str
    worker: int | None

    def args(self) -> tuple:
        return (self.snapshot.id, self.status, self.worker)


@dataclass(slots=True)
class CasExecutionStatus(Op):
    """SERIALIZED scheduler claim: ``UPDATE ... SET status = new WHERE status = expect``."""

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

    workflow_execution: int
    task_name: str
    task_index: int | None

    def args(self) -> tuple:
        return (self.task_name, self.task_index)


@dataclass(slots=True)
class ReadDispatchKey(Op):
    """Lock and read a key row: (exists, execution id or None)."""

    workflow_execution: int
    task_name: str
    task_index: int | None

    def args(self) -> tuple:
        return (self.task_name, self.task_index)


@dataclass(slots=True)
class SetDispatchKeyExecution(Op):
    workflow_execution: int
    task_name: str
    task_index: int | None
    execution_id: int

    def args(self) -> tuple:
        return (self.task_name, self.task_index, self.execution_id)


# ---- transactions and advisory locks (SERIALIZED) ---------------------------------------
@dataclass(slots=True)
class Begin(Op):
    pass


@dataclass(slots=True)
class Commit(Op):
    pass


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
        return (self.queue, self.message.summary())


@dataclass(slots=True)
class Consume(Op):
    """Take the next delivery for ``consumer``; blocks while its prefetch buffer is empty."""

    consumer: str
    channel = "consume"

    def args(self) -> tuple:
        return (self.consumer,)


@dataclass(slots=True)
class Ack(Op):
    consumer: str
    tag: int
    channel = "mq"

    def args(self) -> tuple:
        return (self.consumer, self.tag)


@dataclass(slots=True)
class Nack(Op):
    consumer: str
    tag: int
    requeue: bool
    channel = "mq"

    def args(self) -> tuple:
        return (self.consumer, self.tag, self.requeue)


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


# The database contract: every op a database store executes, and the name of the store
# method that executes it. sim.db.SimDB and live.pg_store.PgStore both dispatch from it.
DB_OPS: dict[type[Op], str] = {
    ReadExecution: "read_execution",
    InsertExecution: "insert_execution",
    SetExecutionStatus: "set_execution_status",
    WriteExecutionRow: "write_execution_row",
    CasExecutionStatus: "cas_execution_status",
    CountInFlight: "count_in_flight",
    SelectPending: "select_pending",
    CountRemaining: "count_remaining",
    AnyItemFailed: "any_item_failed",
    CountTaskRows: "count_task_rows",
    CountRunning: "count_running",
    ReadChildren: "read_children",
    ReadItemRows: "read_item_rows",
    ReadAction: "read_action",
    ReadDefinition: "read_definition",
    ReadWorkers: "read_workers",
    InsertWorkflowExecution: "insert_workflow_execution",
    ReadWorkflowExecution: "read_workflow_execution",
    UpdateWorkflowExecution: "update_workflow_execution",
    InsertDispatchKey: "insert_dispatch_key",
    ReadDispatchKey: "read_dispatch_key",
    SetDispatchKeyExecution: "set_dispatch_key_execution",
    Begin: "begin",
    Commit: "commit",
    Rollback: "rollback",
}


class StoreError(Exception):
    """A failed round trip (database error, publish failure). ``transport`` marks errors the
    SERIALIZED listener treats as retriable (spec 3.2)."""

    def __init__(self, message: str, transport: bool = False) -> None:
        super().__init__(message)
        self.transport = transport
