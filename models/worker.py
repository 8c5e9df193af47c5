"""A worker execution slot (spec 3.1): terminal DB write first, completion publish after."""

from __future__ import annotations

from racesim.models.guards import Guards
from racesim.models.ops import Consume, Model, Publish, ReadExecution, RunAction, SetExecutionStatus, StoreError
from racesim.models.rows import (
    COMPLETED_QUEUE,
    EXECUTION_COMPLETED,
    STATUS_CHANGED,
    STATUS_QUEUE,
    Delivery,
    ExecRow,
    Message,
)
from racesim.models.statuses import CANCELING, CANCELLED, COMPLETED, FAILED, RUNNING

NO_GUARDS = Guards()


def worker_slot(consumer: str, queue: str, guards: Guards = NO_GUARDS) -> Model:
    """One concurrency permit of a worker. Its consumer acks on delivery, before the run."""
    while True:
        delivery: Delivery = yield Consume("W1", consumer, queue)
        yield from run_execution(delivery.message.execution_id, guards.precheck)


def run_execution(eid: int, precheck: bool = False) -> Model:
    if precheck:  # HEAD 3.1 step 2 (spec 10)
        row: ExecRow = yield ReadExecution("W2", eid)
        if row.status == CANCELLED:
            return  # skipped silently
        if row.status == CANCELING:
            # Reported as cancelled, but nothing is written: the row stays canceling.
            yield from _publish_quietly("W2", STATUS_QUEUE, Message(STATUS_CHANGED, eid, CANCELLED))
            yield from _publish_quietly("W2", COMPLETED_QUEUE, Message(EXECUTION_COMPLETED, eid, CANCELLED))
            return
        # Any other status (failed, abandoned included) runs, and its terminal write overwrites the row.
    yield ReadExecution("W3", eid)
    yield from _publish_quietly("W3", STATUS_QUEUE, Message(STATUS_CHANGED, eid, RUNNING))
    yield SetExecutionStatus("W4", eid, RUNNING)
    yield ReadExecution("W5", eid)
    ok = yield RunAction("W5", eid)
    status = COMPLETED if ok else FAILED
    try:
        yield SetExecutionStatus("W6", eid, status, {"ok": ok})
    except StoreError:
        status = FAILED  # the row stays running; a failed completion is still published
    yield ReadExecution("W7", eid)
    yield from _publish_quietly("W7", STATUS_QUEUE, Message(STATUS_CHANGED, eid, status))
    yield ReadExecution("W8", eid)
    yield from _publish_quietly("W8", COMPLETED_QUEUE, Message(EXECUTION_COMPLETED, eid, status))


def _publish_quietly(step: str, queue: str, message: Message) -> Model:
    """Worker publish failures are only logged: no retry, no outbox."""
    try:
        yield Publish(step, queue, message)
    except StoreError:
        pass
