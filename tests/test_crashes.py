"""Crashes as choices (issue 11 item 5): any actor at any yield point, through the seam.

The spec's crash windows (7(e)) are reached by a strategy that chooses one crash at a
named step, the way a dfs with ``--crashes 1`` would; each test shows the consequence,
and a contrast shows it is the crash that causes it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from racesim.engine.runner import config_for, execute, run_one, sweep
from racesim.models import ops
from racesim.models.guards import Guards
from racesim.models.statuses import REQUESTED, RUNNING
from racesim.sim.choices import ChoiceSource
from racesim.sim.config import Faults
from racesim.sim.faults import CRASH_EXECUTOR, CRASH_WORKER, CRASH_WORKER_PROCESS
from racesim.sim.schedulers.random_timing import RandomTiming
from racesim.sim.trace import events
from racesim.sim.world import Actor


class CrashAt(RandomTiming):
    """Random timing, plus one crash chosen at the first yield point ``want`` accepts."""

    crash_budget = 1

    def __init__(self, kind: str, want) -> None:
        self.kind = kind
        self.want = want

    def choose_crash(self, actor: Actor, n: int) -> int:
        options = self.world.crash_options(actor)
        if self.kind in options and self.want(self.world, actor, actor.op):
            return options.index(self.kind) + 1
        return 0


def _run(cfg, seed: int, strategy) -> object:
    return execute(cfg, strategy, ChoiceSource(seed, cfg.timing, timed=True, record=True))


def _task_rows(db, task: str):
    return [r for r in db.executions.values() if r.workflow_task is not None and r.workflow_task.task_name == task]


def _publishes_request_for(task: str):
    def want(world, actor, op) -> bool:
        if type(op) is not ops.Publish or op.step != "D6":
            return False
        row = world.db.executions.get(op.message.execution_id)
        return row is not None and row.workflow_task is not None and row.workflow_task.task_name == task

    return want


def test_fix_executor_crash_between_d5_and_d6_leaves_the_successor_requested_forever(fanin):
    """FIX, one listener: the advance inserted validate's row (D5) and the executor dies
    before publishing it (D6). The completion is redelivered, the restarted executor's
    advance finds the row at F2 and does not publish again: validate stays requested."""
    cfg = config_for(fanin, Guards.parse("fix"))
    hits = 0
    for seed in range(1, 6):
        r = _run(cfg, seed, CrashAt(CRASH_EXECUTOR, _publishes_request_for("validate")))
        crashes = [e for e in events(r.output.records) if e.op == "Crash"]
        assert len(crashes) == 1 and crashes[0].step == "D6"
        [validate] = _task_rows(r.output.db, "validate")
        assert validate.status == REQUESTED
        assert validate.id not in r.output.dispatched
        assert r.verdict.stuck_workflows == 1
        assert any("validate" in reason and "requested" in reason for reason in r.verdict.stuck_reasons)
        f2 = [e for e in events(r.output.records) if e.step == "F2" and e.time > crashes[0].time]
        assert f2, "the redelivered completion's advance reached F2"
        hits += 1
        assert run_one(cfg, seed, choices=r.output.choices).digest == r.digest  # the chosen crash replays
        # the same seed without the crash finishes, validate dispatched once
        clean = run_one(cfg, seed)
        assert clean.verdict.stuck_workflows == 0 and clean.verdict.by_task["validate"].max_dispatches == 1
    assert hits == 5


def test_serialized_crash_before_commit_rolls_back_and_the_redelivery_starts_clean(fanin):
    """Under the lock: the executor dies at COMMIT of the advance that would dispatch
    validate. The transaction rolls back and the lock goes with the connection; the
    redelivered completion's advance takes the lock and does the work once."""
    cfg = config_for(fanin, Guards.parse("serialized"))

    def at_commit(world, actor, op) -> bool:
        return type(op) is ops.Commit and any(  # this transaction inserted validate's row
            r.workflow_task is not None and r.workflow_task.task_name == "validate" for r in world.db.executions.values()
        )

    for seed in range(1, 6):
        r = _run(cfg, seed, CrashAt(CRASH_EXECUTOR, at_commit))
        evs = events(r.output.records)
        [crash] = [e for e in evs if e.op == "Crash"]
        assert crash.step == "H20"
        assert r.verdict.stuck_workflows == 0 and r.verdict.duplicate_dispatches == 0
        [validate] = _task_rows(r.output.db, "validate")  # the rolled-back insert left no row
        assert validate.id in r.output.dispatched
        commits = [e for e in evs if e.op == "Commit" and e.time > crash.time]
        assert commits, "a later advance committed"
        assert not r.output.db.lock_holder  # no lock outlived its connection


