"""The workflow start runs in the handler of the executor scheduler that takes the workflow's
request (attune: process_claimed_execution -> process_workflow_execution), so that scheduler
takes no other request until every entry task is requested."""

from __future__ import annotations

import dataclasses

import pytest
from racesim.engine.runner import config_for, run_one
from racesim.models import ops
from racesim.models.execution_scheduler import execution_scheduler
from racesim.models.guards import Guards
from racesim.models.rows import EXECUTION_REQUESTED, REQUESTS_QUEUE, Delivery, ExecRow, Message
from racesim.models.statuses import REQUESTED, RUNNING
from racesim.scenarios.loader import load
from racesim.sim.config import Faults


@pytest.mark.parametrize("guards", ["none", "both", "serialized", "head"])
def test_a_request_for_the_workflows_own_execution_starts_it_before_the_next_request(guards):
    graph = load("join-barrier").graph
    gen = execution_scheduler(Guards.parse(guards), "exec0.requests", graph)
    op = next(gen)
    op = gen.send(Delivery(1, Message(EXECUTION_REQUESTED, 1)))
    seen: list[ops.Op] = []
    next_id = 2
    while not isinstance(op, ops.Consume):
        seen.append(op)
        if isinstance(op, ops.ReadExecution):
            result: object = ExecRow(1, "demo.join", None, REQUESTED)  # no workflow task: the workflow itself
        elif isinstance(op, ops.InsertExecution | ops.InsertWorkflowExecution):
            result, next_id = next_id, next_id + 1
        elif isinstance(op, ops.CasExecutionStatus | ops.InsertDispatchKey):
            result = True
        else:
            result = None
        op = gen.send(result)
    kinds = [type(o) for o in seen]
    assert ops.ReadWorkers not in kinds  # not sent to a worker
    assert isinstance(seen[-1], ops.Ack) and seen[-1].step == "S6"  # acked after the start, as attune's handler
    first = kinds.index(ops.InsertWorkflowExecution)
    assert isinstance(seen[first + 1], ops.SetExecutionStatus) and seen[first + 1].args()[1] == RUNNING
    created = [o.args()[0] for o in seen if isinstance(o, ops.InsertExecution)]
    requested = [o for o in seen if isinstance(o, ops.Publish) and o.queue == REQUESTS_QUEUE]
    assert created == ["fetch_a", "fetch_b"] and len(requested) == 2  # both entry tasks, in this handler


def _dispatched_before_every_entry_exists(replicas: int, seeds: range) -> int:
    """Runs (PCT, join-barrier's two entry tasks, serialized) in which a worker got an entry
    task before the second entry row existed: the window of spec 7(f)11."""
    config = config_for(load("join-barrier"), Guards.parse("serialized"))
    config = dataclasses.replace(config, deployment=dataclasses.replace(config.deployment, replicas=replicas))
    early = 0
    for seed in seeds:
        records = run_one(config, seed, "pct", record=True).output.records
        inserts = [i for i, r in enumerate(records) if r[3] == "InsertExecution" and r[2] == "D5'"]
        sent = [i for i, r in enumerate(records) if r[3] == "Publish" and r[2] == "S4"]
        assert len(inserts) >= 2 and sent
        early += sent[0] < inserts[1]
    return early


def test_one_executor_sends_no_entry_task_before_the_start_has_created_them_all():
    assert _dispatched_before_every_entry_exists(1, range(1, 101)) == 0


def test_a_second_executor_can_send_an_entry_task_while_the_first_is_still_starting():
    assert _dispatched_before_every_entry_exists(2, range(1, 101)) > 0


def test_no_crash_takes_an_executor_in_the_middle_of_a_start():
    """Crashes are sampled at every yield point of executor actors, except while their
    scheduler starts a workflow (from the workflow row's insert to the request's ack)."""
    config = config_for(load("join-barrier"), Guards.parse("serialized"), faults=Faults.parse("crash=0.5"))
    for seed in range(1, 41):
        r = run_one(config, seed, record=True)
        start = [i for i, rec in enumerate(r.output.records) if rec[3] == "InsertWorkflowExecution"]
        acked = [i for i, rec in enumerate(r.output.records) if rec[2] == "S6" and i > start[0]]
        assert start and acked
        window = r.output.records[start[0] : acked[0] + 1]
        assert not [rec for rec in window if rec[3] == "Crash"], seed


def test_a_crash_strike_is_no_point_while_the_process_cannot_crash():
    from racesim.sim.faults import CRASH_EXECUTOR, FaultInjector

    injector = FaultInjector(Faults.parse("executor-crash=1+publish-failure=1"), lambda p: True)
    ack = ops.Ack("L4", "exec0.completions", "q", 1)
    assert injector.check("exec0.listener0", ack) is CRASH_EXECUTOR
    assert injector.check("exec0.listener0", ack, may_crash=False) is None
    publish = ops.Publish("D6'", REQUESTS_QUEUE, Message(EXECUTION_REQUESTED, 2))
    assert injector.check("exec0.scheduler", publish, may_crash=False) is not None  # a failed publish still can
    assert injector.fired == [("executor-crash", "exec0.listener0"), ("publish-failure", "exec0.scheduler")]
