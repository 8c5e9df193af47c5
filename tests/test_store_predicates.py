"""Each query of the simulated store, with exactly the spec's predicate (spec 2.2, 4.1)."""

import pytest
from racesim.models import ops
from racesim.models.rows import WorkflowTask
from racesim.models.statuses import (
    ABANDONED,
    ALL,
    CANCELLED,
    COMPLETED,
    FAILED,
    REQUESTED,
    RUNNING,
    SCHEDULED,
    SCHEDULING,
    TIMEOUT,
)
from racesim.sim.db import SimDB


def make_db(statuses, task="t", index=True):
    db = SimDB((1,))
    parent = db.insert_execution(0, ops.InsertExecution("x", "wf", None, None, RUNNING))
    w = db.insert_workflow_execution(0, ops.InsertWorkflowExecution("x", parent, None))
    ids = []
    for i, status in enumerate(statuses):
        eid = db.insert_execution(0, ops.InsertExecution("x", "a", parent, WorkflowTask(w, task, i if index else None)))
        db.set_execution_status(0, ops.SetExecutionStatus("x", eid, status))
        ids.append(eid)
    return db, w, ids


@pytest.mark.parametrize("status", ALL)
def test_in_flight_counts_only_scheduling_scheduled_running(status):
    db, w, ids = make_db([status, status])
    n = db.count_in_flight(0, ops.CountInFlight("x", w, "t", ids[0]))
    assert n == (1 if status in (SCHEDULING, SCHEDULED, RUNNING) else 0)


@pytest.mark.parametrize("status", ALL)
def test_remaining_counts_everything_but_the_four_finished_statuses(status):
    db, w, ids = make_db([status, status])
    n = db.count_remaining(0, ops.CountRemaining("x", w, "t", ids[0]))
    # abandoned and canceling count as remaining: they are not in FINISHED
    assert n == (0 if status in (COMPLETED, FAILED, TIMEOUT, CANCELLED) else 1)


def test_remaining_and_in_flight_exclude_the_callers_own_row():
    db, w, ids = make_db([RUNNING])
    assert db.count_remaining(0, ops.CountRemaining("x", w, "t", ids[0])) == 0
    assert db.count_in_flight(0, ops.CountInFlight("x", w, "t", ids[0])) == 0
    assert db.count_remaining(0, ops.CountRemaining("x", w, "t", -1)) == 1


@pytest.mark.parametrize("status", ALL)
def test_any_item_failed_includes_the_caller(status):
    db, w, ids = make_db([status])
    assert db.any_item_failed(0, ops.AnyItemFailed("x", w, "t")) == (status in (FAILED, TIMEOUT))


def test_select_pending_lowest_index_first_limited_and_unchanged():
    db, w, ids = make_db([COMPLETED, REQUESTED, RUNNING, REQUESTED, REQUESTED])
    got = db.select_pending(0, ops.SelectPending("x", w, "t", 2))
    assert got == (ids[1], ids[3])
    assert all(db.executions[i].status == REQUESTED for i in got)


def test_count_task_rows_any_status_any_index():
    db, w, ids = make_db([COMPLETED, FAILED, REQUESTED])
    assert db.count_task_rows(0, ops.CountTaskRows("x", w, "t")) == 3
    assert db.count_task_rows(0, ops.CountTaskRows("x", w, "other")) == 0


def test_count_running_ignores_finished_rows_and_decided_names():
    db, w, ids = make_db([RUNNING, COMPLETED, ABANDONED])
    assert db.count_running(0, ops.CountRunning("x", w, (), ())) == 2
    assert db.count_running(0, ops.CountRunning("x", w, ("t",), ())) == 0
    assert db.count_running(0, ops.CountRunning("x", w, (), ("t",))) == 0


def test_workflow_update_overwrites_whole_arrays_last_writer_wins():
    db, w, _ = make_db([])
    db.update_workflow_execution(0, ops.UpdateWorkflowExecution("x", w, (("completed_tasks", ("a",)),)))
    db.update_workflow_execution(0, ops.UpdateWorkflowExecution("x", w, (("completed_tasks", ("b",)),)))
    assert db.workflows[w].completed_tasks == ("b",)


def test_scheduler_write_back_can_unfinish_a_row():
    db, w, ids = make_db([REQUESTED])
    snapshot = db.executions[ids[0]]
    db.set_execution_status(0, ops.SetExecutionStatus("x", ids[0], COMPLETED))
    db.write_execution_row(0, ops.WriteExecutionRow("S4", snapshot, SCHEDULED, 1))
    assert db.executions[ids[0]].status == SCHEDULED


def test_cas_claims_once():
    db, w, ids = make_db([REQUESTED])
    assert db.cas_execution_status(0, ops.CasExecutionStatus("S2", ids[0], REQUESTED, SCHEDULING))
    assert not db.cas_execution_status(0, ops.CasExecutionStatus("S2", ids[0], REQUESTED, SCHEDULING))


def test_dispatch_key_is_unique_and_rollback_removes_it():
    db, w, _ = make_db([])
    db.begin(7, ops.Begin("H3"))
    assert db.insert_dispatch_key(7, ops.InsertDispatchKey("D5'", w, "n", None))
    assert not db.insert_dispatch_key(8, ops.InsertDispatchKey("D5'", w, "n", None))
    db.rollback(7)
    assert db.insert_dispatch_key(8, ops.InsertDispatchKey("D5'", w, "n", None))


def test_advisory_lock_waits_and_hands_over():
    db, _, _ = make_db([])
    assert db.try_lock(1, 5)
    assert not db.try_lock(2, 5)
    assert db.unlock(1, 5) == 2
    assert db.lock_holder[5] == 2
