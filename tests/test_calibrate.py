"""Timing profiles: written by `racesim calibrate`, validated like scenario input, merged
under the scenario's own timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from racesim.scenarios import loader
from racesim.scenarios.loader import CATALOG, ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = CATALOG / "timing" / "local-pg-rabbit.yaml"
SEED = {
    "ref": "demo.fanin",
    "tasks": [{"name": "a", "action": "x", "next": [{"do": ["b"]}]}, {"name": "b", "action": "y"}],
}


def _scenario_with(tmp_path: Path, profile: object, timing_extra: dict | None = None) -> Path:
    (tmp_path / "p.yaml").write_text(profile if isinstance(profile, str) else yaml.safe_dump(profile))
    data = {"workflow": SEED, "timing": {"profile": "p.yaml", **(timing_extra or {})}}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_shipped_profile_feeds_the_measured_scenario():
    profile = yaml.safe_load(SHIPPED.read_text())
    assert profile["kind"] == "racesim-timing-profile" and profile["measured"]["by"] == "racesim calibrate"
    sc = loader.load("with-items-fanin-measured")
    by_key = sc.timing.by_key()
    assert by_key["db_latency"].mean == pytest.approx(profile["channels"]["db_latency"]["mean"])
    assert by_key["listener_delay"].mean == pytest.approx(profile["channels"]["listener_delay"]["mean"])
    assert by_key["worker_duration"].params == (0.05, 0.055)  # the scenario's own key wins
    for key in ("db_write_latency", "db_commit_latency"):  # writes and commits timed apart
        assert by_key[key].mean == pytest.approx(profile["channels"][key]["mean"])
    assert sc.timing.splits_db


def test_the_profile_pools_reads_and_writes_apart():
    """Reads, counts and transaction statements feed db_latency; autocommitted writes and
    inserts db_write_latency; the COMMIT after a write db_commit_latency, each kind weighted
    by how often the reference run uses it."""
    from racesim.live.calibrate import DB_KINDS, Stats, profile

    db = {name: Stats(kind, [0.001]) for name, kind in DB_KINDS.items()}
    for name, kind in DB_KINDS.items():
        if kind in ("write", "insert"):
            db[name].samples = [0.010]
    db["CommitAfterWrite"].samples = [0.020, 0.020]
    mq = {"Publish": Stats("publish", [0.002]), "Consume": Stats("consume", [0.003])}
    weight = {"ReadExecution": 3, "CountRemaining": 1, "SetExecutionStatus": 2, "InsertExecution": 2}
    channels = profile(db, mq, weight, 1, {}, "test")["channels"]
    assert channels["db_latency"]["mean"] == pytest.approx(0.001)
    assert channels["db_write_latency"]["mean"] == pytest.approx(0.010)
    assert channels["db_commit_latency"]["mean"] == pytest.approx(0.020)


def test_scenario_timing_overrides_the_profile(tmp_path):
    profile = {"kind": "racesim-timing-profile", "channels": {"db_latency": {"dist": "exponential", "mean": 0.004}}}
    sc = loader.load(str(_scenario_with(tmp_path, profile, {"db_latency": {"dist": "constant", "value": 0.001}})))
    assert sc.timing.by_key()["db_latency"].params == (0.001,)
    sc = loader.load(str(_scenario_with(tmp_path, profile)))
    assert sc.timing.by_key()["db_latency"].params == (0.004,)


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ({"kind": "something-else", "channels": {}}, "not a timing profile"),
        (
            {"kind": "racesim-timing-profile", "channels": {"worker_duration": {"dist": "constant", "value": 1}}},
            "worker durations",
        ),
        ({"kind": "racesim-timing-profile", "channels": {"db_latency": {"dist": "exponential", "mean": -1}}}, "db_latency"),
        ({"kind": "racesim-timing-profile", "channels": {"disk": {}}}, "disk"),
        ("kind: racesim-timing-profile\nchannels: &a {db_latency: *a}\n", "alias"),
    ],
)
def test_bad_profiles_are_refused_with_their_file_and_field(tmp_path, profile, message):
    with pytest.raises(ScenarioError, match=message):
        loader.load(str(_scenario_with(tmp_path, profile)))


def test_a_missing_profile_is_an_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"workflow": SEED, "timing": {"profile": "nope.yaml"}}))
    with pytest.raises(ScenarioError, match="no such profile file"):
        loader.load(str(path))


@pytest.mark.parametrize("name", ["/etc/passwd", "../outside.yaml", "sub/../../outside.yaml", "~/p.yaml", "notes.txt"])
def test_a_profile_outside_the_scenario_folder_is_never_opened(tmp_path, name):
    """A scenario is untrusted input: it may name a profile beside or below it, nothing else."""
    (tmp_path / "outside.yaml").write_text("kind: racesim-timing-profile\nchannels: {}\n")
    folder = tmp_path / "scenario"
    folder.mkdir()
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump({"workflow": SEED, "timing": {"profile": name}}))
    with pytest.raises(ScenarioError, match=r"relative path inside the scenario's folder|is a \.yaml, \.yml or \.json file"):
        loader.load(str(path))


def test_a_symlinked_profile_leading_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "outside.yaml").write_text("kind: racesim-timing-profile\nchannels: {}\n")
    folder = tmp_path / "scenario"
    folder.mkdir()
    (folder / "p.yaml").symlink_to(tmp_path / "outside.yaml")
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump({"workflow": SEED, "timing": {"profile": "p.yaml"}}))
    with pytest.raises(ScenarioError, match="inside the scenario's folder"):
        loader.load(str(path))


@pytest.mark.services
def test_calibrate_writes_a_profile_a_scenario_can_use(tmp_path):
    out = tmp_path / "p.yaml"
    r = subprocess.run(
        [sys.executable, "-m", "racesim.cli", "calibrate", "--out", str(out), "--samples", "20", "--warmup", "2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    profile = yaml.safe_load(out.read_text())
    kinds = {op["kind"] for op in profile["operations"].values()}
    assert {"read", "count", "write", "insert", "publish", "consume"} <= kinds
    assert all(op["n"] == 20 and op["mean"] > 0 for op in profile["operations"].values())
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump({"workflow": SEED, "timing": {"profile": "p.yaml"}}))
    assert loader.load(str(scenario)).timing.by_key()["db_latency"].mean == pytest.approx(
        profile["channels"]["db_latency"]["mean"]
    )
