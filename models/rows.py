"""Row shapes the ported code reads (spec 2.1, 2.3) and the messages it sends (spec 2.5).

Immutable NamedTuples: a store hands out the stored row itself as a snapshot, and a new
row per write costs a fifth of a frozen dataclass (rows are built on every status write).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class WorkflowTask(NamedTuple):
    workflow_execution: int
    task_name: str
    task_index: int | None = None  # 0-based item index; None for a plain task
    triggered_by: str | None = None
    retry_count: int = 0  # HEAD H0: 0 for the first attempt, n for the n-th retry


class ExecRow(NamedTuple):
    id: int
    action_ref: str | None
    parent: int | None
    status: str
    workflow_task: WorkflowTask | None = None
    result: object = None
    worker: int | None = None
    updated: float = 0.0

    def with_(self, **changes: Any) -> ExecRow:
        return self._replace(**changes)


class WorkflowRow(NamedTuple):
    id: int
    execution: int
    status: str
    completed_tasks: tuple[str, ...] = ()
    failed_tasks: tuple[str, ...] = ()
    current_tasks: tuple[str, ...] = ()
    variables: tuple[tuple[str, object], ...] = ()
    error_message: str | None = None
    task_graph: object = None  # the graph snapshot taken at workflow start (spec 2.3)
    updated: float = 0.0  # last write (the HEAD supervisor's workflow rule ages on it)


# Message kinds on the race path (spec 2.5). Queue names follow attune's.
EXECUTION_REQUESTED = "ExecutionRequested"
WORKER_DISPATCH = "WorkerDispatch"
STATUS_CHANGED = "ExecutionStatusChanged"
EXECUTION_COMPLETED = "ExecutionCompleted"

REQUESTS_QUEUE = "attune.execution.requests.queue"
STATUS_QUEUE = "attune.execution.status.queue"
COMPLETED_QUEUE = "attune.execution.completed.queue"
# The status carried by the timeout monitor's completion before 3dcc3a9: a private payload
# the completion listener cannot decode (spec 3.4).
UNDECODABLE = "undecodable"
# The scheduler's worker choice keeps workers whose last heartbeat is at most this old (attune:
# three 30 s heartbeat intervals, select_worker); none left: the request is unschedulable.
WORKER_STALE_SECONDS = 90.0


def worker_queue(worker_id: int) -> str:
    return f"worker.{worker_id}.executions"


class Message(NamedTuple):
    kind: str
    execution_id: int
    status: str | None = None
    worker_id: int | None = None

    def summary(self) -> str:
        extra = f":{self.status}" if self.status else ""
        return f"{self.kind}#{self.execution_id}{extra}"


class ChildRows(tuple):
    """P9/H12's answer: the rows whose parent is the workflow's execution, oldest first.

    A tuple subclass so the trace can summarise it as the ids alone (``sim.trace``)."""

    __slots__ = ()


class Delivery(NamedTuple):
    tag: int
    message: Message
    redelivered: bool = False
