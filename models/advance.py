"""``advance_workflow``: one port of attune's advance, guard layers as switches (spec 4).

Step labels follow the spec: P* (PRE-FIX body), F1/F2 (the fix's layers), H* (serialized
wrapper). Every ``yield`` is one database round trip or publish, i.e. one point where
other actors may interleave.
"""

from __future__ import annotations

from collections.abc import Generator

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
from racesim.models.rows import REQUESTS_QUEUE, ExecRow, Message, WorkflowRow
from racesim.models.statuses import COMPLETED, FAILED, REQUESTED, TIMEOUT, WORKFLOW_TERMINAL

SERIALIZED_TERMINAL = (COMPLETED, FAILED)  # H5 checks only these two


def advance_workflow(guards: Guards, x: ExecRow) -> Generator:
    """Advance the workflow of the finished child ``x``. Raises StoreError on failure."""
    w = x.workflow_task.workflow_execution
    if not guards.lock:
        yield from _advance(guards, x, None)
        return
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
        for message in outbox:  # H21: still under the advisory lock
            yield Publish("H21", REQUESTS_QUEUE, message)
    except StoreError:
        yield AdvisoryUnlock("H22", w)
        raise
    yield AdvisoryUnlock("H22", w)


def _add(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)


def _advance(guards: Guards, x: ExecRow, outbox: list[Message] | None) -> Generator:
    wt = x.workflow_task
    w, t = wt.workflow_execution, wt.task_name
    ok = x.status == COMPLETED  # P1
    timed_out = x.status == TIMEOUT
    locked = outbox is not None

    we: WorkflowRow = yield ReadWorkflowExecution("H4" if locked else "P2", w, locked)
    if we.status in (SERIALIZED_TERMINAL if locked else WORKFLOW_TERMINAL):  # P3 / H5
        return
    if locked:
        yield ReadExecution("H6", we.execution)
    yield ReadDefinition("P4", w)
    graph: Graph = we.task_graph
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
        if guards.layer1 and (t in we.completed_tasks or t in we.failed_tasks):
            return
        any_failed = yield AnyItemFailed("P6f", w, t)
        _add(failed if any_failed else completed, t)
    else:  # P7
        _add(completed if ok else failed, t)

    if not locked:
        yield ReadExecution("P8", we.execution)
    yield ReadChildren("P9", we.execution)

    variables = dict(we.variables)  # P10
    successors: list[str] = []  # P11: S
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
                if existing:
                    continue
            target_node = graph.nodes[target]
            if target_node.join is not None:  # P11b
                done = sum(1 for p in target_node.inbound if p in completed)
                if done < target_node.join:
                    continue
            if target not in successors:  # P11c
                successors.append(target)

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
    if not successors and running == 0:  # P15: COMPLETE
        status = FAILED if failed else COMPLETED
        error = f"failed tasks: {', '.join(failed)}" if failed else None
        yield UpdateWorkflowExecution("P15", w, (("status", status), ("current_tasks", ()), ("error_message", error)))
        yield ReadExecution("P15", we.execution)
        yield SetExecutionStatus("P15", we.execution, status)


def _release(w: int, t: str, free: int, outbox: list[Message] | None) -> Generator:
    """P6d: (re)request the lowest pending items; the rows stay ``requested``.

    PRE/FIX log and ignore errors here; the serialized advance queues into the outbox.
    """
    try:
        pending = yield SelectPending("P6d", w, t, free)
        for eid in pending:
            row = yield ReadExecution("P6d", eid)
            if outbox is None or row.status == REQUESTED:
                yield from request(eid, outbox, "P6d")
    except StoreError:
        if outbox is not None:
            raise
