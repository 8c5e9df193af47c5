"""HEAD's recovery actors (spec 3.4 and 10), each planted, and silent where nothing is stale."""

from __future__ import annotations

from pathlib import Path

from racesim.engine.runner import config_for, sweep
from racesim.models import ops
from racesim.models.graph import Graph, Node
from racesim.models.guards import Guards
from racesim.models.recovery import RecoveryTiming, supervisor, timeout_monitor
from racesim.models.rows import WorkflowTask
from racesim.scenarios import loader
from racesim.sim.config import Faults
from racesim.sim.db import SimDB

from tests.test_versions import drive

FAST = RecoveryTiming(stop_after=120.0, supervisor_interval=60.0)


def _world(statuses: list[tuple[str, int | None]], now: float) -> tuple[SimDB, int]:
    """Rows (status, worker) of one running workflow, written at t = 0; the clock at ``now``."""
    db = SimDB((1, 2))
    graph = Graph.build([Node(f"t{i}", "a") for i in range(len(statuses))])
    parent = db.insert_execution(0, ops.InsertExecution("s", "wf", None, None, "running"))
    w = db.insert_workflow_execution(0, ops.InsertWorkflowExecution("s", parent, graph))
    for i, (status, worker) in enumerate(statuses):
        eid = db.insert_execution(0, ops.InsertExecution("s", "a", parent, WorkflowTask(w, f"t{i}")))
        db.cas_execution_status(0, ops.CasExecutionStatus("s", eid, "requested", status, worker))
    db.now = now
    return db, w


def _completions(published) -> list[tuple[int, str]]:
    return [(m.execution_id, m.status) for q, m in published if m.kind == "ExecutionCompleted"]


def test_timeout_monitor_fails_stale_scheduled_rows_only():
    db, w = _world([("scheduled", 1), ("running", 1), ("requested", None)], now=301.0)
    published = drive(timeout_monitor(FAST), db)
    assert _completions(published) == [(2, "failed")]
    assert [db.executions[i].status for i in (2, 3, 4)] == ["failed", "running", "requested"]
    db, w = _world([("scheduled", 1)], now=299.0)  # not stale yet: silent
    assert drive(timeout_monitor(RecoveryTiming(stop_after=60.0)), db) == []


def test_dead_worker_reconciliation_abandons_running_rows_of_a_silent_worker():
    db, w = _world([("running", 1), ("running", 2)], now=200.0)
    db.worker_heartbeat[1] = 100.0  # worker 1 stopped beating 100 s ago (> 90)
    published = drive(timeout_monitor(FAST), db)
    assert _completions(published) == [(2, "abandoned")]
    assert db.executions[3].status == "running"
    db, w = _world([("running", 1)], now=200.0)  # every worker alive: silent
    assert drive(timeout_monitor(FAST), db) == []


def test_supervisor_abandons_old_rows_and_fails_the_workflow():
    db, w = _world([("requested", None), ("canceling", 1), ("completed", 1)], now=7201.0)
    db.set_execution_status(0, ops.SetExecutionStatus("s", 1, "running"))  # the workflow's own row, fresh
    published = drive(supervisor(RecoveryTiming(stop_after=3600.0)), db)
    assert (2, "abandoned") in _completions(published) and (3, "cancelled") in _completions(published)
    # every child terminal now, two of them not completed: the workflow and its execution fail
    assert db.workflows[w].status == "failed" and db.executions[1].status == "failed"
    assert (1, "failed") in _completions(published)
    db, w = _world([("requested", None)], now=7000.0)  # younger than 2 h: silent
    assert drive(supervisor(RecoveryTiming(stop_after=3600.0)), db) == []


def test_supervisor_abandons_a_workflows_own_execution_after_two_hours():
    """attune's running-row rule matches worker IS NULL, which is every workflow's own
    execution; it is written only at completion, so a workflow running for more than the
    threshold has its own execution abandoned, and the workflow rule then copies that
    status onto the workflow_execution row (maintenance.rs at 9206d41)."""
    db, w = _world([("running", 1)], now=7201.0)
    published = drive(supervisor(RecoveryTiming(stop_after=3600.0)), db)
    assert (1, "abandoned") in _completions(published)
    assert db.executions[2].status == "running"  # its worker is alive
    assert db.workflows[w].status == "abandoned"