def _worker_crash(kind: str):
    """Crash at the second item's W5 run on worker 1 while another item runs there."""

    def want(world, actor, op) -> bool:
        if type(op) is not ops.RunAction or not actor.group == "worker1":
            return False
        return len([r for r in _task_rows(world.db, "process_items") if r.status == RUNNING]) >= 2

    return CrashAt(kind, want)


def test_a_worker_process_crash_takes_all_its_slots_a_slot_crash_only_one(fanin):
    cfg = config_for(fanin, Guards.parse("fix"), deployment=replace(fanin.deployment, workers=1))
    compared = 0
    for seed in range(1, 8):
        slot = _run(cfg, seed, _worker_crash(CRASH_WORKER))
        proc = _run(cfg, seed, _worker_crash(CRASH_WORKER_PROCESS))
        if not any(e.op == "Crash" for e in events(proc.output.records)):
            continue
        stuck_slot = [r for r in _task_rows(slot.output.db, "process_items") if r.status == RUNNING]
        stuck_proc = [r for r in _task_rows(proc.output.db, "process_items") if r.status == RUNNING]
        assert len(stuck_slot) == 1  # only the crashed slot's execution never finishes
        assert len(stuck_proc) >= 2  # every execution running on the worker is lost
        assert proc.verdict.stuck_workflows == 1 and slot.verdict.stuck_workflows == 1
        restart = [e for e in events(proc.output.records) if e.step == "restart"]
        assert restart, "the worker process came back"
        compared += 1
    assert compared >= 3


def test_sampled_crashes_are_choices_that_replay_and_stay_silent_at_zero(config):
    cfg = config("fix", faults=Faults.parse("crash=0.02"))
    crashed = 0
    for seed in range(1, 30):
        r = run_one(cfg, seed, record=True)
        points = [c for c in r.output.choices if c[0] == "x"]
        assert points, "every yield point of a crashable actor is a choice point"
        crashed += any(c[1] for c in points)
        assert run_one(cfg, seed, choices=r.output.choices).digest == r.digest == run_one(cfg, seed).digest
    assert crashed > 0
    # probability 0 (the default): no choice point, the run is the plain one
    plain = config("fix")
    r = run_one(plain, 4, record=True)
    assert not [c for c in r.output.choices if c[0] == "x"]


@pytest.mark.parametrize("strategy", ["pct", "dfs"])
def test_crash_choices_replay_under_controlling_strategies(config, strategy):
    cfg = config("serialized", faults=Faults.parse("crash=0.05"))
    for seed in range(1, 6):
        r = run_one(cfg, seed, strategy, record=True)
        assert run_one(cfg, seed, choices=r.output.choices).digest == r.digest


def test_crashes_make_a_sweep_find_stuck_workflows_that_the_plain_sweep_does_not(config):
    assert sweep(config("serialized"), 1, 100).stuck_workflows == 0
    assert sweep(config("serialized", faults=Faults.parse("crash=0.01")), 1, 100).stuck_workflows > 0


def test_shrinking_carries_the_crash_that_the_finding_needs(fanin):
    """A duplicate found under FIX with two replicas and sampled crashes shrinks to a
    schedule that keeps its crash choice points (the lenient replay carries them)."""
    from racesim.engine.exploration import shrink_run
    from racesim.sim.shrink import finding_of

    cfg = config_for(
        fanin, Guards.parse("fix"), deployment=replace(fanin.deployment, replicas=2), faults=Faults.parse("crash=0.01")
    )
    for seed in range(1, 400):
        r = run_one(cfg, seed, record=True)
        if r.verdict.duplicate_dispatches and any(c[0] == "x" and c[1] for c in r.output.choices):
            break
    else:
        pytest.fail("no duplicate with a crash in 400 runs")
    result = shrink_run(cfg, r.output.choices, finding_of(r.verdict), max_runs=60)
    shrunk = result.shrunk.result
    assert shrunk.verdict.duplicate_dispatches > 0
    assert [c for c in shrunk.output.choices if c[0] == "x"]  # the choice points are carried
    replayed = run_one(result.shrunk.config, 0, choices=shrunk.output.choices)
    assert replayed.digest == shrunk.digest
