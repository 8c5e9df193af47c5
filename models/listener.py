"""The executor's completion listener (spec 3.2): one message at a time, ack after."""

from __future__ import annotations

from typing import cast

from racesim.models.advance import advance_workflow
from racesim.models.graph import Graph
from racesim.models.guards import Guards
from racesim.models.ops import (
    Ack,
    Consume,
    InsertExecution,
    Model,
    Nack,
    Publish,
    ReadExecution,
    ReadWorkflowExecution,
    Sleep,
    StoreError,
)
from racesim.models.rows import (
    COMPLETED_QUEUE,
    EXECUTION_REQUESTED,
    REQUESTS_QUEUE,
    UNDECODABLE,
    Delivery,
    ExecRow,
    Message,
    WorkflowRow,
)
from racesim.models.statuses import ITEM_FAILED

RETRIED, NO_RETRY, REQUEUE = "retried", "no-retry", "requeue"


def completion_listener(guards: Guards, consumer: str) -> Model:
    while True:
        delivery: Delivery = yield Consume("L0", consumer, COMPLETED_QUEUE)
        if delivery.message.status == UNDECODABLE:
            # the pre-3dcc3a9 timeout-monitor payload: decoding fails, not retriable
            yield Nack("L0", consumer, COMPLETED_QUEUE, delivery.tag, False)
            continue
        try:
            x = yield ReadExecution("L1", delivery.message.execution_id)
        except StoreError:
            # Not retriable: dead-lettered, never requeued.
            yield Nack("L1", consumer, COMPLETED_QUEUE, delivery.tag, False)
            continue
        if x.workflow_task is not None:
            if guards.retry:
                outcome = yield from retry_hook(x)
                if outcome == REQUEUE:
                    yield Nack("H0", consumer, COMPLETED_QUEUE, delivery.tag, True)
                    continue
                if outcome == RETRIED:  # no advance, no inquiry check, no slot release
                    yield Ack("L4", consumer, COMPLETED_QUEUE, delivery.tag)
                    continue
            try:
                yield from advance_workflow(guards, x)
            except StoreError as error:
                # SERIALIZED: transport errors requeue; everything else (and every error
                # in PRE/FIX) is logged and swallowed, and the message is acked.
                if guards.lock and error.transport:
                    yield Nack("L3", consumer, COMPLETED_QUEUE, delivery.tag, True)
                    continue
        yield Ack("L4", consumer, COMPLETED_QUEUE, delivery.tag)


def retry_hook(x: ExecRow) -> Model:
    """H0 (HEAD, spec 10): a failed or timed-out attempt with retries left gets a new row.

    WE is read without the lock and its status is not checked. The retry row (same name,
    index and triggered_by, retry_count + 1, no dispatch key) is inserted BEFORE the sleep,
    and the backoff sleep happens inside this single sequential handler. A database error
    falls through to the normal advance; a publish (broker) error requeues the message,
    whose redelivery inserts a second retry row.
    """
    wt = x.workflow_task
    if wt is None or x.status not in ITEM_FAILED:
        return NO_RETRY
    try:
        we: WorkflowRow = yield ReadWorkflowExecution("H0", wt.workflow_execution)
        graph = cast(Graph, we.task_graph)
        node = graph.nodes.get(wt.task_name)
        if node is None or node.retry is None or wt.retry_count >= node.retry.count:
            return NO_RETRY  # attune: retry_count >= the row's max_retries (= retry.count)
        attempt = wt.retry_count + 1
        retry = yield InsertExecution("H0", x.action_ref or "", x.parent, wt._replace(retry_count=attempt))
    except StoreError:
        return NO_RETRY
    delay = node.retry.delay_for(attempt)
    if delay > 0:
        yield Sleep("H0", delay)
    try:
        yield Publish("H0", REQUESTS_QUEUE, Message(EXECUTION_REQUESTED, retry))
    except StoreError as error:
        return REQUEUE if error.transport else NO_RETRY
    return RETRIED