def test_recovery_heals_a_lost_publish_after_commit_but_not_a_lost_completion(tmp_path: Path):
    """Spec 7(e)/8: a crash between COMMIT and the outbox publish leaves validate requested;
    HEAD's supervisor abandons it and publishes a completion, so the workflow ends (failed).
    Spec 7(d): a completion lost after the worker's terminal write has no recovery rule."""
    path = Path(__file__).parent / "data" / "recovery-seed.yaml"
    sc = loader.load(str(path))
    crash = Faults.parse("crash-after-commit=0.3")
    stuck_plain = sweep(config_for(sc, Guards.parse("head"), faults=crash), 1, 60).stuck_workflows
    stuck_recovered = sweep(config_for(sc, Guards.parse("head+recovery"), faults=crash), 1, 60).stuck_workflows
    assert stuck_plain > 0 and stuck_recovered == 0
    lost = Faults.parse("crash-before-publish=0.2")
    assert sweep(config_for(sc, Guards.parse("head+recovery"), faults=lost), 1, 60).stuck_workflows > 0


def test_recovery_actors_stop_when_the_run_is_done():
    sc = loader.load(str(Path(__file__).parent / "data" / "recovery-seed.yaml"))
    s = sweep(config_for(sc, Guards.parse("head+recovery")), 1, 20)
    assert s.stuck_workflows == 0 and s.finding_counts()["duplicates"] == 0


def test_before_3dcc3a9_the_timeout_completion_cannot_be_decoded():
    """Spec 3.4: PRE/FIX/f93 fail the stale row but publish a payload the listener cannot
    decode; it is nacked without requeue and no advance follows. PRE/FIX write without a CAS."""
    from racesim.models.listener import completion_listener
    from racesim.models.rows import EXECUTION_COMPLETED, UNDECODABLE, Delivery, Message

    for cas in (True, False):
        db, w = _world([("scheduled", 1)], now=301.0)
        published = drive(timeout_monitor(RecoveryTiming(stop_after=60.0), modern=False, cas=cas), db)
        assert _completions(published) == [(2, UNDECODABLE)] and db.executions[2].status == "failed"
        steps = [type(op).__name__ for op in _ops(timeout_monitor(RecoveryTiming(stop_after=60.0), False, cas), db)]
        assert ("CasExecutionStatus" in steps) is cas
    gen = completion_listener(Guards.parse("f93"), "c")
    assert isinstance(next(gen), ops.Consume)
    nack = gen.send(Delivery(1, Message(EXECUTION_COMPLETED, 2, UNDECODABLE)))
    assert isinstance(nack, ops.Nack) and nack.requeue is False
    assert Guards.parse("f93+recovery").recovery and not Guards.parse("f93+recovery").modern_recovery
    assert Guards.parse("head+recovery").modern_recovery


def _ops(gen, db: SimDB) -> list[ops.Op]:
    seen: list[ops.Op] = []
    db2, _ = _world([("scheduled", 1)], now=301.0)
    op = next(gen)
    while True:
        seen.append(op)
        result = db2.handlers[type(op)](0, op) if type(op) in db2.handlers else None
        try:
            op = gen.send(result)
        except StopIteration:
            return seen


def test_a_restarted_monitor_keeps_the_runs_horizon():
    """A monitor restarted with its executor at t = 90 s makes its passes at 150 s and 210 s
    under a 240 s horizon, not four more passes counted from its own start."""
    timing = RecoveryTiming(stop_after=240.0)
    sleeps = [op for op in _ops(timeout_monitor(timing, started_at=90.0), _world([("scheduled", 1)], 0.0)[0]) if op.step == "R0"]
    assert len(sleeps) == 2
    assert len([op for op in _ops(timeout_monitor(timing), _world([("scheduled", 1)], 0.0)[0]) if op.step == "R0"]) == 4


def test_executor_crashes_under_recovery_end_at_the_horizon_not_the_step_limit():
    """compound-when under head+recovery with crash faults, seed 4: the executor (and with it
    its monitor) crashes again and again. Each restarted monitor used to count the horizon
    from its own start, so the run went on for 200,000 steps (46 simulated days) and ended
    as a livelock, stuck unknown. The horizon is the run's: the run ends at 14,400 s and the
    workflow is stuck for what it is, a completion that was never published."""
    from dataclasses import replace

    from racesim.engine.runner import run_one

    cfg = replace(config_for(loader.load("compound-when"), Guards.parse("head+recovery")), faults=Faults.parse("crash=0.02"))
    r = run_one(cfg, 4)
    assert any(name == "crash:crash-executor" for name, _ in r.output.faults_fired)
    assert not r.output.livelock and r.output.end_time < cfg.recovery.stop_after + 1.0  # the last pass's round trips
    assert r.verdict.results["stuck_workflow"].verdict == "true"
    assert any(reason.startswith("lost completion") for reason in r.verdict.stuck_reasons)
