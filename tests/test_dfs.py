"""dfs: sleep sets sound under the preemption bound (outcome sets equal with and without
POR), crashes enumerated under a budget, honest claims, bounded memory."""

from __future__ import annotations

import dataclasses
import gc
import json
import weakref

import pytest
from racesim.engine.exploration import checked_findings, dfs_claim, explore_dfs, run_scheduled
from racesim.engine.runner import config_for
from racesim.models.guards import Guards
from racesim.models.statuses import REQUESTED
from racesim.scenarios.loader import load
from racesim.sim.schedulers import dfs
from racesim.sim.trace import events

from racesim.cli import cli


@pytest.fixture(scope="module")
def small():
    return load("fanin-2x2")


def outcome(r) -> tuple:
    """What a schedule ends in: every finding per task, and every row's final status."""
    v = r.verdict
    rows = sorted((x.workflow_task.task_name, x.workflow_task.task_index or -1, x.status) for x in v_children(r))
    per_task = tuple(sorted((t, s.max_dispatches) for t, s in v.by_task.items()))
    return (tuple(v.findings()), per_task, v.stuck_workflows, v.missed_dispatches, tuple(rows))


def v_children(r):
    return r.output.db.workflow_children(r.output.workflow_id)


def outcomes_of(config, bound: int, por: bool, crashes: int = 0) -> tuple[set, int]:
    seen: set = set()
    result = explore_dfs(
        config, 0, bound, 100_000, por=por, on_schedule=lambda r: seen.add(outcome(r)), stop_at_first=False, crashes=crashes
    )
    assert result.complete
    return seen, result.schedules


@pytest.mark.slow
@pytest.mark.parametrize(("guards", "bound"), [("none", 0), ("both", 1), ("serialized", 1)])  # none at 1: test_explore.py
def test_por_keeps_every_outcome_within_the_preemption_bound(small, guards: str, bound: int) -> None:
    config = config_for(small, Guards.parse(guards))
    with_por, n_por = outcomes_of(config, bound, True)
    without, n_plain = outcomes_of(config, bound, False)
    assert with_por == without
    assert n_por <= n_plain


@pytest.mark.slow
def test_por_with_a_crash_budget_keeps_every_outcome(small) -> None:
    config = config_for(small, Guards.parse("fix"))
    with_por, _ = outcomes_of(config, 0, True, crashes=1)
    without, _ = outcomes_of(config, 0, False, crashes=1)
    assert with_por == without
    assert any("stuck_workflow" in o[0] for o in with_por)


@pytest.mark.slow
def test_dfs_with_one_crash_finds_the_fix_crash_between_d5_and_d6_and_completes(small) -> None:
    """FIX, one listener (spec 7(e)): the executor dies after inserting validate's row (D5),
    before publishing it (D6); the redelivered completion's advance sees the row at F2 and
    never publishes it: validate stays requested and the workflow is stuck."""
    config = config_for(small, Guards.parse("fix"))
    hits: list[int] = []
    counted = {"n": 0}

    def look(r) -> None:
        counted["n"] += 1
        crashes = [e for e in events(r.output.records) if e.op == "Crash"]
        validate = [x for x in v_children(r) if x.workflow_task.task_name == "validate"]
        if (
            crashes
            and crashes[0].step == "D6"
            and crashes[0].actor.startswith("exec")
            and [x.status for x in validate] == [REQUESTED]
            and r.verdict.stuck_workflows == 1
        ):
            hits.append(counted["n"])

    result = explore_dfs(config, 0, 0, 100_000, on_schedule=look, stop_at_first=False, crashes=1)
    assert result.complete and result.sampled_coins == 0
    assert hits, "no schedule crashed the executor between D5 and D6"
    line, claim = dfs_claim(result, *checked_findings(None)[:1], 0, 1, True, 0, 100_000)
    assert claim["complete"] and claim["crash_budget"] == 1 and "at most 1 crash" in line


