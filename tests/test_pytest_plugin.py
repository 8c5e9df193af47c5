"""`pytest --racesim DIR`: scenario files become test items, one per expect entry."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import yaml
from racesim.scenarios import loader

SEED = Path(loader.CATALOG) / "with-items-fanin.yaml"
# The pytest11 entry point loads the plugin once the package is (re)installed (.ci/run does);
# before that, load it by name. Both at once would register it twice.
_REGISTERED = any(ep.value == "racesim.pytest_plugin" for ep in entry_points(group="pytest11"))
LOAD = [] if _REGISTERED else ["-p", "racesim.pytest_plugin"]


def write(path: Path, name: str, expect: list[dict]) -> None:
    data = yaml.safe_load(SEED.read_text())
    data["name"], data["expect"] = name, expect
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_plugin_collects_expect_entries_and_reports_replay(tmp_path):
    both = [{"guards": "none", "duplicates": "some"}, {"guards": "layer1", "duplicates": "some"}]
    write(tmp_path / "holds.yaml", "holds", both)
    write(tmp_path / "broken.yml", "broken", [{"guards": "none", "duplicates": 0, "note": "claims the seed race away"}])
    (tmp_path / "not-a-scenario.yaml").write_text("jobs: {build: {runs-on: ubuntu}}\n")  # other YAML is left alone
    cmd = [sys.executable, "-m", "pytest", *LOAD, "-p", "no:cacheprovider", "--racesim", "--racesim-runs", "30", "-rA", "."]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "1 failed, 2 passed" in r.stdout, r.stdout
    assert "PASSED holds.yaml::none replicas=1" in r.stdout and "PASSED holds.yaml::layer1 replicas=1" in r.stdout
    assert "FAILED broken.yml::none replicas=1" in r.stdout
    assert "expected none duplicates, saw" in r.stdout
    assert f"replay: racesim run {tmp_path / 'broken.yml'} --guards none" in r.stdout
    assert "note: claims the seed race away" in r.stdout


def test_without_the_option_scenarios_are_not_collected(tmp_path):
    write(tmp_path / "holds.yaml", "holds", [{"guards": "none", "duplicates": "some"}])
    r = subprocess.run(
        [sys.executable, "-m", "pytest", *LOAD, "-p", "no:cacheprovider", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 5, r.stdout  # pytest: no tests collected
