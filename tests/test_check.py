"""`racesim check`: exit codes, what a contradiction prints, and the JUnit file."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from racesim.scenarios import loader

from racesim.commands.check import load_scenario
from racesim.options import InputError

SEED = Path(loader.CATALOG) / "with-items-fanin.yaml"


def racesim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "racesim.cli", *args], capture_output=True, text=True, cwd=cwd)


def scenario_file(tmp_path: Path, name: str, expect: object) -> Path:
    """The seed scenario with its expect block replaced."""
    data = yaml.safe_load(SEED.read_text())
    data["name"] = name
    data["expect"] = expect
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_contradicted_expectation_exits_1_with_replay_command(tmp_path):
    path = scenario_file(tmp_path, "claims-safe", [{"guards": "none", "duplicates": 0, "runs": 40}])
    r = racesim("check", str(path))
    assert r.returncode == 1, r.stderr
    assert "contradicted: claims-safe" in r.stdout
    assert "guards:     none" in r.stdout
    assert "expected none duplicates" in r.stdout
    replay = next(line.split("replay:", 1)[1].strip() for line in r.stdout.splitlines() if "replay:" in line)
    assert replay.startswith(f"racesim run {path} --guards none")
    # The replay command really reproduces a duplicate on the seed it names.
    seed = replay.split("--seed ")[1].split()[0]
    rr = racesim("run", str(path), "--guards", "none", "--seed", seed, "--runs", "1", "--expect-zero", "--json")
    assert rr.returncode == 1, rr.stdout


def test_holding_expectations_exit_0(tmp_path):
    path = scenario_file(tmp_path, "seed-race", [{"guards": "none", "duplicates": "some", "runs": 40}])
    r = racesim("check", str(path), "--jobs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 expectation(s) checked: 1 hold, 0 contradicted" in r.stdout


def test_junit_has_suite_cases_failure_and_matching_counts(tmp_path):
    bad = scenario_file(
        tmp_path,
        "mixed",
        [{"guards": "none", "duplicates": "some", "runs": 30}, {"guards": "none", "duplicates": 0, "runs": 30, "replicas": 2}],
    )
    good = scenario_file(tmp_path, "good", [{"guards": "none", "duplicates": "some", "runs": 30}])
    out = tmp_path / "junit.xml"
    r = racesim("check", str(bad), str(good), "--junit", str(out))
    assert r.returncode == 1
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["mixed", "good"]
    for el in [root, *suites]:
        cases = el.iter("testcase")
        cases = list(cases)
        assert int(el.get("tests")) == len(cases)
        assert int(el.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert el.get("errors") == "0" and el.get("skipped") == "0" and el.get("time") == "0"
    assert (root.get("tests"), root.get("failures")) == ("3", "1")
    [failure] = root.iter("failure")
    assert "replay: racesim run" in failure.get("message") and "--replicas 2" in failure.get("message")
    assert "seed " in failure.get("message")
    # Deterministic: a second run writes the same bytes.
    first = out.read_bytes()
    racesim("check", str(bad), str(good), "--junit", str(out))
    assert out.read_bytes() == first


@pytest.mark.parametrize(
    "expect, field",
    [
        ([{"guards": "none", "duplicates": "none"}], "duplicates"),  # would silently mean "some" if accepted
        ([{"guards": "none", "duplicates": False}], "duplicates"),
        ([{"guards": "none", "dupes": 0}], "dupes"),
        ([{"guards": "bogus", "duplicates": 0}], "bogus"),
        ([{"guards": "none", "by_task": {"nope": 0}}], "nope"),
        ([{"guards": "none"}], "expect[0]"),  # claims nothing
    ],
)
def test_bad_expect_blocks_are_input_errors(tmp_path, expect, field):
    with pytest.raises(InputError, match=re.escape(field)):
        load_scenario(str(scenario_file(tmp_path, "bad", expect)))


def test_bad_input_exits_2_in_one_line(tmp_path):
    bad = scenario_file(tmp_path, "bad", [{"guards": "none", "duplicates": "none"}])
    cases = ([str(bad)], ["no-such-scenario"], ["--runs", "0"], ["--jobs", "0"], ["--strategy", "nope"], [str(SEED), "--frob"])
    for args in cases:
        r = racesim("check", *args)
        assert r.returncode == 2, args
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr


def test_every_catalog_expect_block_is_well_formed():
    # The full catalog run (default run counts) is .ci/run's gate step; here only that it can run.
    for path in loader.catalog():
        try:
            load_scenario(str(path))
        except InputError as exc:
            pytest.fail(str(exc))
