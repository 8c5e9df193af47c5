"""The merge gate: `racesim check` over the whole catalog, run once, here (CI runs this suite).

1. Every catalog expect block holds at the entries' own run counts (this is where
   "guards none -> duplicates some" and "guarded -> 0" are actually run).
2. The seed scenario claims both that the unguarded race exists and that a guard stops it.
3. The gate can fail: the seed scenario claiming no duplicates without guards exits 1 with a
   replay command and a JUnit failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from racesim.scenarios import loader

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _racesim(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "racesim.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env)


def test_every_catalog_expectation_holds(tmp_path):
    junit = tmp_path / "catalog.xml"
    done = _racesim("check", "--jobs", "2", "--junit", str(junit))
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'failures="0"' in junit.read_text(encoding="utf-8")


def test_seed_scenario_claims_the_race_and_its_fix():
    entries = loader.load("with-items-fanin").expect

    def claims(entry: dict, value: object) -> bool:
        return entry.get("duplicates") == value or value in (entry.get("by_task") or {}).values()

    assert any(e["guards"] == "none" and claims(e, "some") for e in entries), "no 'guards: none -> duplicates some'"
    assert any(e["guards"] != "none" and claims(e, 0) for e in entries), "no guarded 'duplicates 0'"


def test_a_contradicted_expectation_fails_the_gate(tmp_path):
    data = yaml.safe_load((loader.CATALOG / "with-items-fanin.yaml").read_text(encoding="utf-8"))
    data["name"], data["expect"] = "claims-safe", [{"guards": "none", "duplicates": 0, "runs": 200}]
    scenario = tmp_path / "claims-safe.yaml"
    scenario.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    junit = tmp_path / "claims-safe.xml"
    done = _racesim("check", str(scenario), "--jobs", "2", "--junit", str(junit))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "replay:" in done.stdout and "racesim run" in done.stdout
    assert 'failures="1"' in junit.read_text(encoding="utf-8")
