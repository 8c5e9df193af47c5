"""``advance_workflow``: one port of attune's advance, guard layers as switches (spec 4).

Step labels follow the spec: P* (PRE-FIX body), F1/F2 (the fix's layers), H* (serialized
wrapper and HEAD's additions). Every ``yield`` is one database round trip or publish, i.e.
one point where other actors may interleave. Each HEAD-only step is a switch on ``Guards``
(``parent_info`` H1, ``cancel_halt`` H7, ``reconcile`` H13, ``defer_join`` D, ``handled``
H15, ``nested_completion`` H19/H21, ``release_one`` H10), so ``head`` minus one switch is
the same code with that step left out.
"""

from __future__ import annotations

from typing import cast

from racesim.models.dispatch import dispatch, request
from racesim.models.graph import Graph, fires
from racesim.models.guards import Guards
from racesim.models.ops import (
    AdvisoryLock,
    AdvisoryUnlock,
    AnyItemFailed,
    Begin,
    Commit,
    CountInFlight,
    CountRemaining,
    CountRunning,
    CountTaskRows,
    Model,
    Publish,
    ReadChildren,
    ReadDefinition,
    ReadExecution,
    ReadWorkflowExecution,
    Rollback,
    SelectPending,
    SetExecutionStatus,
    StoreError,
    UpdateWorkflowExecution,
)
from racesim.models.probe import Decide
from racesim.models.rows import (
    COMPLETED_QUEUE,
    EXECUTION_COMPLETED,
    REQUESTS_QUEUE,
    ChildRows,
    ExecRow,
    Message,
    WorkflowRow,
    WorkflowTask,
)
from racesim.models.statuses import (
    ABANDONED,
    CANCELED_OR_CANCELING,
    CANCELLED,
    COMPLETED,
    FAILED,
    RECOVERY_TERMINAL,
    REQUESTED,
    TIMEOUT,
    WORKFLOW_TERMINAL,
)

SERIALIZED_TERMINAL = (COMPLETED, FAILED)  # H5 checks only these two
# H13: what reconciliation counts as terminal (canceling is not), and as a failed attempt.
RECONCILE_TERMINAL = RECOVERY_TERMINAL
RECONCILE_FAILED = (FAILED, TIMEOUT, CANCELLED, ABANDONED)


def advance_workflow(guards: Guards, x: ExecRow) -> Model:
    """Advance the workflow of the finished child ``x``. Raises StoreError on failure."""
    assert x.workflow_task is not None, "only workflow children are advanced"
    w = x.workflow_task.workflow_execution
    if not guards.lock:
        yield from _advance(guards, x, None)
        return
    if guards.parent_info and x.parent is not None:
        # H1: attune joins workflow_execution W to its execution, for logging only, on
        # the pool (outside the lock); x.parent is that execution.
        yield ReadExecution("H1", x.parent)
    yield AdvisoryLock("H2", w)
    try:
        yield Begin("H3")
        outbox: list[Message] = []
        try:
            yield from _advance(guards, x, outbox)
        except StoreError:
            yield Rollback("H20")
            raise
        yield Commit("H20")
        if guards.parent_info:  # HEAD logs each queued child, re-read, before publishing
            for message in outbox:
                if message.kind != EXECUTION_COMPLETED:
                    yield ReadExecution("H21", message.execution_id)
        for message in outbox:  # H21: still under the advisory lock
            queue = COMPLETED_QUEUE if message.kind == EXECUTION_COMPLETED else REQUESTS_QUEUE
            yield Publish("H21", queue, message)
    except StoreError:
        yield AdvisoryUnlock("H22", w)
        raise
    yield AdvisoryUnlock("H22", w)
    if guards.parent_info:
        yield ReadWorkflowExecution("H22", w)  # HEAD logs the workflow's final status


def _add(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)


