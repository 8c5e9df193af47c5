"""Shrinking drops crash choice points the finding does not need, and keeps those it does."""

from __future__ import annotations

from racesim.engine.exploration import run_scheduled
from racesim.engine.runner import config_for, execute, run_one
from racesim.models.guards import Guards
from racesim.models.statuses import REQUESTED
from racesim.scenarios.loader import load
from racesim.sim.choices import ChoiceSource
from racesim.sim.config import Faults
from racesim.sim.faults import CRASH_EXECUTOR
from racesim.sim.findings import parse_fail_on
from racesim.sim.schedulers.replay import Replay
from racesim.sim.shrink import crashes_count, finding_of, same_finding, shrink
from test_crashes import CrashAt, _publishes_request_for


def _replay(cfg, src):
    return run_scheduled(cfg, 0, Replay(), src)


def test_crashes_the_finding_does_not_need_are_dropped():
    # guards none: validate is dispatched twice by two listeners' advances, crashes or not;
    # seed 13 samples 8 crashes along the way, none of them needed for the duplicate.
    cfg = config_for(load("with-items-fanin"), Guards.parse("none"), faults=Faults.parse("crash=0.03"))
    r = run_one(cfg, 13, record=True)
    fired = [c for c in r.output.choices if c[0] == "x" and c[1]]
    assert len(fired) == 8 and r.verdict.by_task["validate"].duplicate_dispatches
    finding = finding_of(r.verdict)
    result = shrink(cfg, r.output.choices, finding, _replay, 2000)
    assert crashes_count(result.original.crashes) == 8
    assert crashes_count(result.shrunk.crashes) == 0
    assert same_finding(finding, result.shrunk.result.verdict)
    assert not [c for c in result.shrunk.choices if c[0] == "x" and c[1]]  # the replayed run crashed nowhere


def test_a_crash_the_finding_needs_is_kept():
    # FIX, one listener: the executor dies between D5 and D6; validate stays requested,
    # the workflow stuck. Without that crash the workflow completes, so the crash stays.
    cfg = config_for(load("with-items-fanin"), Guards.parse("fix"))
    r = execute(cfg, CrashAt(CRASH_EXECUTOR, _publishes_request_for("validate")), ChoiceSource(1, cfg.timing, record=True))
    assert r.verdict.findings() and "stuck_workflow" in r.verdict.findings()
    [validate] = [x for x in r.output.db.executions.values() if x.workflow_task and x.workflow_task.task_name == "validate"]
    assert validate.status == REQUESTED
    finding = finding_of(r.verdict, parse_fail_on("stuck_workflow"))
    assert finding["findings"]["stuck_workflow"]
    result = shrink(cfg, r.output.choices, finding, _replay, 2000)
    assert crashes_count(result.shrunk.crashes) == 1
    assert "stuck_workflow" in result.shrunk.result.verdict.findings()


def test_resizing_items_keeps_every_other_field_of_the_graph():
    """Shrinking resizes with_items tasks; a task's retry block (HEAD's H0) must survive it,
    or a shrunk run would stop retrying."""
    from racesim.engine.runner import config_for
    from racesim.models.guards import Guards
    from racesim.scenarios.loader import load
    from racesim.sim.shrink import with_item_counts

    config = config_for(load("retry-block"), Guards.parse("head"))
    resized = with_item_counts(config, {})
    assert {n: x.retry for n, x in resized.graph.nodes.items()} == {n: x.retry for n, x in config.graph.nodes.items()}
    assert resized.graph.nodes["call"].retry is not None
    fanin = config_for(load("with-items-fanin"), Guards.parse("both"))
    assert with_item_counts(fanin, {"process_items": 2}).graph.nodes["process_items"].with_items == 2
