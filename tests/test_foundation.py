"""The seed race: the unguarded model duplicates validate, the fix does not (one listener)."""

import os
import subprocess
import sys

from racesim.engine.runner import run_one, sweep


def test_unguarded_duplicates_validate_within_1000_runs(config):
    summary = sweep(config("none"), 1, 1000)
    assert summary.by_task["validate"].runs_with_duplicates > 0
    assert summary.by_task["validate"].max_dispatches >= 2


def test_both_layers_one_listener_never_duplicate_validate_in_2000_runs(config):
    summary = sweep(config("both"), 1, 2000)
    assert summary.by_task["validate"].duplicate_dispatches == 0
    assert summary.stuck_workflows == 0


def test_each_layer_alone_blocks_the_sequential_listener_race(config):
    for guards in ("layer1", "layer2"):
        assert sweep(config(guards), 1, 300).by_task["validate"].duplicate_dispatches == 0


def test_same_seed_same_digest_in_process(config):
    a = run_one(config("none"), 42)
    b = run_one(config("none"), 42)
    assert a.digest == b.digest
    assert run_one(config("none"), 43).digest != a.digest


SNIPPET = """
from racesim.models.guards import Guards
from racesim.engine.runner import config_for, run_one, sweep
from racesim.scenarios.loader import load
sc = load("with-items-fanin")
print(run_one(config_for(sc, Guards.parse("none")), 7).digest, sweep(config_for(sc, Guards.parse("both")), 1, 20).digest)
"""


def test_digest_identical_across_processes_and_hash_seeds():
    outs = []
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        outs.append(subprocess.run([sys.executable, "-c", SNIPPET], env=env, capture_output=True, text=True, check=True).stdout)
    assert outs[0] == outs[1]
    assert len(outs[0].split()) == 2


def test_recorded_run_replays_to_the_same_digest(config):
    original = run_one(config("none"), 5, record=True)
    replayed = run_one(config("none"), 5, choices=original.output.choices)
    assert replayed.digest == original.digest
    assert replayed.verdict.duplicate_dispatches == original.verdict.duplicate_dispatches
