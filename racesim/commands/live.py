"""`racesim live`: the same models against PostgreSQL and RabbitMQ."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import click
import yaml

from racesim.engine.runner import Summary, config_for
from racesim.options import (
    GUARD_HELP,
    SEED_HELP,
    VERSION_HELP,
    InputError,
    _check_runs,
    _deployment,
    _fail_on,
    _scenario,
    _stdout,
    _stores,
    _version_or_guards,
    fail_on_option,
    seed_option,
    store_options,
    with_options,
)
from racesim.reports import terminal
from racesim.sim import output
from racesim.sim.findings import fails


@click.command()
@click.argument("scenario")
@click.option("--guards", "-g", default="none", show_default=True, help=GUARD_HELP)
@click.option("--version", "version", default=None, help=VERSION_HELP)
@click.option("--replicas", type=int, default=None, help="Executor processes (threads here) competing for the queues.")
@click.option("--runs", "-n", type=int, default=10, show_default=True, help="Live runs, one after another.")
@seed_option(SEED_HELP + " (worker durations and outcomes).")
@click.option("--from-schedule", "schedule", default=None, help="Inject the delays a saved failing schedule implies.")
@click.option("--time-scale", type=float, default=0.05, show_default=True, help="Wall seconds per simulated second of work.")
@click.option("--stop-at-first", is_flag=True, help="Stop after the first run failing under --fail-on.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--expect-zero", is_flag=True, help="Exit 1 when any run fails under --fail-on.")
@click.option(
    "--profile-out",
    "profile_out",
    default=None,
    metavar="FILE",
    help="Also write a timing profile of the round trips these runs made (db, write, commit, publish), "
    "for a scenario's `timing: {profile: FILE}`.",
)
@fail_on_option
@with_options(store_options)
def live(
    scenario,
    guards,
    version,
    replicas,
    runs,
    seed,
    schedule,
    time_scale,
    stop_at_first,
    as_json,
    expect_zero,
    profile_out,
    fail_on,
    postgres,
    amqp,
) -> None:
    """Run SCENARIO live: workers, schedulers and listeners as threads on PostgreSQL and
    RabbitMQ (--postgres, --amqp; default: the PG* variables and AMQP_URL, then localhost);
    each run in its own schema and queues. Passwords are never printed."""
    try:
        from racesim.live import connections
        from racesim.live.driver import LiveSettings, replay_schedule, run_live
    except ImportError as exc:
        raise InputError(f"live mode needs psycopg and pika (pip install -e '.[live]'): {exc}") from None
    dsn, url = _stores(postgres, amqp)
    _check_runs(runs)
    if not 0 < time_scale <= 10:
        raise InputError(f"--time-scale: must be in (0, 10], got {time_scale}")
    g = _version_or_guards(version, guards)
    if g.recovery:  # a live run would silently be the same guards without them
        raise InputError(
            f"{g.name}: the live driver does not run HEAD's recovery actors (timeout monitor, supervisor); "
            "drop recovery, or simulate them with racesim run"
        )
    sc = _scenario(scenario)
    chosen = _fail_on(fail_on, sc)
    gates = None
    sim_line = ""
    if schedule:
        try:
            replayed = replay_schedule(schedule)
        except (OSError, ValueError) as exc:
            raise InputError(f"--from-schedule: {exc}") from None
        if replayed.config.scenario != sc.name:
            raise InputError(f"--from-schedule: the schedule is for {replayed.config.scenario!r}, not {sc.name!r}")
        config = replace(replayed.config, guards=g)
        gates = replayed.gates
        sim_line = f"simulated replay: {replayed.verdict.duplicate_dispatches} duplicate(s); {len(gates.waits)} gated item(s)"
    else:
        config = config_for(sc, g)
    if replicas is not None:
        config = replace(config, deployment=_deployment(config.deployment, replicas=replicas))
    target = None
    if profile_out is not None:
        try:
            target = output.check_file(profile_out, "--profile-out")
        except output.OutputError as exc:
            raise InputError(str(exc)) from None
    latencies: dict[str, list[float]] = {}
    settings = LiveSettings(dsn=dsn, amqp_url=url, time_scale=time_scale)
    totals: dict[str, Any] = {"runs": 0, "runs_with_duplicates": 0, "duplicate_dispatches": 0, "max_dispatches_per_task": 0,
              "missed_dispatches": 0, "stuck_workflows": 0, "lost_updates": 0, "wrong_outcomes": 0,
              "first_failing_run": None, "gate_timeouts": 0}  # fmt: skip
    # lost_update is "unknown" live: PostgreSQL does not record what each write overwrote
    summary = Summary(sc.name, g.name, 0, seed, config.deployment, config.faults, "live")
    started = time.monotonic()
    for i in range(runs):
        try:
            result = run_live(config, seed + i, gates, settings)
        except Exception as exc:  # services down or a failed run: one line, exit 2
            where = f"{connections.describe_postgres(dsn)}, {connections.describe_amqp(url)}"
            why = connections.redact(f"{type(exc).__name__}: {exc}", dsn, url)
            raise InputError(f"live run {i + 1} ({where}): {' '.join(why.split())}") from None
        v = result.verdict
        for channel, samples in result.latencies.items():
            latencies.setdefault(channel, []).extend(samples)
        summary.add_verdict(seed + i, v)
        summary.runs += 1
        totals["runs"] += 1
        totals["duplicate_dispatches"] += v.duplicate_dispatches
        totals["missed_dispatches"] += v.missed_dispatches
        totals["stuck_workflows"] += v.stuck_workflows
        totals["lost_updates"] += v.lost_updates
        totals["wrong_outcomes"] += v.wrong_outcomes
        totals["gate_timeouts"] += result.gate_timeouts
        totals["max_dispatches_per_task"] = max(
            totals["max_dispatches_per_task"], max((t.max_dispatches for t in v.by_task.values()), default=0)
        )
        if v.duplicate_dispatches:
            totals["runs_with_duplicates"] += 1
        if fails(v.results, chosen):
            if totals["first_failing_run"] is None:
                totals["first_failing_run"] = i + 1
            if stop_at_first:
                break
    seconds = time.monotonic() - started
    if target is not None:
        from racesim.live.calibrate import profile_from_live

        reference = f"{sc.name} under {g.name}, replicas {config.deployment.replicas}, seeds {seed}..{seed + totals['runs'] - 1}"
        profile = profile_from_live(latencies, totals["runs"], reference)
        written = output.write_text(target, PROFILE_HEADER + yaml.safe_dump(profile, sort_keys=False, width=100))
        click.echo(f"racesim live: timing profile of {totals['runs']} runs -> {written.path}", err=True)
    data = summary.to_json(chosen, command="live")
    data["digest"] = None  # live runs have no trace to digest
    data.update({"replicas": config.deployment.replicas, "from_schedule": schedule, **totals,
                 "seconds": round(seconds, 3), "runs_per_second": round(totals["runs"] / seconds, 3)})  # fmt: skip
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        out = _stdout()
        if sim_line:
            out.print(sim_line)
        t = totals
        out.print(
            f"{sc.name} live [{g.name}] replicas={config.deployment.replicas}: "
            f"{t['runs_with_duplicates']}/{t['runs']} runs with a duplicate, {t['duplicate_dispatches']} duplicate "
            f"dispatch(es), max {t['max_dispatches_per_task']} per task, missed {t['missed_dispatches']}, "
            f"stuck {t['stuck_workflows']}, {data['runs_per_second']} runs/s"
            + (f", {t['gate_timeouts']} gate timeout(s)" if t["gate_timeouts"] else "")
        )
        terminal.print_headlines(out, summary, chosen)
    if expect_zero and totals["first_failing_run"] is not None:
        raise SystemExit(1)


PROFILE_HEADER = (
    "# racesim timing profile: written by `racesim live --profile-out`, from the round trips the\n"
    "# live runs made (see `operations`, seconds, by simulator channel). Use it from a scenario with\n"
    "#   timing: {profile: PATH}   (relative to the scenario file)\n"
)

commands = [live]