def _advance(guards: Guards, x: ExecRow, outbox: list[Message] | None) -> Model:
    wt = x.workflow_task
    assert wt is not None, "only workflow children are advanced"
    w, t = wt.workflow_execution, wt.task_name
    ok = x.status == COMPLETED  # P1
    timed_out = x.status == TIMEOUT
    locked = outbox is not None

    we: WorkflowRow = yield ReadWorkflowExecution("H4" if locked else "P2", w, locked)
    if we.status in (SERIALIZED_TERMINAL if locked else WORKFLOW_TERMINAL):  # P3 / H5
        return
    parent: ExecRow | None = None
    if locked:
        parent = yield ReadExecution("H6", we.execution)
        if guards.cancel_halt and (
            we.status in CANCELED_OR_CANCELING or parent.status in CANCELED_OR_CANCELING or x.status in CANCELED_OR_CANCELING
        ):
            # H7: a hard stop. x is the listener's snapshot from before the lock; the
            # running count uses WE's lists as read (no reconciliation).
            if we.status == CANCELLED:
                running = yield CountRunning("H7", w, we.completed_tasks, we.failed_tasks)
                if running == 0:
                    yield SetExecutionStatus("H7", we.execution, CANCELLED)
            return
    yield ReadDefinition("P4", w)
    graph = cast(Graph, we.task_graph)
    node = graph.nodes[t]
    completed = list(we.completed_tasks)  # P5: copies of the P2 snapshot
    failed = list(we.failed_tasks)

    if wt.task_index is not None:  # P6: a with_items item
        yield ReadExecution("P6a", we.execution)
        inflight = yield CountInFlight("P6b", w, t, x.id)
        free = max(0, (node.concurrency or 1) - inflight)  # P6c
        if guards.release_one:
            free = min(1, free)
        if free > 0:
            yield from _release(w, t, free, outbox)
        remaining = yield CountRemaining("P6e", w, t, x.id)
        if remaining:
            return
        # F1 checks the snapshot read at P2, never a fresh read.
        if guards.layer1:
            stop = t in we.completed_tasks or t in we.failed_tasks
            yield Decide("F1", "layer1", stop)  # coverage only (models/probe.py)
            if stop:
                return
        any_failed = yield AnyItemFailed("P6f", w, t)
        _add(failed if any_failed else completed, t)
    else:  # P7
        _add(completed if ok else failed, t)

    if not locked:
        yield ReadExecution("P8", we.execution)
    children: ChildRows = yield ReadChildren("P9", we.execution)
    if guards.reconcile:  # H13: from the rows P9 already read, no extra round trip
        before = (tuple(completed), tuple(failed))
        reconcile(w, children, completed, failed)
        yield Decide("H13", "reconcile", before != (tuple(completed), tuple(failed)))  # coverage only

    variables = dict(we.variables)  # P10
    successors: list[str] = []  # P11: S
    deferred: list[str] = []  # HEAD's D: joins this advance left unmet (never persisted)
    for transition in node.transitions:
        if not fires(transition.kind, ok, timed_out):
            continue
        for name, value in transition.publish:
            variables[name] = value
        for target in transition.do:
            if target in completed or target in failed:  # P11a
                continue
            if guards.layer2:  # F2: sits before the join check
                existing = yield CountTaskRows("F2", w, target)
                yield Decide("F2", "layer2", bool(existing))
                if existing:
                    continue
            target_node = graph.nodes[target]
            if target_node.join is not None:  # P11b
                done = sum(1 for p in target_node.inbound if p in completed)
                if guards.defer_join:  # coverage only: did the join keep the workflow open?
                    yield Decide("P11b", "defer_join", done < target_node.join)
                if done < target_node.join:
                    if guards.defer_join and target not in deferred:
                        deferred.append(target)
                    continue
            if target not in successors:  # P11c
                successors.append(target)
    if guards.handled and not ok:  # H15 (timeouts too)
        handled = bool(successors) and t in failed
        yield Decide("H15", "handled", handled)  # coverage only (models/probe.py)
        if handled:
            failed.remove(t)
            _add(completed, t)

    running = yield CountRunning("P12", w, tuple(completed), tuple(failed))
    for target in successors:  # P13: created and published BEFORE C is persisted
        try:
            yield from dispatch(guards, w, we.execution, graph.nodes[target], t, outbox)
        except StoreError:
            _add(failed, target)

    yield UpdateWorkflowExecution(
        "P14",
        w,
        (
            ("current_tasks", tuple(successors)),
            ("completed_tasks", tuple(completed)),
            ("failed_tasks", tuple(failed)),
            ("variables", tuple(variables.items())),
        ),
    )
    if not successors and running == 0 and not deferred:  # P15 / H19: COMPLETE
        status = FAILED if failed else COMPLETED
        error = f"failed tasks: {', '.join(failed)}" if failed else None
        yield UpdateWorkflowExecution("P15", w, (("status", status), ("current_tasks", ()), ("error_message", error)))
        own = yield ReadExecution("P15", we.execution)
        yield SetExecutionStatus("P15", we.execution, status)
        if guards.nested_completion and outbox is not None and own.parent is not None:
            # H19: a nested workflow tells its parent workflow, after COMMIT (H21).
            outbox.append(Message(EXECUTION_COMPLETED, we.execution, status))


def reconcile(w: int, children: tuple[ExecRow, ...], completed: list[str], failed: list[str]) -> None:
    """H13 (spec 6.4 and 10): decide every task name with child rows of ``w`` from the rows.

    Latest attempt per (name, index) = highest retry_count, ties to the later-created row
    (rows come oldest first). A name with a non-terminal latest attempt is left alone; one
    with a failed/timeout/cancelled/abandoned latest attempt goes to C if any child row of
    ``w`` was triggered by it ("handled"), else to F; an all-completed name goes to C.
    """
    latest: dict[tuple[str, int | None], ExecRow] = {}
    handled: set[str] = set()
    for row in children:
        wt = row.workflow_task
        if wt is None or wt.workflow_execution != w:
            continue
        if wt.triggered_by is not None:
            handled.add(wt.triggered_by)
        key = (wt.task_name, wt.task_index)
        seen = latest.get(key)
        if seen is None or wt.retry_count >= cast(WorkflowTask, seen.workflow_task).retry_count:
            latest[key] = row
    open_names: set[str] = set()
    failed_names: set[str] = set()
    names: list[str] = []  # first-seen order (attune re-adds in hash order: only the error text differs)
    for (name, _index), row in latest.items():
        if name not in names:
            names.append(name)
        if row.status not in RECONCILE_TERMINAL:
            open_names.add(name)
        elif row.status in RECONCILE_FAILED:
            failed_names.add(name)
    for name in names:
        if name in open_names:
            continue
        to_completed = name not in failed_names or name in handled
        if name in completed:
            completed.remove(name)
        if name in failed:
            failed.remove(name)
        (completed if to_completed else failed).append(name)


def _release(w: int, t: str, free: int, outbox: list[Message] | None) -> Model:
    """P6d: (re)request the lowest pending items; the rows stay ``requested``.

    PRE/FIX log and ignore errors here; the serialized advance queues into the outbox.
    """
    try:
        pending = yield SelectPending("P6d", w, t, free)
        for eid in pending:
            row = yield ReadExecution("P6d", eid)
            if outbox is not None:  # the serialized advance re-checks the row under the lock
                yield Decide("P6d", "lock", row.status != REQUESTED)
            if outbox is None or row.status == REQUESTED:
                yield from request(eid, outbox, "P6d")
    except StoreError:
        if outbox is not None:
            raise
