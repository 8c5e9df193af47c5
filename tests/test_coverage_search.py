"""Coverage-guided search (issue 17 item 4)."""

from __future__ import annotations

import random

import pytest
from click.testing import CliRunner
from racesim.engine import coverage_search
from racesim.engine.exploration import failing_check
from racesim.engine.runner import config_for, run_one
from racesim.models.guards import Guards
from racesim.sim.config import Deployment

from racesim.cli import cli


def test_mutation_changes_picks_only_within_range(fanin):
    choices = run_one(config_for(fanin, Guards.parse("none")), 1, record=True).output.choices
    mutated = coverage_search.mutate(choices, random.Random(3))
    diff = [(a, b) for a, b in zip(choices, mutated, strict=True) if a != b]
    assert 1 <= len(diff) <= coverage_search.MAX_FLIPS
    for a, b in diff:
        assert a[0] == b[0] and a[1] != b[1]
        assert a[0] == "c" or (a[0] == "p" and a[2] == b[2] and 0 <= b[1] < b[2])


@pytest.mark.slow
def test_search_finds_the_duplicate_and_grows_a_corpus(fanin):
    config = config_for(fanin, Guards.parse("both"), Deployment(replicas=2))
    result = coverage_search.search(config, 1, 150, failing_check("validate"), stop_at_first=False)
    assert result.failing is not None and result.failing_at is not None
    assert result.failing.verdict.by_task["validate"].duplicate_dispatches > 0
    assert 1 < result.corpus < result.runs and result.coverage.pairs
    again = coverage_search.search(config, 1, 150, failing_check("validate"), stop_at_first=False)
    assert (again.failing_at, again.corpus, again.failing.digest) == (result.failing_at, result.corpus, result.failing.digest)


def test_search_is_silent_where_the_bug_cannot_happen(fanin):
    config = config_for(fanin, Guards.parse("serialized"))
    result = coverage_search.search(config, 2, 60, failing_check("validate"))
    assert result.failing is None and result.runs == 60


def test_explore_strategy_coverage():
    argv = ["explore", "with-items-fanin", "--strategy", "coverage", "--guards", "none", "--runs", "30"]
    r = CliRunner().invoke(cli, argv)
    assert r.exit_code == 0, r.output
    assert "coverage: 30 runs, first failing: run " in r.stdout


def test_every_seed_a_coverage_search_reports_reproduces_a_failing_run(fanin):
    """Fresh runs are named by the seed that reproduces them; mutated schedules are counted
    but never named by a seed (no seed reproduces them)."""
    from racesim.engine.runner import Summary

    config = config_for(fanin, Guards.parse("none"))
    summary = Summary("fanin", "none", 0, 1, config.deployment, config.faults, "coverage")
    mutated_failing: list[int] = []

    def on_run(r, fresh):
        summary.add(r, seeded=fresh)
        if not fresh and r.verdict.failing:
            mutated_failing.append(r.seed)

    result = coverage_search.search(config, 1, 40, lambda r: r.verdict.failing, stop_at_first=False, on_run=on_run)
    assert mutated_failing, "the campaign should hold failing mutated runs (else this test shows nothing)"
    reported = summary.failing((("duplicate_dispatch", None), ("item_rerun", None)))
    assert reported
    for seed in reported:
        assert run_one(config, seed).verdict.failing, seed
    assert result.failing is not None and result.failing_at is not None
