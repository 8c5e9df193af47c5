"""The executor's scheduler model, driven op by op (sans-IO): what it does after each result."""

from __future__ import annotations

import pytest
from racesim.models import ops
from racesim.models.execution_scheduler import execution_scheduler
from racesim.models.graph import Graph
from racesim.models.guards import Guards
from racesim.models.rows import (
    COMPLETED_QUEUE,
    EXECUTION_REQUESTED,
    REQUESTS_QUEUE,
    Delivery,
    ExecRow,
    Message,
    WorkflowTask,
    worker_queue,
)
from racesim.models.statuses import FAILED, REQUESTED, SCHEDULED, SCHEDULING


def _ops_after_workers(guards: str, workers: tuple[int, ...], assigned: bool = True) -> list[ops.Op]:
    """Feed one request for a `requested` item row through the scheduler, answer S3's worker
    read with ``workers`` and its compare-and-set with ``assigned``; the ops that follow,
    up to the next consume."""
    gen = execution_scheduler(Guards.parse(guards), "exec0.requests", Graph({}))
    op = next(gen)
    op = gen.send(Delivery(1, Message(EXECUTION_REQUESTED, 7)))
    row = ExecRow(7, "demo.act", 1, REQUESTED, WorkflowTask(1, "t", None, None))
    while not isinstance(op, ops.ReadWorkers):
        op = gen.send(row if isinstance(op, ops.ReadExecution) else True if isinstance(op, ops.CasExecutionStatus) else None)
    after: list[ops.Op] = []
    result: object = workers
    while True:
        op = gen.send(result)
        if isinstance(op, ops.Consume):
            assert op.queue == REQUESTS_QUEUE
            return after
        after.append(op)
        result = assigned if isinstance(op, ops.CasExecutionStatus) else None


@pytest.mark.parametrize("guards", ["serialized", "f93", "head"])
def test_with_no_fresh_worker_f93_and_head_fail_the_row_and_announce_it(guards):
    """attune's fail_unschedulable_execution: scheduling -> failed, then an ExecutionCompleted."""
    after = _ops_after_workers(guards, ())
    assert [type(o) for o in after] == [ops.CasExecutionStatus, ops.Publish, ops.Ack]
    assert after[0].args()[1:3] == (SCHEDULING, FAILED)
    assert after[1].queue == COMPLETED_QUEUE and after[1].message.status == FAILED
    assert [type(o) for o in _ops_after_workers(guards, (), assigned=False)] == [ops.CasExecutionStatus, ops.Ack]


@pytest.mark.parametrize("guards", ["pre", "fix", "both"])
def test_with_no_fresh_worker_pre_and_fix_dead_letter_the_request(guards):
    after = _ops_after_workers(guards, ())
    assert [type(o) for o in after] == [ops.Nack] and after[0].args()[-1] is False


def test_a_fresh_worker_gets_the_row():
    after = _ops_after_workers("head", (2,))
    assert [type(o) for o in after] == [ops.CasExecutionStatus, ops.Publish, ops.Ack]
    assert after[1].queue == worker_queue(2)


def _ops_after_assignment(guards: str, assigned: bool) -> list[type]:
    """The claiming scheduler with two fresh workers: the types of the ops after the S3
    compare-and-set (scheduling -> scheduled), answered with ``assigned``."""
    cas, *after = _ops_after_workers(guards, (1, 2), assigned)
    assert isinstance(cas, ops.CasExecutionStatus) and cas.step == "S3"
    assert cas.args()[1:3] == (SCHEDULING, SCHEDULED)
    return [type(o) for o in after]


@pytest.mark.parametrize("guards", ["serialized", "f93", "head"])
def test_a_row_assigned_at_s3_is_sent_to_its_worker_then_the_request_acked(guards):
    assert _ops_after_assignment(guards, assigned=True) == [ops.Publish, ops.Ack]


@pytest.mark.parametrize("guards", ["serialized", "f93", "head"])
def test_a_row_that_left_scheduling_before_s3_is_not_sent(guards):
    """attune (f93e922 and HEAD): when the scheduling -> scheduled update matches no row, the
    scheduler releases the slot and returns Ok: the request is acked, no worker gets it."""
    assert _ops_after_assignment(guards, assigned=False) == [ops.Ack]
