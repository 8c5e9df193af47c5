"""Issue 11 items 1-4, 7: the registry of findings, the exact checkers, the one JSON shape,
headlines per finding and per task, --fail-on and explore --stop-at-first."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from racesim.engine.expectations import evaluate
from racesim.engine.headlines import headlines
from racesim.engine.runner import config_for, run_one, sweep
from racesim.models import ops
from racesim.models.graph import Graph, Node, Transition, classify_when
from racesim.models.guards import Guards
from racesim.models.rows import ExecRow, WorkflowRow, WorkflowTask
from racesim.models.statuses import COMPLETED, FAILED
from racesim.scenarios.loader import from_dict
from racesim.sim import findings
from racesim.sim.checkers import check
from racesim.sim.db import LostWrite, SimDB

from racesim.cli import cli

SCHEMA = json.loads((Path(__file__).parent.parent / "schema" / "racesim-result.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def invoke(*args: str, code: int = 0) -> str:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert r.exit_code == code, r.output
    return r.stdout  # stderr ("wrote FILE", wall-clock lines) kept apart


def valid(data: dict) -> dict:
    VALIDATOR.validate(data)
    return data


# ---- the registry ------------------------------------------------------------------------------
def test_registry_names_kinds_and_schema_agree():
    assert findings.NAMES == (
        "duplicate_dispatch",
        "item_rerun",
        "lost_update",
        "wrong_outcome",
        "finished_overwritten",
        "missed_dispatch",
        "stuck_workflow",
    )
    assert set(findings.SAFETY) | set(findings.LIVENESS) == set(findings.NAMES)
    required = SCHEMA["$defs"]["result"]["properties"]["findings"]["required"]
    assert required == list(findings.NAMES), "a new checker must be added to the shipped schema"


def test_fail_on_parsing():
    assert findings.parse_fail_on(None) == tuple((n, None) for n in findings.SAFETY)
    assert findings.parse_fail_on("duplicate_dispatch:validate,lost_update") == (
        ("duplicate_dispatch", "validate"),
        ("lost_update", None),
    )
    assert findings.parse_fail_on("liveness") == (("missed_dispatch", None), ("stuck_workflow", None))
    for bad in ("dup", "lost_update:", ","):
        with pytest.raises(ValueError):
            findings.parse_fail_on(bad)


# ---- lost update: at the write ------------------------------------------------------------------
def _db_with_workflow() -> tuple[SimDB, int]:
    db = SimDB((1,))
    w = db.insert_workflow_execution(0, ops.InsertWorkflowExecution("start", 1, None))
    return db, w


def _read(db: SimDB, session: int, w: int) -> WorkflowRow:
    return db.read_workflow_execution(session, ops.ReadWorkflowExecution("P2", w))


def _write(db: SimDB, session: int, w: int, completed: tuple[str, ...]) -> None:
    db.update_workflow_execution(session, ops.UpdateWorkflowExecution("P14", w, (("completed_tasks", completed),)))


def test_planted_lost_update_is_seen_at_the_write_that_drops_it():
    db, w = _db_with_workflow()
    _read(db, 1, w)  # A reads C = []
    _read(db, 2, w)  # B reads C = []
    _write(db, 1, w, ("a",))  # A adds a
    _write(db, 2, w, ("b",))  # B overwrites with its own copy: a is lost
    assert db.lost_writes == [LostWrite(w, "P14", 2, "completed_tasks", "a")]


def test_no_lost_update_when_each_writer_read_the_previous_write():
    db, w = _db_with_workflow()
    _read(db, 1, w)
    _write(db, 1, w, ("a",))
    _read(db, 2, w)
    _write(db, 2, w, ("a", "b"))
    assert db.lost_writes == []


def test_a_rolled_back_write_loses_nothing():
    db, w = _db_with_workflow()
    _read(db, 1, w)
    _read(db, 2, w)
    _write(db, 1, w, ("a",))
    db.begin(2, ops.Begin("H3"))
    _write(db, 2, w, ("b",))
    assert len(db.lost_writes) == 1
    db.rollback(2)
    assert db.lost_writes == [] and db.workflows[w].completed_tasks == ("a",)


def _cli_json(*args: str) -> dict:
    return valid(json.loads(invoke(*args, "--json")))


def test_join_barrier_serialized_has_no_lost_update():
    # Issue 11: this reported 83 lost updates, flagging tasks whose advance returned at P3/H5.
    data = _cli_json("run", "join-barrier", "--guards", "serialized", "--runs", "200")
    assert data["lost_updates"] == 0
    assert data["findings"]["lost_update"]["verdict"] == "false"
    # the early completion is still reported, as what it is
    assert data["findings"]["missed_dispatch"]["by_task"]["merge"]["runs"] > 0
    assert data["findings"]["wrong_outcome"]["runs"] > 0


def test_join_barrier_with_two_replicas_still_shows_the_real_overwrites():
    data = _cli_json("run", "join-barrier", "--guards", "both", "--replicas", "2", "--runs", "200")
    lost = data["findings"]["lost_update"]
    assert lost["verdict"] == "true" and data["lost_updates"] == lost["occurrences"] > 0
    assert lost["by_task"]["fetch_a"]["occurrences"] + lost["by_task"]["fetch_b"]["occurrences"] == lost["occurrences"]
    assert lost["by_task"]["merge"]["occurrences"] == 0  # merge never finished, so it was never written
    assert any("P14 write of completed_tasks dropped" in line for line in lost["details"])


def test_live_style_verdict_without_write_records_is_unknown():
    g = Graph.build([Node("a", "x")])
    v = check(g, WorkflowRow(1, 100, COMPLETED, ("a",)), [ExecRow(1, "x", 100, COMPLETED, WorkflowTask(1, "a"))], [1], [1])
    assert v.results["lost_update"].verdict == findings.UNKNOWN
    assert "lost_update" not in v.findings()


# ---- finished rows written again: at the write ----------------------------------------------------------
def _db_with_item(status: str = COMPLETED) -> tuple[SimDB, int]:
    db, w = _db_with_workflow()
    eid = db.insert_execution(0, ops.InsertExecution("P8", "a", 100, WorkflowTask(w, "items", 0)))
    for step, s in (("S4", "scheduled"), ("W4", "running"), ("W6", status)):
        db.set_execution_status(1, ops.SetExecutionStatus(step, eid, s))
    return db, eid


def test_planted_rewrite_of_a_finished_row_is_seen_at_the_write():
    db, eid = _db_with_item(FAILED)
    db.now = 5.0
    db.set_execution_status(2, ops.SetExecutionStatus("W4", eid, "running"))
    [rw] = db.finished_rewrites
    assert (rw.execution_id, rw.before, rw.finished_by, rw.after, rw.step, rw.session, rw.at) == (
        eid,
        FAILED,
        "W6",
        "running",
        "W4",
        2,
        5.0,
    )
    row = db.executions[eid]
    wf = WorkflowRow(1, 100, COMPLETED, ("items",))
    g = Graph.build([Node("items", "a", 1, 1)])
    v = check(g, wf, [row], [eid], [eid, eid], lost_writes=[], rewrites=db.finished_rewrites)
    found = v.results["finished_overwritten"]
    assert found.verdict == findings.TRUE and found.by_task == {"items": 1}
    assert found.details == ["items[0]: failed by step W6, then running by step W4 (handed to workers once)"]
    assert "finished_overwritten" in v.findings()


def test_a_row_that_finishes_once_or_is_written_with_its_own_status_is_not_a_rewrite():
    db, eid = _db_with_item(COMPLETED)
    db.set_execution_status(2, ops.SetExecutionStatus("W6", eid, COMPLETED))  # same status again: no change
    assert db.finished_rewrites == []
    g = Graph.build([Node("items", "a", 1, 1)])
    v = check(g, WorkflowRow(1, 100, COMPLETED, ("items",)), [db.executions[eid]], [eid], [eid], lost_writes=[], rewrites=[])
    assert v.results["finished_overwritten"].verdict == findings.FALSE and v.findings() == []


def test_a_rewrite_after_a_second_hand_over_is_the_reruns_consequence():
    db, eid = _db_with_item(COMPLETED)
    db.set_execution_status(2, ops.SetExecutionStatus("W4", eid, "running"))  # the re-run starts
    g = Graph.build([Node("items", "a", 1, 1)])
    wf = WorkflowRow(1, 100, COMPLETED, ("items",))
    v = check(g, wf, [db.executions[eid]], [eid, eid], [eid], lost_writes=[], rewrites=db.finished_rewrites)
    assert v.results["finished_overwritten"].verdict == findings.FALSE
    assert v.results["item_rerun"].consequences == [
        "finished row written again: items[0]: completed by step W6, then running by step W4"
    ]


def test_a_rolled_back_rewrite_never_happened():
    db, eid = _db_with_item(COMPLETED)
    db.begin(3, ops.Begin("H3"))
    db.write_execution_row(3, ops.WriteExecutionRow("S4", db.executions[eid], "scheduled", 1))
    assert len(db.finished_rewrites) == 1
    db.rollback(3)
    assert db.finished_rewrites == [] and db.executions[eid].status == COMPLETED


def test_a_rolled_back_finish_leaves_the_finisher_it_found():
    db, eid = _db_with_item(COMPLETED)  # finished by W6
    db.begin(3, ops.Begin("H3"))
    db.set_execution_status(3, ops.SetExecutionStatus("R1", eid, FAILED))
    db.rollback(3)
    db.set_execution_status(2, ops.SetExecutionStatus("W4", eid, "running"))
    [rw] = db.finished_rewrites
    assert (rw.before, rw.finished_by, rw.after, rw.step) == (COMPLETED, "W6", "running", "W4")


def test_live_style_verdict_without_status_records_is_unknown():
    g = Graph.build([Node("a", "x")])
    v = check(g, WorkflowRow(1, 100, COMPLETED, ("a",)), [ExecRow(1, "x", 100, COMPLETED, WorkflowTask(1, "a"))], [1], [1])
    assert v.results["finished_overwritten"].verdict == findings.UNKNOWN
    assert "finished_overwritten" not in v.findings()


@pytest.mark.slow
@pytest.mark.parametrize("guards", ["serialized", "head", "head+recovery"])
def test_the_seed_never_writes_a_finished_row_again(guards):
    """Where no recovery write can end a row early and no item is handed over twice, the
    checker stays silent (the seed: short actions, nothing waits 300 s)."""
    data = _cli_json("run", "with-items-fanin", "--guards", guards, "--replicas", "2", "--runs", "300")
    assert data["findings"]["finished_overwritten"]["verdict"] == "false"
    assert data["findings"]["item_rerun"]["runs"] == 0


# ---- duplicates: the successor vs an item handed over twice ------------------------------------------
def _fanin_graph() -> Graph:
    return Graph.build(
        [
            Node("items", "a", 2, 2, None, (Transition(classify_when("{{ succeeded() }}"), ("validate",)),)),
            Node("validate", "b"),
        ]
    )


def _row(eid: int, task: str, index: int | None, status: str = COMPLETED) -> ExecRow:
    return ExecRow(eid, "a", 100, status, WorkflowTask(1, task, index))


def test_second_row_is_a_duplicate_dispatch_same_row_twice_is_a_rerun():
    children = [_row(1, "items", 0), _row(2, "items", 1), _row(3, "validate", None), _row(4, "validate", None)]
    wf = WorkflowRow(1, 100, COMPLETED, ("items", "validate"))
    v = check(_fanin_graph(), wf, children, [1, 2, 2, 3, 4], [1, 2, 3, 4], lost_writes=[])
    assert v.results["duplicate_dispatch"].by_task == {"validate": 1}
    assert v.results["item_rerun"].by_task == {"items": 1}
    assert v.duplicate_dispatches == 2  # the pre-registry view adds both
    clean = check(_fanin_graph(), wf, children[:3], [1, 2, 3], [1, 2, 3], lost_writes=[])
    assert clean.findings() == []


def test_wrong_outcome_caused_by_a_rerun_is_counted_there_only():
    # The PRE/FIX scheduler's write-back after a re-run put items in F although every row completed.
    children = [_row(1, "items", 0), _row(2, "items", 1)]
    wf = WorkflowRow(1, 100, FAILED, (), ("items",))
    v = check(_fanin_graph(), wf, children, [1, 2, 2], [1, 2], lost_writes=[])
    assert v.results["wrong_outcome"].verdict == findings.FALSE and v.wrong_outcomes == 0
    assert v.results["item_rerun"].consequences == ["wrong outcome: failed although items completed"]
    assert v.wrong_reasons == ["failed although items completed (caused by re-run of items)"]
    # without the re-run the same end state is a wrong outcome of its own
    alone = check(_fanin_graph(), wf, children, [1, 2], [1, 2], lost_writes=[])
    assert alone.results["wrong_outcome"].by_task == {"items": 1} and alone.wrong_outcomes == 1


def test_wrong_outcome_names_a_lost_update_as_its_cause():
    g = Graph.build([Node("check_a", "x"), Node("check_b", "x")])
    children = [_row(1, "check_a", None, FAILED), _row(2, "check_b", None)]
    wf = WorkflowRow(1, 100, COMPLETED, ("check_b",), ())
    lost = [LostWrite(1, "P14", 7, "failed_tasks", "check_a")]
    v = check(g, wf, children, [1, 2], [1, 2], lost_writes=lost)
    assert v.results["lost_update"].by_task == {"check_a": 1}
    assert v.results["wrong_outcome"].details == ["completed although check_a failed (lost update of check_a in failed_tasks)"]


def test_step_limit_makes_stuck_unknown_not_stuck():
    children = [_row(1, "items", 0), _row(2, "items", 1, "running")]
    wf = WorkflowRow(1, 100, "running")
    cut = check(_fanin_graph(), wf, children, [1, 2], [1], livelock=True, lost_writes=[])
    assert cut.results["stuck_workflow"].verdict == findings.UNKNOWN and "stuck_workflow" not in cut.findings()
    idle = check(_fanin_graph(), wf, children, [1, 2], [1], livelock=False, lost_writes=[])
    assert idle.results["stuck_workflow"].verdict == findings.TRUE


# ---- the seed scenario: per task, in JSON and in words -----------------------------------------------
@pytest.mark.slow
def test_with_items_fanin_both_per_task_view_and_headline():
    data = _cli_json("run", "with-items-fanin", "--guards", "both", "--runs", "500")
    for key in ("lost_updates", "wrong_outcomes", "faults", "schema_version"):
        assert key in data
    assert data["deployment"]["replicas"] == 1 and data["faults"] == "none"
    dup, rerun = data["findings"]["duplicate_dispatch"], data["findings"]["item_rerun"]
    assert dup["by_task"]["validate"] == {"runs": 0, "occurrences": 0, "first_seed": None}
    assert rerun["by_task"]["process_items"]["runs"] == rerun["runs"] > 0
    assert rerun["by_task"]["validate"]["occurrences"] == 0
    text = invoke("run", "with-items-fanin", "--guards", "both", "--runs", "500")
    assert "successor dispatched twice: in no run of 500 (process_items 0, validate 0)" in text
    assert f"item handed to workers twice: in {rerun['runs']} of 500 runs ({rerun['occurrences']} extra hand-overs" in text


def test_headlines_never_mix_runs_with_dispatches(fanin):
    s = sweep(config_for(fanin, Guards.parse("none")), 1, 60)
    by_name = {h.finding: h for h in headlines(s)}
    dup, rerun = by_name["duplicate_dispatch"], by_name["item_rerun"]
    assert dup.runs == s.findings["duplicate_dispatch"].runs and dup.unit == "extra rows dispatched"
    assert dup.occurrences == sum(t.occurrences for t in dup.by_task)
    # the pre-registry figure mixes both families; the headlines split them
    assert s.runs_with_duplicates >= max(dup.runs, rerun.runs)
    assert f"in {dup.runs} of 60 runs ({dup.occurrences} extra rows dispatched" in dup.sentence


def test_matrix_cells_split_successor_duplicates_from_item_reruns():
    text = invoke("matrix", "with-items-fanin", "--guards", "none,both", "--listeners", "1", "--runs", "60")
    assert "dup " not in text.replace("successor dup", "")  # no mixed "dup N/R" figure any more
    assert "successor dup: 0/60 runs" in text and "item re-run:" in text


# ---- --fail-on, --expect-zero, first_failing_seed ----------------------------------------------------
def test_fail_on_selects_what_fails(fanin):
    both = ("run", "with-items-fanin", "--guards", "both", "--runs", "60", "--json")
    default = json.loads(invoke(*both, "--expect-zero", code=1))
    assert default["first_failing_seed"] == default["findings"]["item_rerun"]["first_seed"]
    only_validate = json.loads(invoke(*both, "--expect-zero", "--fail-on", "duplicate_dispatch:validate"))
    assert only_validate["first_failing_seed"] is None and only_validate["fail_on"] == "duplicate_dispatch:validate"
    r = CliRunner().invoke(cli, ["run", "with-items-fanin", "--fail-on", "duplicate_dispatch:nosuch"])
    assert r.exit_code != 0


# ---- explore --stop-at-first -------------------------------------------------------------------------
def test_stop_at_first_reports_runs_to_the_first_failing_run():
    args = ("explore", "with-items-fanin", "--strategy", "random", "--guards", "none", "--runs", "200", "--stop-at-first")
    data = valid(json.loads(invoke(*args, "--fail-on", "duplicate_dispatch:validate", "--json")))
    n = data["runs_to_first_failure"]
    assert n is not None and data["runs"] == n and data["first_failing_seed"] == 1 + n - 1
    assert data["findings"]["duplicate_dispatch"]["runs"] == 1  # only the last run fails
    again = valid(json.loads(invoke(*args, "--fail-on", "duplicate_dispatch:validate", "--json")))
    assert again == data  # no wall clock in --json
    never = valid(json.loads(invoke(*args, "--guards", "serialized", "--fail-on", "duplicate_dispatch", "--json")))
    assert never["runs_to_first_failure"] is None and never["runs"] == 200


# ---- expect blocks: per-finding keys -----------------------------------------------------------------
def test_expect_block_per_finding_keys(fanin):
    raw = {
        "name": "fanin-claims",
        "workflow": {
            "ref": "demo.fanin",
            "tasks": [
                {
                    "name": "items",
                    "action": "a",
                    "with_items": 3,
                    "concurrency": 3,
                    "next": [{"when": "{{ succeeded() }}", "do": ["validate"]}],
                },
                {"name": "validate", "action": "b"},
            ],
        },
        "expect": [
            {"guards": "serialized", "runs": 30, "duplicate_dispatch": {"validate": 0}, "lost_update": 0},
            {"guards": "none", "runs": 30, "duplicate_dispatch": {"validate": 0}},
        ],
    }
    sc = from_dict(raw, "fanin-claims.yaml")
    held, contradicted = evaluate(sc)
    assert held.ok
    assert not contradicted.ok and contradicted.failures[0].startswith("expected none duplicate_dispatch of validate")
    gated = evaluate(sc, fail_on=(("lost_update", None),))[1]
    assert gated.ok and gated.ignored


# ---- every command's --json validates against the shipped schema ----------------------------------------
def test_every_command_json_validates(tmp_path):
    valid(json.loads(invoke("run", "fanin-2x2", "--runs", "5", "--json")))
    matrix = valid(json.loads(invoke("matrix", "fanin-2x2", "--runs", "5", "--replicas", "1,2", "--minimal", "--json")))
    assert matrix["cells"] and matrix["minimal"]
    for strategy in ("random", "pct"):
        valid(json.loads(invoke("explore", "fanin-2x2", "--strategy", strategy, "--runs", "5", "--json")))
    dfs = valid(json.loads(invoke("explore", "fanin-2x2", "--strategy", "dfs", "-k", "0", "--guards", "none", "--json")))
    assert dfs["command"] == "explore" and isinstance(dfs["deployment"], dict)
    args = ("explore", "fanin-2x2", "--strategy", "random", "--guards", "none", "--runs", "50")
    [saved] = json.loads(invoke(*args, "--save-failing", str(tmp_path), "--json"))["saved"]
    replay = valid(json.loads(invoke("replay", saved, "--json")))
    assert replay["command"] == "replay" and replay["digest_matches"] and replay["runs"] == 1
    check = valid(json.loads(invoke("check", "fanin-2x2", "--runs", "20", "--json")))
    assert check["results"] and all(r["command"] == "check" for r in check["results"])


def test_single_run_verdict_lists_every_finding(fanin):
    r = run_one(config_for(fanin, Guards.parse("none")), 4)
    assert list(r.verdict.results) == list(findings.NAMES)


def test_check_json_and_junit_carry_every_finding(tmp_path):
    import yaml
    from racesim.scenarios import loader as scenario_loader

    data = yaml.safe_load((scenario_loader.CATALOG / "fanin-2x2.yaml").read_text())
    data["name"], data["expect"] = "claims-safe", [{"guards": "none", "duplicate_dispatch": {"validate": 0}, "runs": 40}]
    path = tmp_path / "claims-safe.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    out = valid(json.loads(invoke("check", str(path), "--junit", str(tmp_path / "j.xml"), "--json", code=1)))
    [entry] = out["results"]
    assert not out["holds"] and not entry["holds"] and entry["replay"].startswith("racesim run")
    assert entry["failures"][0].startswith("expected none duplicate_dispatch of validate")
    junit = (tmp_path / "j.xml").read_text()
    for c in findings.REGISTRY:
        assert c.title in junit  # every registry finding, in words, in the testcase output


@pytest.mark.services
@pytest.mark.slow
def test_live_json_validates_and_lost_update_is_unknown():
    pytest.importorskip("psycopg")
    r = CliRunner().invoke(cli, ["live", "fanin-2x2", "--runs", "1", "--json"], catch_exceptions=False)
    if r.exit_code == 2 and "live run" in r.output:
        pytest.skip(f"services unavailable: {r.output.strip()}")
    assert r.exit_code == 0, r.output
    data = valid(json.loads(r.stdout))
    assert data["command"] == "live" and data["digest"] is None
    assert data["findings"]["lost_update"]["verdict"] == "unknown"  # PostgreSQL does not record overwrites


def test_a_finding_no_run_could_decide_says_so_and_why():
    """A live run decides neither lost_update nor finished_overwritten: the headline says
    undecided and why, never "in no run" (which would claim a check that did not happen); a
    run cut by the step limit says that instead."""
    from racesim.engine.runner import Summary
    from racesim.sim.config import Deployment, Faults

    g = Graph.build([Node("a", "x")])
    live_style = check(
        g, WorkflowRow(1, 100, COMPLETED, ("a",)), [ExecRow(1, "x", 100, COMPLETED, WorkflowTask(1, "a"))], [1], [1]
    )
    s = Summary("s", "head", 2, 1, Deployment(), Faults())
    s.add_verdict(1, live_style)
    s.add_verdict(2, live_style)
    said = {h.finding: h.sentence for h in headlines(s)}
    assert (
        said["lost_update"] == "update lost: undecided in all 2 runs (a live run's store does not record what a write replaced)"
    )
    assert said["finished_overwritten"].startswith("finished row written again: undecided in all 2 runs (a live run's")
    assert said["duplicate_dispatch"] == "successor dispatched twice: in no run of 2 (a 0)"
    cut = check(
        _fanin_graph(),
        WorkflowRow(1, 100, "running"),
        [_row(1, "items", 0)],
        [1],
        [1],
        livelock=True,
        lost_writes=[],
        rewrites=[],
    )
    s = Summary("s", "both", 1, 1, Deployment(), Faults())
    s.add_verdict(1, cut)
    said = {h.finding: h.sentence for h in headlines(s)}
    assert said["stuck_workflow"] == "workflow never finished: undecided in the one run (cut short by the step limit)"
    assert said["lost_update"].startswith("update lost: in no run of 1")
