"""The executor's scheduler: consumes ExecutionRequested, hands rows to workers (spec 3.3)."""

from __future__ import annotations

from racesim.models.graph import Graph
from racesim.models.guards import Guards
from racesim.models.ops import (
    Ack,
    CasExecutionStatus,
    Consume,
    Model,
    Nack,
    Publish,
    ReadAction,
    ReadExecution,
    ReadWorkers,
    StoreError,
    WriteExecutionRow,
)
from racesim.models.probe import Decide
from racesim.models.rows import (
    COMPLETED_QUEUE,
    EXECUTION_COMPLETED,
    REQUESTS_QUEUE,
    WORKER_DISPATCH,
    Delivery,
    Message,
    worker_queue,
)
from racesim.models.starter import start_workflow
from racesim.models.statuses import FAILED, REQUESTED, SCHEDULED, SCHEDULING

STALE_CLAIM_SECONDS = 30.0


def execution_scheduler(guards: Guards, consumer: str, graph: Graph) -> Model:
    """``graph``: the workflow a request for a workflow's own execution starts (S2)."""
    turn = 0  # round-robin position, in the executor's memory
    while True:
        delivery: Delivery = yield Consume("S0", consumer, REQUESTS_QUEUE)
        eid = delivery.message.execution_id
        try:
            row = yield ReadExecution("S1", eid)
            if guards.claim:
                verdict = yield from _claim(eid, row.status)
                yield Decide("S2", "claim", verdict != "go")  # coverage only (models/probe.py)
                if verdict == "requeue":
                    yield Nack("S1", consumer, REQUESTS_QUEUE, delivery.tag, True)
                    continue
                if verdict == "drop":
                    yield Ack("S1", consumer, REQUESTS_QUEUE, delivery.tag)
                    continue
            yield ReadAction("S2", row.action_ref)
            if row.workflow_task is None:  # the workflow's own execution: start it here
                yield from start_workflow(guards, eid, graph)
                yield Ack("S6", consumer, REQUESTS_QUEUE, delivery.tag)
                continue
            workers = yield ReadWorkers("S3")
            if not workers:  # every worker's heartbeat is stale: unschedulable
                if not guards.claim:
                    raise StoreError("no worker available")  # PRE/FIX: the request is dead-lettered
                # F93/HEAD fail the row and announce it (fail_unschedulable_execution)
                if (yield CasExecutionStatus("S3", eid, SCHEDULING, FAILED)):
                    yield Publish("S3", COMPLETED_QUEUE, Message(EXECUTION_COMPLETED, eid, FAILED))
                yield Ack("S6", consumer, REQUESTS_QUEUE, delivery.tag)
                continue
            worker = workers[turn % len(workers)]
            turn += 1
            message = Message(WORKER_DISPATCH, eid, worker_id=worker)
            if guards.claim:
                # The row may have left scheduling since S2 (a stale claim taken over, the
                # supervisor's abandon): then no worker gets it, and the request is acked.
                assigned = yield CasExecutionStatus("S3", eid, SCHEDULING, SCHEDULED, worker)
                if assigned:
                    try:
                        yield Publish("S4", worker_queue(worker), message)
                    except StoreError:
                        yield CasExecutionStatus("S4", eid, SCHEDULED, REQUESTED)
                        raise
            else:
                # No precondition: a duplicate request re-schedules (and may un-finish) the row.
                yield WriteExecutionRow("S4", row, SCHEDULED, worker)
                yield Publish("S5", worker_queue(worker), message)
        except StoreError:
            yield Nack("S6", consumer, REQUESTS_QUEUE, delivery.tag, False)  # dead-lettered
            continue
        yield Ack("S6", consumer, REQUESTS_QUEUE, delivery.tag)


def _claim(eid: int, status: str) -> Model:
    """SERIALIZED S1/S2: returns 'go', 'drop' or 'requeue'."""
    if status == SCHEDULING:
        won = yield CasExecutionStatus("S1", eid, SCHEDULING, SCHEDULING, None, STALE_CLAIM_SECONDS)
        return "go" if won else "requeue"
    if status != REQUESTED:
        return "drop"
    won = yield CasExecutionStatus("S2", eid, REQUESTED, SCHEDULING)
    return "go" if won else "drop"
