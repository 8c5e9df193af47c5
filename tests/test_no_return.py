"""The point of no return of a saved failing schedule (issue 17 item 2)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from racesim.analysis import no_return
from racesim.engine.exploration import schedule_of
from racesim.engine.runner import config_for, run_one
from racesim.models.guards import Guards
from racesim.sim import schedule_file
from racesim.sim.config import Deployment
from racesim.sim.shrink import finding_of

from racesim.cli import cli


@pytest.fixture(scope="module")
def failing(fanin):
    config = config_for(fanin, Guards.parse("both"), Deployment(replicas=2))
    for seed in range(1, 60):
        r = run_one(config, seed, record=True)
        if r.verdict.by_task["validate"].duplicate_dispatches:
            return config, r
    pytest.fail("no failing seed")


def test_the_whole_schedule_replays_to_the_finding(failing):
    config, r = failing
    choices = r.output.choices
    total = len(no_return.pick_positions(choices))
    again = no_return.continuation(config, choices, total, 7)
    assert again.digest == run_one(config, r.seed, choices=choices).digest  # the full prefix is the run


@pytest.mark.slow
def test_point_of_no_return(failing):
    config, r = failing
    finding = finding_of(r.verdict)
    result = no_return.analyse(config, r.output.choices, finding, k=8, points=12)
    assert result.points[-1].steps == result.total_steps and result.points[-1].hits == 8
    assert result.certain_from is not None and 0 < result.certain_from <= result.total_steps
    assert result.last_avoidable is not None and result.last_avoidable == result.certain_from - 1
    assert all(p.hits == p.trials for p in result.points if p.steps >= result.certain_from)
    again = no_return.analyse(config, r.output.choices, finding, k=8, points=12, jobs=2)
    assert [(p.steps, p.hits) for p in again.points] == [(p.steps, p.hits) for p in result.points]


def test_a_finding_the_schedule_cannot_show_is_never_certain(failing):
    """Silence: the same schedule asked about a task it never duplicates."""
    config, r = failing
    result = no_return.analyse(config, r.output.choices, {"by_task": {"start_items_absent": 1}}, k=3, points=4)
    assert result.certain_from is None and all(p.hits == 0 for p in result.points)


@pytest.mark.slow
def test_explain_command_prints_the_step_and_the_curve(failing, tmp_path):
    config, r = failing
    path = tmp_path / "f.json"
    schedule_file.save(path, schedule_of("with-items-fanin", config, "random", {}, r.seed, r))
    out = CliRunner().invoke(cli, ["explain", str(path), "-k", "6", "--points", "8"])
    assert out.exit_code == 0, out.output
    assert "Point of no return: step" in out.stdout and "P=" in out.stdout
    data = json.loads(CliRunner().invoke(cli, ["explain", str(path), "-k", "6", "--points", "8", "--json"]).stdout)
    assert data["certain_after_step"] is not None and data["curve"][-1][1] == 6
    bad = CliRunner().invoke(cli, ["explain", str(path), "-k", "0"])
    assert bad.exit_code != 0
    page = tmp_path / "nr.html"
    assert CliRunner().invoke(cli, ["explain", str(path), "-k", "4", "--points", "6", "--html", str(page)]).exit_code == 0
    text = page.read_text()
    assert "<h2>Point of no return</h2>" in text and 'class="no-return"' in text and "Certain after step" in text
