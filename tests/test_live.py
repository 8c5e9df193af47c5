"""Live mode on the seed scenario against the real PostgreSQL and RabbitMQ.

Driven from a saved failing schedule, the unguarded variant duplicates `validate` within 50
runs and the serialized variant (advisory lock + FOR UPDATE + dispatch key + claim) never
does; no run leaves a schema, table, row, queue or connection behind.
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("psycopg", reason="psycopg not installed (pip install -e '.[live]')")
pytest.importorskip("pika", reason="pika not installed (pip install -e '.[live]')")

from racesim.engine.runner import run_one, with_guards  # noqa: E402
from racesim.live import amqp, pg_store  # noqa: E402
from racesim.live.driver import APP_PREFIX, Gates, gates_from_records, replay_schedule, run_live  # noqa: E402
from racesim.models.guards import Guards  # noqa: E402
from racesim.sim import schedule_file  # noqa: E402

RUNS = 50


@pytest.fixture(scope="module")
def schedule(tmp_path_factory, fanin) -> str:
    """A failing schedule recorded from the simulator: the first seed that duplicates `validate`."""
    from racesim.engine.runner import config_for

    config = config_for(fanin, Guards.parse("none"))
    for seed in range(1, 200):
        result = run_one(config, seed, record=True)
        if result.verdict.by_task["validate"].duplicate_dispatches:
            break
    else:
        pytest.fail("the simulator found no duplicate validate in 200 seeds")
    path = tmp_path_factory.mktemp("live") / "fanin-none.json"
    sf = schedule_file.ScheduleFile(
        "with-items-fanin", "none", config.deployment, config.faults.label(), "random", {}, seed,
        result.output.choices, {"duplicates": result.verdict.duplicate_dispatches}, result.digest,
    )  # fmt: skip
    schedule_file.save(path, sf)
    return str(path)


def _leftovers() -> tuple[list, list]:
    """Schemas and sessions this test process's live runs left behind (each run's tag starts
    with the pid, so another process's live runs on the same server are not counted)."""
    pid = os.getpid()
    with pg_store.connect(app="racesim-test-probe") as conn:
        schemas = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"racesim_live_{pid}_%",)).fetchall()
        sessions = conn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE %s", (f"{APP_PREFIX}-{pid}_%",)
        ).fetchall()
    return schemas, sessions


def test_gates_follow_the_simulated_order(fanin) -> None:
    records = [
        (1.0, "w", "W6", "SetExecutionStatus", (10,), None),
        (1.1, "w", "W6", "SetExecutionStatus", (11,), None),
        (1.2, "l", "L1", "ReadExecution", (10,), None),
        (1.3, "l", "L1", "ReadExecution", (11,), None),
    ]
    keys = {10: ("t", 0), 11: ("t", 1)}
    gates = gates_from_records(records, keys.get)
    assert gates.waits == {("t", 0): frozenset({("t", 1)}), ("t", 1): frozenset({("t", 0)})}


def test_unguarded_duplicates_live_and_serialized_does_not(services, schedule) -> None:
    replayed = replay_schedule(schedule)
    assert replayed.verdict.by_task["validate"].duplicate_dispatches >= 1  # the simulated finding
    assert isinstance(replayed.gates, Gates) and replayed.gates

    unguarded = with_guards(replayed.config, Guards.parse("none"))
    first = None
    for i in range(RUNS):
        result = run_live(unguarded, seed=i, gates=replayed.gates)
        assert result.quiescent, result.errors
        if result.verdict.by_task["validate"].duplicate_dispatches:
            first = i + 1
            break
    assert first is not None, f"no duplicate validate in {RUNS} live runs"

    serialized = with_guards(replayed.config, Guards.parse("serialized"))
    for i in range(RUNS):
        result = run_live(serialized, seed=i, gates=replayed.gates)
        assert result.quiescent, result.errors
        assert result.verdict.duplicate_dispatches == 0, (i, result.dispatched)
        assert result.verdict.missed_dispatches == 0 and result.verdict.workflow_status == "completed"

    schemas, sessions = _leftovers()
    assert schemas == [] and sessions == []
    queues = amqp.list_queues(f"racesim.{os.getpid()}_")
    if queues is not None:
        assert queues == []
    connections = amqp.list_connections(APP_PREFIX)
    if connections is not None:
        assert connections == []


def test_a_failed_run_still_cleans_up(services, config, monkeypatch) -> None:
    from racesim.live import driver

    def broken(*args, **kwargs):
        raise RuntimeError("checker exploded")

    monkeypatch.setattr(driver, "check", broken)
    with pytest.raises(RuntimeError, match="checker exploded"):
        run_live(config("none"), seed=1)
    assert _leftovers() == ([], [])


def test_a_live_run_times_its_round_trips_by_simulator_channel(services, config) -> None:
    """HEAD's advance writes inside BEGIN..COMMIT (``db`` writes, a flushing ``db_commit``);
    workers write outside a transaction (``db_write``); advisory-lock waits are not timed."""
    lat = run_live(config("head"), seed=1).latencies
    assert {"db", "db_write", "db_commit", "mq"} <= set(lat) and "lock" not in lat
    assert all(x > 0 for xs in lat.values() for x in xs)


def test_live_profile_out_feeds_a_scenario(services, tmp_path) -> None:
    import yaml
    from click.testing import CliRunner
    from racesim.scenarios import loader

    from racesim.cli import cli

    (tmp_path / "timing").mkdir()
    out = tmp_path / "timing" / "live.yaml"
    argv = ["live", "with-items-fanin", "--version", "head", "--runs", "2", "--profile-out", str(out)]
    r = CliRunner().invoke(cli, argv)
    assert r.exit_code == 0, r.output
    profile = yaml.safe_load(out.read_text())
    assert profile["measured"]["by"] == "racesim live --profile-out" and profile["measured"]["runs"] == 2
    workflow = {"ref": "demo.w", "tasks": [{"name": "a", "action": "x"}]}
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump({"workflow": workflow, "timing": {"profile": "timing/live.yaml"}}))
    by_key = loader.load(str(scenario)).timing.by_key()
    for key in ("db_latency", "db_write_latency", "db_commit_latency", "publish_latency"):
        assert by_key[key].mean == pytest.approx(profile["channels"][key]["mean"])


pytestmark = pytest.mark.services  # PostgreSQL and RabbitMQ


def test_live_refuses_the_recovery_actors_it_does_not_run() -> None:
    """The live driver has no timeout monitor or supervisor: asked for them, it says so in one
    line and exits 2 (before touching a service) instead of running HEAD without them."""
    from click.testing import CliRunner

    from racesim.cli import cli

    for args in (["--version", "head+recovery"], ["--guards", "serialized+recovery"]):
        r = CliRunner().invoke(cli, ["live", "fanin-2x2", *args, "--runs", "1"])
        assert r.exit_code == 2, r.output
        [line] = r.stderr.strip().splitlines()
        assert "does not run HEAD's recovery actors" in line