def test_a_sampled_fault_never_gives_a_holds_claim(small, capsys) -> None:
    """The coin of crash-after-commit=0.5 is drawn from the seed, not enumerated: the search
    over picks completes, yet nothing is proved."""
    args = ["explore", "fanin-2x2", "--strategy", "dfs", "-k", "0", "--guards", "serialized", "--task", "validate"]
    with pytest.raises(SystemExit) as done:
        cli.main([*args, "--faults", "crash-after-commit=0.5", "--json"])
    assert done.value.code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["claim"]["holds"] is None and data["claim"]["sampled_coins"] > 0 and data["claim"]["complete"]
    with pytest.raises(SystemExit):
        cli.main([*args, "--faults", "crash-after-commit=0.5"])
    text = capsys.readouterr().out
    assert "holds" not in text and "no claim" in text and "not enumerated" in text
    with pytest.raises(SystemExit):
        cli.main(args)  # the same search without the sampled fault proves it
    text = capsys.readouterr().out
    assert "dfs: holds: no duplicate dispatches or re-runs of validate" in text and "at most 0 preemptions" in text


def test_a_search_too_large_is_one_line_and_exit_2(monkeypatch, capsys) -> None:
    monkeypatch.setattr(dfs, "MAX_STACK_ENTRIES", 3)
    with pytest.raises(SystemExit) as done:
        cli.main(["explore", "fanin-2x2", "--strategy", "dfs", "-k", "0"])
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.count("\n") == 1
    assert "too large for an exhaustive search" in err and "Traceback" not in err


def test_the_stack_keeps_one_small_node_per_step() -> None:
    """Memory follows the current schedule's depth: ready-actor tuples shared across steps,
    a footprint only for what was chosen, one object per distinct footprint."""
    config = dataclasses.replace(config_for(load("large-fanout"), Guards.parse("both")), max_steps=3000)
    sched = dfs.DFS(0, 1, True)
    run_scheduled(config, 0, sched)
    stack = sched.stack
    assert len(stack) == 3000
    distinct = len({id(n.enabled) for n in stack})
    assert distinct < len(stack) // 2
    assert sched.entries == dfs._entries(stack) < sum(len(n.enabled) for n in stack) // 2
    assert all(n.fp is not None and n.done == n.done_fps == () for n in stack)
    assert len({id(n.fp) for n in stack}) == len({n.fp for n in stack}) < len(stack) // 10


def test_the_search_frees_a_finished_run_before_the_next_one() -> None:
    """The previous schedule's world (stores, trace records, choice log) is gone when the next
    run starts, freed by reference count without the cycle collector: left to the collector
    it lived on beside the next world (issue 14: 346 MB at -k 1)."""
    config = dataclasses.replace(config_for(load("large-fanout"), Guards.parse("both")), max_steps=3000)
    worlds: list[weakref.ref] = []
    alive_at_start: list[int] = []

    def run(sched: dfs.DFS):
        alive_at_start.append(sum(w() is not None for w in worlds))
        attach = sched.attach

        def attached(world) -> None:
            worlds.append(weakref.ref(world))
            attach(world)

        sched.attach = attached  # type: ignore[method-assign]
        return run_scheduled(config, 0, sched)

    was_enabled = gc.isenabled()
    gc.disable()  # a world must not need the cycle collector to be freed
    try:
        result = dfs.search(run, 1, 3, is_failing=lambda r: False)
    finally:
        if was_enabled:
            gc.enable()
    assert result.schedules == 3 and result.max_depth == 3000
    assert alive_at_start == [0, 0, 0]


def test_schedules_cut_by_the_step_limit_give_no_holds_claim() -> None:
    """A schedule cut short by the step limit leaves stuck/missed undecided: a complete,
    unsampled search with such schedules proves nothing; without the cut it holds."""
    checked, check = checked_findings("validate")
    base = config_for(load("fanin-2x2"), Guards.parse("serialized"))
    for max_steps, expect_unknown in ((90, True), (None, False)):
        config = dataclasses.replace(base, max_steps=max_steps)
        result = explore_dfs(config, 0, 0, 100_000, is_failing=check, stop_at_first=False)
        assert result.complete and result.sampled_coins == 0 and result.failing is None
        line, claim = dfs_claim(result, checked, 0, 0, True, 0, 100_000)
        assert claim["unknown_schedules"] == result.unknown
        if expect_unknown:
            assert 1 < result.unknown <= result.schedules  # several schedules, every one cut
            assert claim["holds"] is None and "holds" not in line
            assert f"no claim: {result.unknown} schedules ended unknown (step limit)" in line
        else:
            assert result.unknown == 0 and claim["holds"] is True and "dfs: holds:" in line
