"""Issue 4: PCT, bounded DFS with sleep sets, schedule files, replay and shrinking."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest
from racesim.engine.exploration import estimate_length, explore_dfs, failing_check, schedule_of, shrink_run
from racesim.engine.runner import config_for, run_one
from racesim.models.guards import Guards
from racesim.scenarios.loader import load
from racesim.sim import schedule_file
from racesim.sim.shrink import deviations, finding_of, same_finding

from racesim.commands.explore import replay_file

# scenarios/fanin-2x2.yaml: 2 items, both requested at once, one worker with 2 slots, one
# listener: small enough to reason about by hand. Unguarded, the listener sees remaining = 0 once per completion processed after
# both items finished, so validate runs once or twice, never more.
VALIDATE = failing_check("validate")


def _validate_runs(result) -> int:
    return result.verdict.by_task["validate"].max_dispatches


@pytest.fixture(scope="module")
def small():
    return load("fanin-2x2")


@pytest.fixture(scope="module")
def fix_two_replicas(fanin):
    return config_for(fanin, Guards.parse("both"), replace(fanin.deployment, replicas=2))


@pytest.fixture(scope="module")
def pct_failing(fix_two_replicas):
    """The first PCT (d=3) run that duplicates validate under both guards and 2 replicas."""
    params = {"depth": 3, "length": estimate_length(fix_two_replicas)}
    for seed in range(1, 200):
        r = run_one(fix_two_replicas, seed, "pct", params)
        if VALIDATE(r):
            return seed, params, run_one(fix_two_replicas, seed, "pct", params, record=True)
    pytest.fail("PCT d=3 found no validate duplicate in 199 runs")


def test_pct_finds_the_fix_duplicate_with_two_replicas(pct_failing):
    seed, params, r = pct_failing
    assert r.verdict.by_task["validate"].duplicate_dispatches >= 1
    assert params["depth"] == 3


def test_pct_is_deterministic_per_seed_and_differs_across_seeds(fix_two_replicas):
    params = {"depth": 2, "length": 150}
    a = run_one(fix_two_replicas, 3, "pct", params)
    assert a.digest == run_one(fix_two_replicas, 3, "pct", params).digest
    assert len({run_one(fix_two_replicas, s, "pct", params).digest for s in range(4, 9)}) > 1


@pytest.mark.slow
def test_dfs_finds_the_unguarded_duplicate_and_completes(small):
    config = config_for(small, Guards.parse("none"))
    first = explore_dfs(config, 0, 0, 1000, is_failing=VALIDATE)
    assert first.failing is not None and _validate_runs(first.failing) == 2
    seen: list[int] = []
    full = explore_dfs(config, 0, 1, 5000, on_schedule=lambda r: seen.append(_validate_runs(r)), stop_at_first=False)
    assert full.complete
    # by hand: one validate per completion processed after both items finished. None at all
    # (an item re-run completing the workflow early, a missed dispatch) takes more than one
    # preemption since the start runs in the scheduler's handler (PCT finds it, 9 in 3,000)
    assert set(seen) == {1, 2}
    assert full.schedules == len(seen)


def test_dfs_proves_the_fix_with_one_listener_up_to_one_preemption(small):
    r = explore_dfs(config_for(small, Guards.parse("both")), 0, 1, 5000, is_failing=VALIDATE)
    assert r.complete and r.failing is None and r.schedules > 1


@pytest.mark.slow
def test_sleep_sets_skip_schedules_but_not_outcomes(small):
    """POR at a bound against the unreduced search at the same bound, outcome by outcome."""
    config = config_for(small, Guards.parse("none"))
    outcomes = {True: set(), False: set()}
    results = {}
    for por in (True, False):
        results[por] = explore_dfs(
            config,
            0,
            1,
            20_000,
            por=por,
            on_schedule=lambda r, por=por: outcomes[por].add((_validate_runs(r), r.verdict.by_task["items"].max_dispatches)),
            stop_at_first=False,
        )
        assert results[por].complete
    # Sleep sets are kept sound under the bound (sim/schedulers/dfs.py): no outcome is lost
    # (plain sleep sets once cut one at bound 1), item re-runs included.
    assert outcomes[True] == outcomes[False]
    assert {(1, 2), (2, 2)} <= outcomes[True]
    assert (2, 1) in outcomes[True]  # the duplicate itself is found with the reduction on
    assert results[True].schedules < results[False].schedules


def test_dfs_cut_short_is_reported(small):
    r = explore_dfs(config_for(small, Guards.parse("both")), 0, 2, 5, is_failing=VALIDATE)
    assert not r.complete and r.schedules == 5


def test_saved_schedule_replays_to_same_digest_and_finding(pct_failing, fix_two_replicas, tmp_path):
    seed, params, r = pct_failing
    path = tmp_path / "s.json"
    schedule_file.save(path, schedule_of("with-items-fanin", fix_two_replicas, "pct", params, seed, r))
    loaded, replayed = replay_file(str(path))
    assert loaded.choices == r.output.choices
    assert replayed.digest == r.digest == loaded.digest
    assert finding_of(replayed.verdict) == loaded.finding == finding_of(r.verdict)
    proc = subprocess.run([sys.executable, "-m", "racesim.cli", "replay", str(path), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["digest"] == r.digest and out["finding_matches"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "racesim.cli", *args], capture_output=True, text=True)


def test_corrupted_or_misfitting_file_exits_2_with_one_line(pct_failing, fix_two_replicas, tmp_path):
    seed, params, r = pct_failing
    good = schedule_of("with-items-fanin", fix_two_replicas, "pct", params, seed, r).to_json()
    truncated = tmp_path / "truncated.json"
    truncated.write_text(json.dumps(good)[:500])
    misfit = tmp_path / "misfit.json"
    choices = [list(c) for c in good["choices"]]
    i = next(i for i, c in enumerate(choices) if c[0] == "p" and c[2] > 1)
    choices[i] = ["p", 0, choices[i][2] + 5]  # a pick among more actors than the model offers
    misfit.write_text(json.dumps({**good, "choices": choices}))
    badtype = tmp_path / "badtype.json"
    badtype.write_text(json.dumps({**good, "seed": "one"}))
    for path, words in ((truncated, "not a valid JSON"), (misfit, "no longer fit"), (badtype, "'seed' must be int")):
        proc = _cli("replay", str(path))
        assert proc.returncode == 2, (path, proc.stdout[-300:], proc.stderr)
        assert proc.stderr.count("\n") == 1 and words in proc.stderr, proc.stderr


def test_oversized_file_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(schedule_file, "MAX_BYTES", 100)
    path = tmp_path / "big.json"
    path.write_text(" " * 200)
    with pytest.raises(schedule_file.ScheduleError, match="larger than"):
        schedule_file.load(path)


def test_shrunk_counterexample_still_fails_and_is_no_longer(pct_failing, fix_two_replicas, tmp_path):
    _, _, r = pct_failing
    finding = {"duplicates": 1, "by_task": {"validate": 1}}
    s = shrink_run(fix_two_replicas, r.output.choices, finding)
    shrunk = s.shrunk.result
    assert same_finding(finding, shrunk.verdict) and shrunk.verdict.by_task["validate"].duplicate_dispatches >= 1
    assert len(s.shrunk.choices) <= len(r.output.choices)
    assert deviations(s.shrunk.choices) <= deviations(r.output.choices)
    assert s.shrunk.key() <= s.original.key()
    # the shrunk schedule is itself a valid schedule file that replays exactly
    path = tmp_path / "shrunk.json"
    schedule_file.save(path, schedule_of("with-items-fanin", s.shrunk.config, "shrunk", {}, 0, shrunk))
    _, replayed = replay_file(str(path))
    assert replayed.digest == shrunk.digest


def test_shrinking_may_cut_items_and_the_shrunk_file_still_replays(tmp_path):
    import json
    import subprocess
    import sys

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "racesim.cli",
            "explore",
            "with-items-fanin",
            "--strategy",
            "random",
            "--guards",
            "none",
            "--runs",
            "30",
            "--task",
            "validate",
            "--save-failing",
            str(tmp_path),
            "--shrink",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    shrunk = json.loads(run.stdout)["shrunk"]
    assert shrunk["items"][1]["process_items"] <= shrunk["items"][0]["process_items"] == 5
    assert shrunk["choices"][1] <= shrunk["choices"][0]
    [path] = tmp_path.glob("*-shrunk.json")
    saved = json.loads(path.read_text())
    assert saved["items"] == shrunk["items"][1] and saved["finding"]["by_task"].get("validate")
    replay = subprocess.run([sys.executable, "-m", "racesim.cli", "replay", str(path)], capture_output=True, text=True)
    assert replay.returncode == 0, replay.stderr
    assert f"digest {saved['digest']}" in replay.stdout
