"""Issue 16's bad arguments and misleading messages, each as a test: one line, the right exit."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from racesim.cli import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line(result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.fixture(scope="module")
def schedule(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sched")
    r = invoke("run", "with-items-fanin", "--guards", "none", "--runs", "6", "--save-failing", str(d))
    assert r.exit_code == 0, r.output
    return sorted(d.glob("*.json"))[0]


def edited(schedule: Path, tmp_path: Path, change) -> Path:
    data = json.loads(schedule.read_text())
    change(data)
    out = tmp_path / "edited.json"
    out.write_text(json.dumps(data))
    return out


# item 4
@pytest.mark.parametrize("command", [["replay"], ["shrink"], ["live", "with-items-fanin", "--from-schedule"]])
def test_deeply_nested_schedule_is_one_line(tmp_path, command):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    assert "nested too deeply" in one_line(invoke(*command, str(deep)))


# item 5: decided: negative seeds are refused (random.seed(n) would seed with abs(n))
@pytest.mark.parametrize("command", ["run", "matrix", "explore", "check"])
def test_negative_seed_is_refused(command):
    assert "-5" in one_line(invoke(command, "with-items-fanin", "--seed", "-5", "--runs", "1"))


def test_negative_seed_in_a_schedule_file_is_refused(schedule, tmp_path):
    f = edited(schedule, tmp_path, lambda d: d.update(seed=-4))
    assert "seed must be at least 0" in one_line(invoke("replay", str(f)))


# item 6
@pytest.mark.parametrize("axis", ["--guards", "--faults"])
def test_matrix_with_an_empty_axis_is_refused(axis):
    assert axis in one_line(invoke("matrix", "with-items-fanin", axis, ",", "--runs", "1"))


# item 7: decided: a finding that no longer matches is a contradicted expectation, exit 1
def test_replay_says_when_the_recorded_finding_no_longer_matches(schedule, tmp_path):
    assert invoke("replay", str(schedule)).exit_code == 0
    f = edited(schedule, tmp_path, lambda d: d["finding"].update(duplicates=99))
    r = invoke("replay", str(f))
    assert "the finding differs" in one_line(r, 1)


def test_replay_refuses_an_unknown_strategy_and_duplicate_keys(schedule, tmp_path):
    f = edited(schedule, tmp_path, lambda d: d.update(strategy="magic"))
    assert "unknown strategy 'magic'" in one_line(invoke("replay", str(f)))
    text = schedule.read_text()
    dup = tmp_path / "dup.json"
    dup.write_text(text.replace('"guards": "none"', '"guards": "none", "guards": "serialized"', 1))
    assert "duplicate JSON key 'guards'" in one_line(invoke("replay", str(dup)))


def test_shrink_honours_its_budget(schedule, tmp_path):
    r = invoke("shrink", str(schedule), "--max-runs", "1", "-o", str(tmp_path / "s.json"))
    assert r.exit_code == 0, r.output
    assert "shrunk in 1 run " in r.stdout
    assert "--max-runs" in one_line(invoke("shrink", str(schedule), "--max-runs", "0"))


# item 8
def test_scenario_name_from_a_file_stem_is_validated(tmp_path):
    catalog = Path(__file__).resolve().parents[1] / "scenarios" / "with-items-fanin.yaml"
    text = "\n".join(line for line in catalog.read_text().splitlines() if not line.startswith("name:"))
    bad = tmp_path / "<img src=x onerror=alert(3)>\u202etxt.yaml"
    bad.write_text(text)
    line = one_line(invoke("run", str(bad), "--runs", "1"))
    assert "not a valid name" in line and "\\u202e" in line.split(": name: ")[1]
    good = tmp_path / "my-copy.yaml"
    good.write_text(text)
    assert invoke("run", str(good), "--runs", "1", "--json").exit_code == 0


# item 9: decided: refused (spec 6.5: attune completes it at once with nothing run)
def test_a_workflow_with_no_entry_task_is_refused(tmp_path):
    cycle = tmp_path / "cycle.yaml"
    cycle.write_text(
        "workflow:\n  tasks:\n"
        "    - {name: a, action: x, next: [{when: '{{ succeeded() }}', do: [b]}]}\n"
        "    - {name: b, action: x, next: [{when: '{{ succeeded() }}', do: [a]}]}\n"
    )
    assert "no entry task" in one_line(invoke("validate", str(cycle)))


# item 10
def test_a_directory_or_a_non_yaml_file_is_not_called_missing(tmp_path):
    assert "is a directory" in one_line(invoke("run", str(tmp_path)))
    txt = tmp_path / "scenario.txt"
    txt.write_text("name: x\n")
    assert "ends in .yaml" in one_line(invoke("run", str(txt)))


def test_guard_error_lists_each_choice_once_as_typed():
    line = one_line(invoke("run", "with-items-fanin", "--guards", "nope"))
    choices = line.split("choose from: ")[1].rstrip(")").split(", ")
    assert len(choices) == len(set(choices)) and "release-one" in choices and "release_one" not in choices


def test_deployment_limits_are_the_scenario_files(tmp_path):
    r = invoke("run", "with-items-fanin", "--runs", "1", "--prefetch", "100", "--json")
    assert r.exit_code == 0, r.output
    line = one_line(invoke("explore", "with-items-fanin", "--worker-slots", "5000"))
    assert line.startswith("racesim: error: --worker-slots: must be between 1 and 1000")


def test_check_help_offers_only_usable_strategies():
    r = invoke("check", "--help")
    assert "replay" not in r.stdout.split("--strategy")[1].split("--")[0]


def test_bare_racesim_prints_help_and_exits_0():
    r = invoke()
    assert r.exit_code == 0 and "Usage:" in r.stdout and r.stderr == ""


@pytest.mark.slow
def test_sigterm_during_a_parallel_sweep_exits_cleanly():
    p = subprocess.Popen(
        [sys.executable, "-m", "racesim.cli", "run", "with-items-fanin", "--runs", "1000000", "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143 and err.strip() == "racesim: terminated", err


def test_a_schedule_of_a_deployment_the_cli_accepts_replays(tmp_path):
    r = invoke("run", "with-items-fanin", "--guards", "none", "--runs", "6", "--worker-slots", "100", "--prefetch", "200",
               "--save-failing", str(tmp_path))  # fmt: skip
    assert r.exit_code == 0, r.output
    saved = sorted(tmp_path.glob("*.json"))
    assert saved and invoke("replay", str(saved[0])).exit_code == 0


@pytest.mark.parametrize("command", [["replay"], ["shrink"], ["run"], ["validate"], ["import"], ["audit"]])
def test_a_fifo_as_input_is_refused_not_waited_on(tmp_path, command):
    import os

    fifo = tmp_path / ("in.yaml" if command[0] in ("run", "validate", "import", "audit") else "in.json")
    os.mkfifo(fifo)
    r = invoke(*command, str(fifo))
    assert r.exit_code == 2, r.output
    assert "not a regular file" in r.stderr, r.stderr


@pytest.mark.parametrize("command", ["replay", "shrink"])
def test_a_directory_as_schedule_file_is_one_line(tmp_path, command):
    assert "a directory, not a regular file" in one_line(invoke(command, str(tmp_path)))


@pytest.mark.parametrize("name", ["", "."])
def test_shrink_of_no_file_name_is_one_line(name):
    assert "not a schedule file" in one_line(invoke("shrink", name))


def test_an_empty_version_is_refused_not_replaced_by_the_default():
    assert "--version: empty" in one_line(invoke("run", "with-items-fanin", "--version", "", "--runs", "2"))


def test_a_bad_version_on_the_matrix_axis_names_the_versions_option():
    assert one_line(invoke("matrix", "with-items-fanin", "--versions", "pre,bogus", "--runs", "2")).startswith(
        "racesim: error: --versions: unknown guard 'bogus'"
    )
