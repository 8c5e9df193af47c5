"""The first screen: `racesim matrix SCENARIO` answers the seed's question without flags."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from racesim.engine.parallel import run_sweeps
from racesim.engine.runner import config_for
from racesim.models.guards import Guards
from racesim.reports import terminal
from racesim.scenarios import loader
from rich.console import Console

from racesim.cli import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def rows(stdout: str) -> dict[tuple[str, str], list[str]]:
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"\s*(\w+) \(.*?\)\s+(1 executor|2 replicas)\s+(\d+/\d+)(?: \w+)?\s+(\d+/\d+)", line)
        if m:
            out[(m.group(1), m.group(2))] = [m.group(3), m.group(4)]
    return out


def test_default_matrix_shows_the_fix_holding_on_one_executor_and_leaking_on_two():
    r = invoke("matrix", "with-items-fanin", "--runs", "40")
    assert r.exit_code == 0, r.output
    table = rows(r.stdout)
    assert set(table) == {(g, d) for g in ("none", "both", "serialized", "head") for d in ("1 executor", "2 replicas")}
    assert "successor dispatched twice" in r.stdout and "item handed to workers twice" in r.stdout
    assert "20/40 validate" in r.stdout or "validate" in r.stdout.split("none (pre)")[1].splitlines()[0]
    assert table[("both", "1 executor")][0] == "0/40"
    assert table[("both", "2 replicas")][0] != "0/40"  # the fix leaks on two replicas
    assert table[("both", "1 executor")][1] != "0/40"  # and re-runs items even on one
    for d in ("1 executor", "2 replicas"):
        assert table[("serialized", d)] == ["0/40", "0/40"]
    assert "bounds P below" in r.stdout
    assert "quick first answer" not in r.stdout  # --runs was given: nothing capped


@pytest.mark.slow
def test_default_runs_are_capped_and_the_screen_says_so():
    r = invoke("matrix", "with-items-fanin")
    assert r.exit_code == 0
    assert "300 runs per cell for a quick first answer (the scenario asks for 1000" in r.stdout
    assert len(rows(r.stdout)) == 8


def test_run_table_headers_stay_whole_at_80_columns():
    sc = loader.load("with-items-fanin")
    [s] = run_sweeps([config_for(sc, Guards.parse("lock+dedupe+claim+layer1"))], 1, 5, 1)
    console = Console(width=80, record=True, highlight=False, markup=False)
    console.print(terminal.summary_table([s], "t"))
    text = console.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    # one column per registry finding (runs showing it), headers whole
    for word in ("guards", "runs", "dup", "re-run", "lost", "wrong", "missed", "stuck", "first", "failing"):
        assert re.search(rf"\b{word}\b", text), word


def test_list_shows_where_each_scenario_file_is():
    r = invoke("list")
    for path in loader.catalog():
        assert str(path) in r.stdout
