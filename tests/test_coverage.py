"""Coverage: guard checks and fault points counted per sweep, reads-from pairs, and expect
claims that fail when a guard was never exercised (issue 17 item 3)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from racesim.engine.expectations import evaluate
from racesim.engine.parallel import run_sweeps
from racesim.engine.runner import config_for, run_one, sweep
from racesim.models.guards import Guards
from racesim.scenarios.loader import ScenarioError, from_dict
from racesim.sim import coverage
from racesim.sim.config import Deployment, Faults

from racesim.cli import cli


def test_guard_checks_are_counted_and_change_nothing(fanin):
    config = config_for(fanin, Guards.parse("both"), Deployment(replicas=2))
    s = sweep(config, 1, 80)
    f1, f2 = s.coverage.guards["F1"], s.coverage.guards["F2"]
    assert f1.guard == "layer1" and f1.runs_reached == 80 and 0 < f1.decided < f1.reached
    assert f2.guard == "layer2" and 0 < f2.decided <= f2.reached
    assert set(s.coverage.guards) == {"F1", "F2"}  # only the switched-on guards
    # The decisions are reported without a scheduling point: the same trace as a guard-free
    # reading of the run (every record is a store op; none is a decision).
    r = run_one(config, 3, record=True)
    assert r.output.decisions and all(rec[3] != "Decide" for rec in r.output.records)


def test_heads_repairs_are_counted_where_the_window_opens():
    """HEAD's reconcile (H13) and deferred join (P11b) change the outcome on the join
    barrier (a branch's row finishes before its completion is processed), and are counted;
    switched off, they are not reported at all."""
    from racesim.scenarios.loader import load

    barrier = load("join-barrier")
    s = sweep(config_for(barrier, Guards.parse("head")), 1, 60)
    h13, join = s.coverage.guards["H13"], s.coverage.guards["P11b"]
    assert h13.guard == "reconcile" and 0 < h13.runs_decided <= h13.runs_reached == 60
    assert join.guard == "defer_join" and 0 < join.decided <= join.reached
    ablated = sweep(config_for(barrier, Guards.parse("head+no-reconcile+no-defer-join")), 1, 20)
    assert "H13" not in ablated.coverage.guards and "P11b" not in ablated.coverage.guards


def test_heads_repairs_stay_silent_where_the_window_cannot_open(fanin):
    """The seed scenario has no join, and each item's own advance records its task: the
    deferred join is never reached and reconcile never changes a list."""
    s = sweep(config_for(fanin, Guards.parse("head")), 1, 60)
    assert s.coverage.guards["P11b"].reached == 0
    assert s.coverage.guards["H13"].reached > 0 and s.coverage.guards["H13"].decided == 0


def test_no_guard_no_check(fanin):
    """Silence where it cannot happen: with no guard on, no guard check is reported."""
    s = sweep(config_for(fanin, Guards.parse("none")), 1, 30)
    assert s.coverage.guards == {} and s.coverage.faults == {}


def test_fault_points_reached_and_fired(fanin):
    config = config_for(fanin, Guards.parse("both"), faults=Faults.parse("crash-before-publish=0.05"))
    c = sweep(config, 1, 60).coverage.faults["crash-before-publish"]
    assert c.reached >= 60 * 5 and 0 < c.fired < c.reached and c.runs_fired <= 60


def test_parallel_coverage_is_identical(fanin):
    config = config_for(fanin, Guards.parse("serialized"), faults=Faults.parse("crash-before-publish=0.05"))
    [a] = run_sweeps([config], 1, 40, jobs=1)
    [b] = run_sweeps([config], 1, 40, jobs=2)
    assert a.coverage.to_json() == b.coverage.to_json()


def test_a_sweep_traces_every_tenth_seed_for_reads_from(fanin):
    config = config_for(fanin, Guards.parse("both"))
    s = sweep(config, 1, 30)
    assert s.coverage.traced_runs == 3 and s.coverage.pairs
    [p] = run_sweeps([config], 1, 30, jobs=2)
    assert p.coverage.pairs == s.coverage.pairs and p.digest == s.digest


def test_reads_from_pairs_and_saturation(fanin):
    config = config_for(fanin, Guards.parse("none"))
    cov = coverage.SweepCoverage()
    for seed in range(1, 31):
        cov.add(coverage.of_output(run_one(config, seed, record=True).output))
    assert ("W6", "P6e") in cov.pairs  # a remaining count observed a worker's terminal write
    assert cov.curve == sorted(cov.curve) and cov.curve[-1] == len(cov.pairs)
    assert cov.to_json()["reads_from"]["distinct_pairs"] == len(cov.pairs)
    untraced = coverage.of_output(run_one(config, 1).output)
    assert untraced.reads_from is None


def _two_predecessors(extra: dict) -> dict:
    """Two plain predecessors of one task (as the catalog's two-predecessors), no with_items."""
    return {
        "name": "gate",
        "workflow": {
            "ref": "demo.gate",
            "tasks": [
                {"name": "a", "action": "demo.a", "next": [{"when": "{{ succeeded() }}", "do": ["c"]}]},
                {"name": "b", "action": "demo.a", "next": [{"when": "{{ succeeded() }}", "do": ["c"]}]},
                {"name": "c", "action": "demo.c"},
            ],
        },
        "runs": 40,
        "expect": [{"guards": "both", "duplicates": 0, **extra}],
    }


def test_expect_fails_when_a_guard_never_fired():
    """No with_items task: Layer 1's check never runs, so a gate that claims it does fails
    instead of passing on Layer 2 alone."""
    [result] = evaluate(from_dict(_two_predecessors({"reached": {"F1": "some"}})))
    assert not result.ok
    assert any("F1" in f and "saw 0" in f for f in result.failures)


def test_expect_passes_when_the_guard_did_fire():
    [result] = evaluate(from_dict(_two_predecessors({"reached": {"F2": "some"}, "decided": {"F2": "some"}})))
    assert result.ok, result.failures


def test_expect_rejects_an_unknown_point():
    with pytest.raises(ScenarioError):
        from_dict(_two_predecessors({"reached": {"Q9": "some"}}))


def test_coverage_in_json_and_terminal():
    r = CliRunner().invoke(cli, ["run", "with-items-fanin", "--guards", "both", "--runs", "30", "--json"])
    assert r.exit_code == 0, r.output
    cov = json.loads(r.stdout)["coverage"]
    assert cov["runs"] == 30 and cov["guards"]["F1"]["reached"] > 0
    r = CliRunner().invoke(cli, ["run", "with-items-fanin", "--guards", "both", "--runs", "30"])
    assert "coverage: F1 (layer1): reached" in r.stdout
