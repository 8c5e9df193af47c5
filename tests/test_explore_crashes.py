"""``explore --strategy dfs --crashes 1`` at the command line: the FIX one-listener crash
between D5 and D6 that leaves the successor stuck (issue 11, "what it must show")."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

BASE = ["explore", "fanin-2x2", "--strategy", "dfs", "--crashes", "1", "-k", "0", "--version", "fix"]
TARGET = ["--fail-on", "stuck_workflow:validate", "--crash-kind", "executor"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "racesim.cli", *args], capture_output=True, text=True)


@pytest.mark.slow
def test_dfs_with_one_crash_finds_the_executor_crash_at_d6_leaving_validate_stuck():
    r = _cli(*BASE, *TARGET)
    assert r.returncode != 2, r.stderr
    [claim] = [line for line in r.stdout.splitlines() if line.startswith("dfs: ")]
    assert claim.startswith("dfs: counterexample at schedule ")
    assert "crashes in its schedule: exec0.listener0 at D6" in claim
    assert "every choice in it enumerated (no coin sampled)" in claim
    assert "the search stopped at it after" in claim
    data = json.loads(_cli(*BASE, *TARGET, "--json").stdout)
    assert data["claim"]["holds"] is False and data["claim"]["crash_budget"] == 1 and data["claim"]["sampled_coins"] == 0


@pytest.mark.slow
def test_without_the_crash_kind_the_first_stuck_validate_is_a_worker_crash():
    # the contrast: every crash kind counts, and a worker slot dying at W6 comes first
    r = _cli(*BASE, "--fail-on", "stuck_workflow:validate")
    [claim] = [line for line in r.stdout.splitlines() if line.startswith("dfs: ")]
    assert "crashes in its schedule: worker1.slot0 at W6" in claim


@pytest.mark.slow
def test_crash_kind_needs_dfs_with_crashes():
    r = _cli("explore", "fanin-2x2", "--strategy", "dfs", "--crash-kind", "executor")
    assert r.returncode == 2 and "--crash-kind: needs --crashes" in r.stderr and "Traceback" not in r.stderr
    r = _cli("explore", "fanin-2x2", "--strategy", "pct", "--crash-kind", "executor")
    assert r.returncode == 2 and "--crash-kind: for --strategy dfs" in r.stderr
