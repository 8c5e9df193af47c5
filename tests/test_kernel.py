"""The kernel: simpy carries the run, one seam for strategies, one choice source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from racesim.engine.runner import execute, run_one
from racesim.sim.choices import ChoiceSource, ReplayMismatch
from racesim.sim.schedulers.base import Strategy

SIM = Path(__file__).resolve().parent.parent / "sim"


def test_no_kernel_module_writes_simpy_private_state():
    for path in SIM.rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"\._now\b|\._queue\b|\._eid\b", text), path


class LastEnabled(Strategy):
    """A strategy written only against the seam: always the highest actor id."""

    name = "last"
    seen: list[int]

    def new_execution(self, seed: int) -> None:
        self.seen = []

    def choose(self, enabled, current):
        self.seen.append(len(enabled))
        return len(enabled) - 1


def test_a_strategy_written_against_the_seam_drives_a_run_that_replays(config):
    cfg = config("both")
    strategy = LastEnabled()
    first = execute(cfg, strategy, ChoiceSource(3, cfg.timing, timed=False, record=True))
    assert first.output.steps > 0 and not first.output.livelock
    picks = [c for c in first.output.choices if c[0] == "p"]
    assert [c[2] for c in picks] == strategy.seen  # the kernel recorded every pick it asked for
    assert any(c[1] for c in picks)  # and they preempt: not the default order
    replayed = run_one(cfg, 3, choices=first.output.choices)
    assert replayed.digest == first.digest


def test_strict_replay_rejects_a_misfit_and_lenient_replay_falls_back(config):
    cfg = config("none")
    original = run_one(cfg, 5, "pct", {"depth": 2, "length": 100}, record=True)
    choices = original.output.choices
    bad = [list(c) for c in choices]
    i = next(i for i, c in enumerate(bad) if c[0] == "p")
    bad[i] = ["c", 0]
    with pytest.raises(ReplayMismatch):
        run_one(cfg, 5, choices=bad)
    with pytest.raises(ReplayMismatch):
        run_one(cfg, 5, choices=choices[: len(choices) // 2])
    # lenient: past the end of the picks every pick is 0 (no preemption) and runs to the end
    lenient = run_one(cfg, 5, choices=choices[: len(choices) // 2], strict=False)
    assert lenient.output.steps > 0 and not lenient.output.livelock
    tail = [c for c in lenient.output.choices[len(choices) // 2 :] if c[0] == "p"]
    assert tail and all(c[1] == 0 for c in tail)


def test_random_timing_replays_under_the_controller_bit_for_bit(config):
    """A time-ordered run, recorded, replays through the controlling path with the same
    trace: the picks the kernel noted for simpy's order and the exact clock agree."""
    cfg = config("both")
    for seed in (1, 2, 3):
        original = run_one(cfg, seed, record=True)
        assert original.digest == run_one(cfg, seed).digest  # recording changes nothing
        assert run_one(cfg, seed, choices=original.output.choices).digest == original.digest


@pytest.mark.parametrize("strategy", ["random", "pct", "dfs"])
def test_a_finished_run_leaves_no_reference_cycle_to_collect(config, strategy):
    """A sweep drops each run as it goes: its world, actors and stores must be freed by
    reference count, not left to the cyclic collector (which then runs often, over memory
    that has gone cold)."""
    import gc

    from racesim.sim.db import SimDB
    from racesim.sim.world import Actor, World

    cfg = config("serialized")
    run_one(cfg, 1, strategy)  # warm caches
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for seed in (2, 3, 4):
            run_one(cfg, seed, strategy)
        gc.collect()
        kept = [type(o).__name__ for o in gc.garbage if isinstance(o, World | Actor | SimDB)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert kept == []


@pytest.mark.parametrize("guards", ["none", "layer1", "both", "serialized"])
@pytest.mark.parametrize("replicas", [1, 2])
def test_the_lean_loop_and_the_recording_loop_make_the_same_runs(config, guards, replicas):
    """A sweep's lean run (``World._live_lean``), a traced run and a recorded run (both
    ``World._live``) of one seed: same schedule, clock and verdict (the digest), and the
    traced run records the same steps as the recorded one."""
    from racesim.sim.config import Deployment

    cfg = config(guards, deployment=Deployment(replicas=replicas, workers=2))
    for seed in (10, 20, 30):
        traced = run_one(cfg, seed, trace=True)
        recorded = run_one(cfg, seed, record=True)
        assert traced.output.traced and traced.output.choices is None
        assert traced.output.records == recorded.output.records and traced.output.records
        lean = run_one(cfg, seed)
        assert traced.digest == recorded.digest == lean.digest
        assert traced.output.decisions == lean.output.decisions  # the guard checks coverage counts


def test_writes_and_commits_are_timed_by_their_transaction_state(fanin):
    """``db_write_latency`` times a write outside a transaction (an autocommit flush), and
    ``db_commit_latency`` a COMMIT whose transaction wrote; a write inside a transaction and
    an empty COMMIT travel on ``db_latency``."""
    import dataclasses

    from racesim.engine.runner import config_for
    from racesim.models.guards import Guards
    from racesim.sim.timing import TimingModel

    timing = TimingModel.from_spec(
        {
            "db_latency": {"dist": "constant", "value": 0.001},
            "db_write_latency": {"dist": "constant", "value": 0.5},
            "db_commit_latency": {"dist": "constant", "value": 0.25},
        }
    )
    assert timing.splits_db and not TimingModel.from_spec({"db_latency": {"dist": "constant", "value": 1}}).splits_db

    def durations(guards: str) -> dict[str, set[float]]:
        cfg = dataclasses.replace(config_for(fanin, Guards.parse(guards)), timing=timing)
        records = run_one(cfg, 1, record=True).output.records
        by_actor: dict[str, float] = {}
        out: dict[str, set[float]] = {}
        for t, actor, _step, op, _args, _result in records:
            if actor in by_actor and op in ("SetExecutionStatus", "UpdateWorkflowExecution", "Commit", "ReadExecution"):
                out.setdefault(op, set()).add(round(t - by_actor[actor], 6))
            by_actor[actor] = t
        return out

    pre = durations("pre")  # no transaction anywhere: every write flushes
    assert pre["SetExecutionStatus"] == {0.5} and pre["UpdateWorkflowExecution"] == {0.5}
    assert pre["ReadExecution"] == {0.001}
    head = durations("head")  # the advance writes inside BEGIN..COMMIT; the worker autocommits
    assert head["UpdateWorkflowExecution"] == {0.001}
    assert 0.25 in head["Commit"] and head["Commit"] <= {0.25, 0.001}  # an advance that wrote nothing commits fast
    assert head["SetExecutionStatus"] >= {0.5}


@pytest.mark.parametrize("guards", ["pre", "head"])
def test_the_lean_loop_resolves_write_and_commit_channels_as_the_recording_loop_does(fanin, guards):
    import dataclasses

    from racesim.engine.runner import config_for
    from racesim.models.guards import Guards
    from racesim.sim.timing import TimingModel

    timing = TimingModel.from_spec(
        {
            "db_latency": {"dist": "exponential", "mean": 0.0002},
            "db_write_latency": {"dist": "exponential", "mean": 0.006},
            "db_commit_latency": {"dist": "normal", "mean": 0.006, "sd": 0.001},
        }
    )
    cfg = dataclasses.replace(config_for(fanin, Guards.parse(guards)), timing=timing)
    for seed in (1, 2, 3):
        assert run_one(cfg, seed).digest == run_one(cfg, seed, record=True).digest == run_one(cfg, seed, trace=True).digest
