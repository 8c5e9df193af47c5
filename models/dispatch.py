"""DISPATCH(N) and EXPAND(N): creating successor rows and requesting them (spec 3.3, 5).

``outbox`` is None outside a transaction (publish at once) and a list inside the
serialized advance (queued, published only after COMMIT).
"""

from __future__ import annotations

from racesim.models.graph import Node
from racesim.models.guards import Guards
from racesim.models.ops import (
    InsertDispatchKey,
    InsertExecution,
    Model,
    Publish,
    ReadAction,
    ReadDispatchKey,
    ReadExecution,
    ReadItemRows,
    SetDispatchKeyExecution,
    Sleep,
    StoreError,
)
from racesim.models.probe import Decide
from racesim.models.rows import EXECUTION_REQUESTED, REQUESTS_QUEUE, Message, WorkflowTask
from racesim.models.statuses import REQUESTED

KEY_POLLS = 20  # DISPATCH_TX: poll a half-created key up to 20 x 50 ms
KEY_POLL_SECONDS = 0.05


def request(execution_id: int, outbox: list[Message] | None, step: str) -> Model:
    """Publish an ExecutionRequested now, or queue it for after COMMIT."""
    message = Message(EXECUTION_REQUESTED, execution_id)
    if outbox is None:
        yield Publish(step, REQUESTS_QUEUE, message)
    else:
        outbox.append(message)


def dispatch(
    guards: Guards,
    w: int,
    workflow_exec: int,
    node: Node,
    triggered_by: str | None,
    outbox: list[Message] | None,
) -> Model:
    """DISPATCH(N). Raises StoreError on failure (the advance then adds N to F)."""
    if not node.action:  # D1: a node without an action "succeeds" having created nothing
        return
    yield ReadAction("D2", node.action)
    if node.with_items is not None:  # D3
        yield from expand(guards, w, workflow_exec, node, triggered_by, outbox)
        return
    task = WorkflowTask(w, node.name, None, triggered_by)
    if guards.dedupe:
        eid, status = yield from materialise(w, workflow_exec, node, task)
        if status == REQUESTED:  # D6': new or pre-existing row still waiting
            yield from request(eid, outbox, "D6'")
        return
    eid = yield InsertExecution("D5", node.action, workflow_exec, task)
    yield from request(eid, outbox, "D6")


def expand(
    guards: Guards,
    w: int,
    workflow_exec: int,
    node: Node,
    triggered_by: str | None,
    outbox: list[Message] | None,
) -> Model:
    """EXPAND(N): every item row up front, the first ``concurrency`` requested."""
    count = node.with_items or 0
    first = min(count, node.concurrency or 1)
    existing: tuple[int, ...] = ()
    if guards.dedupe:
        existing = yield ReadItemRows("E3", w, node.name)
    ids: list[int] = []
    for index in range(count):
        task = WorkflowTask(w, node.name, index, triggered_by)
        if guards.dedupe:
            if index in existing:
                ids.append(-1)
                continue
            eid, _ = yield from materialise(w, workflow_exec, node, task)
        else:
            eid = yield InsertExecution("E4", node.action, workflow_exec, task)
        ids.append(eid)
    for index in range(first):
        eid = ids[index]
        if eid < 0:
            continue
        row = yield ReadExecution("E5", eid)
        if outbox is None and not guards.dedupe:
            yield from request(eid, None, "E5")
        elif row.status == REQUESTED:
            yield from request(eid, outbox, "E5")


def materialise(w: int, workflow_exec: int, node: Node, task: WorkflowTask) -> Model:
    """D5' (SERIALIZED): the unique dispatch key decides who creates the row.

    Returns (execution id, its status as seen now).
    """
    for _claim in range(3):
        inserted = yield InsertDispatchKey("D5'", w, task.task_name, task.task_index)
        yield Decide("D5'", "dedupe", not inserted)  # coverage only (models/probe.py)
        if inserted:
            eid = yield InsertExecution("D5'", node.action, workflow_exec, task)
            yield SetDispatchKeyExecution("D5'", w, task.task_name, task.task_index, eid)
            return eid, REQUESTED
        for _poll in range(KEY_POLLS):
            exists, eid = yield ReadDispatchKey("D5'", w, task.task_name, task.task_index)
            if not exists:
                break  # the key vanished (its creator rolled back): claim again
            if eid is not None:
                row = yield ReadExecution("D5'", eid)
                return eid, row.status
            yield Sleep("D5'", KEY_POLL_SECONDS)
        else:
            raise StoreError(f"dispatch key {task.task_name}[{task.task_index}] never materialised")
    raise StoreError(f"dispatch key {task.task_name}[{task.task_index}] kept vanishing")
