"""SimDB answers its (workflow, task) predicates from counters and a sorted list kept on every
write; these tests compare each answer with a plain scan of the rows after random writes,
transactions and rollbacks (the PostgreSQL differential test checks the scan semantics)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from racesim.models import ops
from racesim.models.rows import ExecRow, WorkflowTask
from racesim.models.statuses import ALL, FINISHED, IN_FLIGHT, ITEM_FAILED, REQUESTED
from racesim.sim.db import SimDB

TASKS = ("a", "b")
WORKFLOWS = (1, 2)


def scan_rows(db: SimDB, w: int, task: str) -> list[ExecRow]:
    return sorted(
        (r for r in db.executions.values() if r.workflow_task and (r.workflow_task[:2] == (w, task))), key=lambda r: r.id
    )


def check_against_scan(db: SimDB) -> None:
    for w in WORKFLOWS:
        for t in TASKS:
            rows = scan_rows(db, w, t)
            for me in (-1, *(r.id for r in rows[:3]), *db.executions):
                assert db.count_in_flight(0, ops.CountInFlight("x", w, t, me)) == sum(
                    1 for r in rows if r.status in IN_FLIGHT and r.id != me
                )
                assert db.count_remaining(0, ops.CountRemaining("x", w, t, me)) == sum(
                    1 for r in rows if r.status not in FINISHED and r.id != me
                )
            assert db.any_item_failed(0, ops.AnyItemFailed("x", w, t)) == any(r.status in ITEM_FAILED for r in rows)
            assert db.count_task_rows(0, ops.CountTaskRows("x", w, t)) == len(rows)
            pending = [r for r in rows if r.status == REQUESTED]
            pending.sort(key=lambda r: (r.workflow_task.task_index is None, r.workflow_task.task_index or 0))
            for limit in (0, 1, 2, 50):
                got = db.select_pending(0, ops.SelectPending("x", w, t, limit))
                assert got == tuple(r.id for r in pending[:limit])
            assert db.read_item_rows(0, ops.ReadItemRows("x", w, t)) == tuple(r.workflow_task.task_index for r in rows)
        for decided in ((), ("a",), ("a", "b")):
            expected = sum(
                1
                for r in db.executions.values()
                if r.workflow_task and r.workflow_task.workflow_execution == w and r.status not in FINISHED
                and r.workflow_task.task_name not in decided
            )  # fmt: skip
            assert db.count_running(0, ops.CountRunning("x", w, decided, ())) == expected
        assert [r.id for r in db.workflow_children(w)] == sorted(
            r.id for r in db.executions.values() if r.workflow_task and r.workflow_task.workflow_execution == w
        )


action = st.one_of(
    st.tuples(
        st.just("insert"),
        st.sampled_from(WORKFLOWS),
        st.sampled_from(TASKS),
        st.none() | st.integers(0, 3),
        st.sampled_from(ALL),
    ),
    st.tuples(st.just("status"), st.integers(1, 30), st.sampled_from(ALL)),
    st.tuples(st.just("cas"), st.integers(1, 30), st.sampled_from(ALL), st.sampled_from(ALL)),
    st.tuples(st.just("begin"), st.integers(1, 2)),
    st.tuples(st.just("commit"), st.integers(1, 2)),
    st.tuples(st.just("rollback"), st.integers(1, 2)),
    st.tuples(st.just("die"), st.integers(1, 2)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(action, max_size=40))
def test_indexed_predicates_equal_a_scan_after_any_writes(actions: list[tuple]) -> None:
    db = SimDB((1,))
    for a in actions:
        session = a[1] if a[0] in ("begin", "commit", "rollback", "die") else 1
        if a[0] == "insert":
            _, w, t, index, status = a
            db.insert_execution(session, ops.InsertExecution("x", "act", 100 + w, WorkflowTask(w, t, index), status))
        elif a[0] == "status" and a[1] in db.executions:
            db.set_execution_status(session, ops.SetExecutionStatus("x", a[1], a[2]))
        elif a[0] == "cas" and a[1] in db.executions:
            db.cas_execution_status(session, ops.CasExecutionStatus("x", a[1], a[2], a[3]))
        elif a[0] == "begin":
            db.begin(session, ops.Begin("x"))
        elif a[0] == "commit":
            db.commit(session, ops.Commit("x"))
        elif a[0] == "rollback":
            db.rollback(session, ops.Rollback("x"))
        elif a[0] == "die":
            db.end_session(session)
        check_against_scan(db)


def test_a_rolled_back_insert_leaves_no_trace_in_the_indexes() -> None:
    db = SimDB((1,))
    db.begin(1, ops.Begin("x"))
    eid = db.insert_execution(1, ops.InsertExecution("x", "act", 7, WorkflowTask(1, "a", 0)))
    assert db.select_pending(0, ops.SelectPending("x", 1, "a", 5)) == (eid,)
    db.rollback(1, ops.Rollback("x"))
    assert db.select_pending(0, ops.SelectPending("x", 1, "a", 5)) == ()
    assert db.count_task_rows(0, ops.CountTaskRows("x", 1, "a")) == 0
    assert db.read_children(0, ops.ReadChildren("x", 7)) == ()
    check_against_scan(db)
