"""The executor's scheduler model, driven op by op (sans-IO): what it does after each result."""

from __future__ import annotations

import pytest
from racesim.models import ops
from racesim.models.execution_scheduler import execution_scheduler
from racesim.models.graph import Graph
from racesim.models.guards import Guards
from racesim.models.probe import Decide
from racesim.models.rows import EXECUTION_REQUESTED, REQUESTS_QUEUE, Delivery, ExecRow, Message, WorkflowTask
from racesim.models.statuses import REQUESTED, SCHEDULED, SCHEDULING


def _ops_after_assignment(guards: str, assigned: bool) -> list[type]:
    """Feed one request for a `requested` row through the claiming scheduler, answer the S3
    compare-and-set with ``assigned``, and return the types of the ops that follow it up to
    the next consume."""
    gen = execution_scheduler(Guards.parse(guards), "exec0.requests", Graph({}))
    op = next(gen)
    assert isinstance(op, ops.Consume)
    op = gen.send(Delivery(1, Message(EXECUTION_REQUESTED, 7)))
    answers = {
        ops.ReadExecution: ExecRow(7, "demo.act", 1, REQUESTED, WorkflowTask(1, "t", None, None)),
        ops.ReadAction: None,
        ops.ReadWorkers: (1, 2),
    }
    while not (isinstance(op, ops.CasExecutionStatus) and op.step == "S3"):
        if isinstance(op, ops.CasExecutionStatus):
            result: object = True  # S2: requested -> scheduling, won
        elif isinstance(op, Decide):
            result = None
        else:
            result = answers[type(op)]
        op = gen.send(result)
    assert op.args()[1:3] == (SCHEDULING, SCHEDULED)
    after: list[type] = []
    op = gen.send(assigned)
    while not isinstance(op, ops.Consume):
        after.append(type(op))
        op = gen.send(None)
    assert op.queue == REQUESTS_QUEUE
    return after


@pytest.mark.parametrize("guards", ["serialized", "f93", "head"])
def test_a_row_assigned_at_s3_is_sent_to_its_worker_then_the_request_acked(guards):
    assert _ops_after_assignment(guards, assigned=True) == [ops.Publish, ops.Ack]


@pytest.mark.parametrize("guards", ["serialized", "f93", "head"])
def test_a_row_that_left_scheduling_before_s3_is_not_sent(guards):
    """attune (f93e922 and HEAD): when the scheduling -> scheduled update matches no row, the
    scheduler releases the slot and returns Ok: the request is acked, no worker gets it."""
    assert _ops_after_assignment(guards, assigned=False) == [ops.Ack]
