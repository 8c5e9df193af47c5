"""Versions as switch sets, and the HEAD-only steps (spec 4.3 and 10), each planted and each
shown silent where it cannot act."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path

import pytest
from racesim.engine.runner import config_for, run_one, sweep
from racesim.models import ops
from racesim.models.advance import advance_workflow, reconcile
from racesim.models.graph import Graph, Node, Retry, Transition
from racesim.models.guards import HEAD_SWITCHES, NAMED_SETS, Guards
from racesim.models.listener import RETRIED, retry_hook
from racesim.models.rows import ExecRow, WorkflowTask
from racesim.models.worker import run_execution
from racesim.scenarios.loader import load
from racesim.sim.checkers import check
from racesim.sim.db import SimDB


# ---- a tiny driver: run a model generator against a SimDB, collect what it publishes ----
def drive(gen: Generator, db: SimDB) -> list[tuple[str, object]]:
    published: list[tuple[str, object]] = []
    result: object = None
    op = next(gen)
    while True:
        if type(op) in db.handlers:
            result = db.handlers[type(op)](0, op)
        elif isinstance(op, ops.Publish):
            published.append((op.queue, op.message))
            result = None
        elif isinstance(op, ops.AdvisoryLock):
            result = db.try_lock(0, op.key)
        elif isinstance(op, ops.AdvisoryUnlock):
            result = db.unlock(0, op.key)
        else:
            result = None  # Sleep, RunAction's ok handled below
            if isinstance(op, ops.RunAction):
                result = True
        try:
            op = gen.send(result)
        except StopIteration:
            return published


def _db_with(graph: Graph, rows: list[tuple[str, int | None, str, str | None, int]]) -> tuple[SimDB, int, int]:
    """A workflow (W=1, own execution 1) with child rows (name, index, status, triggered_by, retry)."""
    db = SimDB((1,))
    parent = db.insert_execution(0, ops.InsertExecution("start", "wf", None, None, "running"))
    w = db.insert_workflow_execution(0, ops.InsertWorkflowExecution("start", parent, graph))
    for name, index, status, trig, retry in rows:
        eid = db.insert_execution(0, ops.InsertExecution("t", "a", parent, WorkflowTask(w, name, index, trig, retry)))
        db.set_execution_status(0, ops.SetExecutionStatus("t", eid, status))
    return db, w, parent


# ---- versions -------------------------------------------------------------------------------
def test_versions_are_named_switch_sets():
    assert Guards.parse("pre").switches == Guards.parse("none").switches == ()
    assert Guards.parse("fix").switches == Guards.parse("both").switches
    # f93e922 = the serialized guard layers + the cancellation halt and the worker pre-check
    assert set(Guards.parse("f93").switches) == {*Guards.parse("serialized").switches, "cancel_halt", "precheck"}
    head = Guards.parse("head")
    assert set(head.switches) == {*NAMED_SETS["f93"], "release_one", *HEAD_SWITCHES}
    assert not head.recovery  # recovery actors are opt-in: head+recovery
    assert Guards.parse("head+recovery").recovery


def test_one_switch_can_be_ablated():
    ablated = Guards.parse("head+no-reconcile")
    assert not ablated.reconcile and ablated.defer_join and ablated.lock
    assert Guards.parse("head").without("defer_join").switches == tuple(
        s for s in Guards.parse("head").switches if s != "defer_join"
    )
    with pytest.raises(ValueError):
        Guards.parse("head+no-bogus")


# ---- H13 reconciliation, the exact rule of spec 10 ----------------------------------------------
def test_reconcile_rule():
    def rows(*spec):
        return tuple(
            ExecRow(i + 1, "a", 1, st, WorkflowTask(1, name, idx, trig, retry))
            for i, (name, idx, st, trig, retry) in enumerate(spec)
        )

    completed: list[str] = []
    failed: list[str] = []
    # a: retried, latest attempt completed -> C, although attempt 0 failed
    # b: failed, nothing triggered by it -> F; c: failed, but d was triggered by c -> C (handled)
    # e: one item canceling (not terminal) -> left alone; f: tie on retry_count, the later row wins
    children = rows(
        ("a", None, "failed", None, 0),
        ("a", None, "completed", None, 1),
        ("b", None, "failed", None, 0),
        ("c", None, "abandoned", None, 0),
        ("d", None, "running", "c", 0),
        ("e", 0, "completed", None, 0),
        ("e", 1, "canceling", None, 0),
        ("f", None, "completed", None, 0),
        ("f", None, "failed", None, 0),
    )
    failed.append("a")
    completed.append("e")
    reconcile(1, children, completed, failed)
    assert set(completed) == {"a", "c", "e"}
    assert set(failed) == {"b", "f"}
    # another workflow's rows are ignored
    other: list[str] = []
    reconcile(2, children, other, other)
    assert other == []


def _two_branch_graph() -> Graph:
    return Graph.build(
        [
            Node("fa", "a", transitions=(Transition("succeeded", ("merge",)),)),
            Node("fb", "a", transitions=(Transition("succeeded", ("merge",)),)),
            Node("merge", "a", join=2),
        ]
    )


def test_reconcile_admits_a_join_whose_other_branch_finished_in_the_db():
    graph = _two_branch_graph()
    db, w, parent = _db_with(graph, [("fa", None, "completed", None, 0), ("fb", None, "completed", None, 0)])
    x = db.executions[2]
    drive(advance_workflow(Guards.parse("head"), x), db)
    assert [r.workflow_task.task_name for r in db.workflow_children(w)].count("merge") == 1
    # f93: fb is not in C (its completion is not processed yet), the join is unmet, and
    # run = 0 completes the workflow without merge (spec 7(f)6).
    db, w, parent = _db_with(graph, [("fa", None, "completed", None, 0), ("fb", None, "completed", None, 0)])
    drive(advance_workflow(Guards.parse("f93"), db.executions[2]), db)
    assert "merge" not in [r.workflow_task.task_name for r in db.workflow_children(w)]
    assert db.workflows[w].status == "completed"


def test_deferred_join_holds_completion_back_only_in_head():
    graph = _two_branch_graph()
    # fb failed (H13 puts it in F): merge's join is unmet and run = 0, so only D stops completion.
    for version, completes in (("head", False), ("head+no-defer-join", True)):
        db, w, parent = _db_with(graph, [("fa", None, "completed", None, 0), ("fb", None, "failed", None, 0)])
        drive(advance_workflow(Guards.parse(version), db.executions[2]), db)
        assert (db.workflows[w].status != "running") is completes, version


# ---- H15 --------------------------------------------------------------------------------------
def test_handled_failure_counts_as_completed():
    graph = Graph.build([Node("t", "a", transitions=(Transition("failed", ("cleanup",)),)), Node("cleanup", "a")])
    for version, in_c in (("head+no-reconcile", True), ("head+no-reconcile+no-handled", False)):
        db, w, parent = _db_with(graph, [("t", None, "failed", None, 0)])
        drive(advance_workflow(Guards.parse(version), db.executions[2]), db)
        assert ("t" in db.workflows[w].completed_tasks) is in_c, version


# ---- H7 cancellation halt ------------------------------------------------------------------------
def test_cancellation_halt_stops_transitions_and_finalizes_a_cancelled_workflow():
    graph = Graph.build([Node("t", "a", transitions=(Transition("always", ("next",)),)), Node("next", "a")])
    db, w, parent = _db_with(graph, [("t", None, "completed", None, 0)])
    db.update_workflow_execution(0, ops.UpdateWorkflowExecution("x", w, (("status", "cancelled"),)))
    drive(advance_workflow(Guards.parse("head"), db.executions[2]), db)
    assert "next" not in [r.workflow_task.task_name for r in db.workflow_children(w)]
    assert db.executions[parent].status == "cancelled"
    # without the halt (serialized = f93's guard layers alone) the transition fires
    db, w, parent = _db_with(graph, [("t", None, "completed", None, 0)])
    db.update_workflow_execution(0, ops.UpdateWorkflowExecution("x", w, (("status", "cancelled"),)))
    drive(advance_workflow(Guards.parse("serialized"), db.executions[2]), db)
    assert "next" in [r.workflow_task.task_name for r in db.workflow_children(w)]


# ---- worker pre-check (3.1 step 2) -------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "precheck", "runs", "completions"),
    [
        ("cancelled", True, False, []),
        ("canceling", True, False, ["cancelled"]),
        ("failed", True, True, ["completed"]),
        ("cancelled", False, True, ["completed"]),
    ],
)
def test_worker_precheck(status, precheck, runs, completions):
    graph = Graph.build([Node("t", "a")])
    db, w, parent = _db_with(graph, [("t", None, status, None, 0)])
    published = drive(run_execution(2, precheck), db)
    got = [m.status for q, m in published if m.kind == "ExecutionCompleted"]
    assert got == completions
    assert (db.executions[2].status == "completed") is runs
    if status == "canceling" and precheck:
        assert db.executions[2].status == "canceling"  # nothing written


# ---- H0 retry hook -----------------------------------------------------------------------------
def test_retry_hook_inserts_then_sleeps_then_publishes():
    graph = Graph.build([Node("t", "a", retry=Retry(2, 3.0, "exponential", 5.0))])
    db, w, parent = _db_with(graph, [("t", None, "failed", None, 1)])
    gen = retry_hook(db.executions[2])
    seen: list[str] = []
    op = next(gen)
    try:
        while True:
            seen.append(type(op).__name__ + (f"({op.seconds})" if isinstance(op, ops.Sleep) else ""))
            result = db.handlers[type(op)](0, op) if type(op) in db.handlers else None
            op = gen.send(result)
    except StopIteration as stop:
        assert stop.value == RETRIED
    # retry 2 of an exponential policy: 3 * 2 = 6, capped at 5
    assert seen == ["ReadWorkflowExecution", "InsertExecution", "Sleep(5.0)", "Publish"]
    retry_row = db.executions[3]
    assert retry_row.workflow_task.retry_count == 2 and retry_row.status == "requested"
    # no retries left: nothing happens
    db, w, parent = _db_with(graph, [("t", None, "failed", None, 2)])
    assert drive(retry_hook(db.executions[2]), db) == []
    assert len(db.executions) == 2


def test_retry_attempts_are_not_duplicates():
    sc = load("retry-block")
    head = run_one(config_for(sc, Guards.parse("head")), 1)
    f93 = run_one(config_for(sc, Guards.parse("f93")), 1)
    attempts = [r for r in head.output.db.workflow_children(head.output.workflow_id) if r.workflow_task.task_name == "call"]
    assert sorted(r.workflow_task.retry_count for r in attempts) == [0, 1, 2]
    assert head.verdict.duplicate_dispatches == 0
    assert len([r for r in f93.output.db.workflow_children(f93.output.workflow_id) if r.workflow_task.task_name == "call"]) == 1
    # the checker still counts a true duplicate of one attempt
    graph = Graph.build([Node("call", "a")])
    wf_db, w, parent = _db_with(graph, [("call", None, "completed", None, 1)])
    v = check(graph, wf_db.workflows[w], wf_db.workflow_children(w), [2, 2], [2])
    assert v.duplicate_dispatches == 1


# ---- what the spec predicts for the catalog under head (6.4, 10 7(c)/7(f)6) ------------------------
def _summary(name: str, version: str, runs: int, replicas: int = 1):
    sc = load(name)
    return sweep(config_for(sc, Guards.parse(version), replace(sc.deployment, replicas=replicas)), 1, runs)


@pytest.mark.slow
def test_join_barrier_head_admits_the_join_and_f93_keeps_todays_findings():
    head = _summary("join-barrier", "head", 500)
    assert head.finding_counts() == {"duplicates": 0, "missed": 0, "stuck": 0, "lost_updates": 0, "wrong_outcomes": 0}
    f93 = _summary("join-barrier", "f93", 500)
    assert f93.missed_dispatches and f93.wrong_outcomes
    # D alone is enough here (the deferring advance never completes; the other branch's
    # advance admits merge); H13 alone leaves the H12-H16 window; without both, f93's finding.
    assert _summary("join-barrier", "head+no-reconcile", 300).finding_counts()["missed"] == 0
    assert _summary("join-barrier", "head+no-defer-join", 300).missed_dispatches
    assert _summary("join-barrier", "head+no-reconcile+no-defer-join", 300).missed_dispatches


@pytest.mark.slow
def test_failure_masking_head_leaves_only_the_h12_h16_window():
    """Spec 10 says H13 repairs the final status; the model finds it narrows the window to
    the time between H12 (children read) and H16 (running count), both on the locked
    connection but separate statements: a failing branch whose terminal write lands there is
    neither reconciled nor counted as running. Every wrong outcome under head shows that."""
    sc = load("failure-masking")
    config = config_for(sc, Guards.parse("head"))
    wrong = 0
    for seed in range(1, 501):
        r = run_one(config, seed)
        if not r.verdict.wrong_outcomes:
            continue
        r = run_one(config, seed, record=True)  # the same run, with its trace
        wrong += 1
        recs = run_one(config, seed, record=True).output.records  # the trace, regenerated
        p9 = next(i for i, rec in enumerate(recs) if rec[2] == "P9")
        p12 = next(i for i, rec in enumerate(recs) if rec[2] == "P12")
        fail_write = next(i for i, rec in enumerate(recs) if rec[2] == "W6" and rec[4][1] == "failed")
        assert p9 < fail_write < p12, f"seed {seed}: the failing write is outside the H12-H16 window"
    f93 = _summary("failure-masking", "f93", 500)
    assert 0 < wrong < f93.wrong_outcomes / 5
    # H13 is the step that narrows it
    assert _summary("failure-masking", "head+no-reconcile", 300).wrong_outcomes > 5 * wrong


@pytest.mark.slow
def test_seed_under_head_with_two_replicas_has_no_duplicate():
    s = _summary("with-items-fanin", "head", 2000, replicas=2)
    assert s.runs_with_duplicates == 0 and s.duplicate_dispatches == 0
    assert s.missed_dispatches == 0 and s.stuck_workflows == 0


# ---- H19/H21 synthetic completion for a nested workflow -------------------------------------------
@pytest.mark.parametrize(("nested", "version", "sent"), [(True, "head", True), (False, "head", False), (True, "f93", False)])
def test_a_nested_workflow_tells_its_parent_after_commit(nested, version, sent):
    graph = Graph.build([Node("t", "a")])
    db = SimDB((1,))
    outer = db.insert_execution(0, ops.InsertExecution("s", "outer", None, None, "running")) if nested else None
    own = db.insert_execution(0, ops.InsertExecution("s", "wf", outer, None, "running"))
    w = db.insert_workflow_execution(0, ops.InsertWorkflowExecution("s", own, graph))
    eid = db.insert_execution(0, ops.InsertExecution("s", "a", own, WorkflowTask(w, "t")))
    db.set_execution_status(0, ops.SetExecutionStatus("s", eid, "completed"))
    published = drive(advance_workflow(Guards.parse(version), db.executions[eid]), db)
    assert db.workflows[w].status == "completed"
    completions = [(q, m.execution_id, m.status) for q, m in published if m.kind == "ExecutionCompleted"]
    assert completions == ([("attune.execution.completed.queue", own, "completed")] if sent else [])


# ---- the command line -------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-m", "racesim.cli", *args], capture_output=True, text=True, cwd=root, timeout=120)


def test_version_option_and_matrix_axis():
    r = _cli("run", "join-barrier", "--version", "head", "--runs", "20", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data[0] if isinstance(data, list) else data)["guards"] == "head"
    r = _cli("matrix", "join-barrier", "--versions", "f93,head", "--runs", "20", "--json")
    assert r.returncode == 0, r.stderr
    assert sorted({cell["guards"] for cell in json.loads(r.stdout)["cells"]}) == ["f93", "head"]  # one row per version
    r = _cli("run", "join-barrier", "--version", "head2", "--runs", "1")
    assert r.returncode == 2 and "unknown guard 'head2'" in r.stderr and "Traceback" not in r.stderr
