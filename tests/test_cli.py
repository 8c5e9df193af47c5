"""The command line: JSON fields, exit codes, one-line errors."""

import json
import subprocess
import sys

# The pre-registry fields, still present and in this order (schema/racesim-result.schema.json adds the rest).
FIELDS = [
    "scenario",
    "guards",
    "runs",
    "seed",
    "runs_with_duplicates",
    "duplicate_dispatches",
    "max_dispatches_per_task",
    "missed_dispatches",
    "stuck_workflows",
    "first_failing_seed",
    "digest",
    "by_task",
    "coverage",
]


def racesim(*args):
    return subprocess.run([sys.executable, "-m", "racesim.cli", *args], capture_output=True, text=True)


def test_run_json_has_exactly_the_fields():
    r = racesim("run", "with-items-fanin", "--guards", "none", "--runs", "30", "--seed", "1", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [k for k in data if k in FIELDS] == FIELDS
    assert data["schema_version"] == 1 and isinstance(data["deployment"], dict) and data["faults"] == "none"
    assert set(data["by_task"]["validate"]) == {
        "duplicate_dispatches",
        "max_dispatches",
        "runs_with_duplicates",
        "first_failing_seed",
    }


def test_matrix_json_one_object_per_guard_set():
    r = racesim("matrix", "with-items-fanin", "--runs", "20", "--guards", "none,layer1,layer2,both", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["cells"]
    # two deployments by default (the scenario's one executor and two replicas), guard sets within
    assert [row["guards"] for row in rows] == ["none", "layer1", "layer2", "both"] * 2


def test_expect_zero_exits_1_on_duplicates():
    r = racesim("run", "with-items-fanin", "--guards", "none", "--runs", "50", "--expect-zero", "--json")
    assert r.returncode == 1


def test_trace_marks_the_duplicate_dispatch():
    sweep = json.loads(racesim("run", "with-items-fanin", "--guards", "none", "--runs", "100", "--json").stdout)
    seed = sweep["by_task"]["validate"]["first_failing_seed"]
    r = racesim("run", "with-items-fanin", "--guards", "none", "--seed", str(seed), "--runs", "1", "--trace")
    assert r.returncode == 0
    assert "DUPLICATE #2 of validate" in r.stdout


def test_bad_input_is_one_line_exit_2():
    for args in (
        ["run", "no-such-scenario"],
        ["run", "with-items-fanin", "--guards", "bogus"],
        ["run", "with-items-fanin", "--runs", "0"],
        ["matrix", "with-items-fanin", "--replicas", "x"],
        ["run", "with-items-fanin", "--frobnicate"],
    ):
        r = racesim(*args)
        assert r.returncode == 2, args
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "Traceback" not in r.stderr


def test_run_save_failing_then_replay_gives_the_same_digest(tmp_path):
    r = racesim("run", "with-items-fanin", "--guards", "none", "--runs", "30", "--save-failing", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    files = sorted(tmp_path.glob("*.json"))
    assert files
    saved = json.loads(files[0].read_text())
    replay = racesim("replay", str(files[0]))
    assert replay.returncode == 0, replay.stderr
    assert f"digest {saved['digest']}" in replay.stdout
