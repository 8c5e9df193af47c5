"""Every reproduce command a report prints, run, gives the digest the report shows."""

from __future__ import annotations

import html
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from racesim.reports import reproduce

from racesim.cli import cli

CATALOG = Path(__file__).resolve().parents[1] / "scenarios"


def invoke(argv: list[str]):
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


def reproduce_lines(page: str) -> dict[str, str]:
    rows = re.findall(r"<td>reproduce ([a-z ]+)</td><td><code>([^<]*)</code>", page)
    return {label: html.unescape(cmd) for label, cmd in rows}


def header_digest(page: str) -> str:
    return re.search(r"<tr><td>digest</td><td[^>]*>([0-9a-f]{64})<", page).group(1)


def run_and_digest(command: str) -> str:
    argv = shlex.split(command)
    assert argv[0] == "racesim"
    r = invoke(argv[1:])
    assert r.exit_code in (0, 1), (command, r.output)
    return re.findall(r"digest ([0-9a-f]{64})", r.stdout)[-1]


def check_report(page: str) -> dict[str, str]:
    lines = reproduce_lines(page)
    assert "the failing run" in lines, lines
    for label, command in lines.items():
        if label == "this report":
            continue
        digest = run_and_digest(command)
        assert digest in page, (label, command)
        if label == "the failing run":
            assert digest == header_digest(page), command
    return lines


def test_run_report_names_a_file_with_spaces_and_reproduces(tmp_path):
    scenario = tmp_path / "my dir" / "my scenario.yaml"
    scenario.parent.mkdir()
    shutil.copy(CATALOG / "with-items-fanin.yaml", scenario)
    report = tmp_path / "r.html"
    argv = ["run", str(scenario), "--guards", "both", "--replicas", "2", "--runs", "40", "--html", str(report)]
    assert invoke(argv).exit_code == 0
    lines = check_report(report.read_text())
    assert shlex.split(lines["the failing run"])[2] == str(scenario.resolve())
    assert "the contrast run" in lines


def test_matrix_report_reproduces_its_failing_and_contrast_runs(tmp_path):
    report = tmp_path / "m.html"
    argv = ["matrix", "with-items-fanin", "--guards", "none,serialized", "--runs", "10", "--html", str(report)]
    assert invoke(argv).exit_code == 0
    assert set(check_report(report.read_text())) == {"this report", "the failing run", "the contrast run"}


@pytest.mark.parametrize("strategy", ["pct", "dfs"])
def test_systematic_shrunk_run_is_reproduced_from_its_schedule_file(tmp_path, strategy):
    report = tmp_path / "e.html"
    argv = ["explore", "fanin-2x2", "--strategy", strategy, "--guards", "none", "--runs", "20", "--shrink"]
    argv += ["--save-failing", str(tmp_path / "out"), "--html", str(report), "--max-schedules", "200"]
    r = invoke(argv)
    assert r.exit_code == 0, r.output
    lines = check_report(report.read_text())
    assert shlex.split(lines["the failing run"])[:2] == ["racesim", "replay"]


def test_an_unsaved_systematic_run_offers_no_seed_in_its_place(tmp_path):
    report = tmp_path / "e.html"
    argv = ["explore", "fanin-2x2", "--strategy", "pct", "--guards", "none", "--runs", "20", "--shrink", "--html", str(report)]
    assert invoke(argv).exit_code == 0
    assert reproduce_lines(report.read_text())["the failing run"] == reproduce.SAVE_HINT


def test_replay_report_reproduces_with_replay(tmp_path):
    saved = tmp_path / "s"
    assert invoke(["run", "with-items-fanin", "--guards", "none", "--runs", "6", "--save-failing", str(saved)]).exit_code == 0
    schedule = sorted(saved.glob("*.json"))[0]
    report = tmp_path / "p.html"
    assert invoke(["replay", str(schedule), "--html", str(report)]).exit_code == 0
    assert check_report(report.read_text())["the failing run"] == shlex.join(["racesim", "replay", str(schedule)])
