"""``racesim calibrate``: measure the live stores and write a timing profile."""

from __future__ import annotations

import click
import yaml

from racesim.engine.runner import config_for, run_one
from racesim.options import InputError, _guards, _scenario, _stores, store_options, with_options
from racesim.sim import output

HEADER = (
    "# racesim timing profile: written by `racesim calibrate`, which times every operation kind\n"
    "# of the models against the live stores (see `operations`, seconds) and derives the\n"
    "# scenario channels from them (`channels`). Use it from a scenario with\n"
    "#   timing: {profile: PATH}   (relative to the scenario file)\n"
)


@click.command()
@click.option("--out", "-o", "out", default="timing-profile.yaml", show_default=True, help="Profile file to write.")
@click.option("--samples", type=int, default=300, show_default=True, help="Timed round trips per operation kind.")
@click.option("--warmup", type=int, default=30, show_default=True, help="Untimed round trips first, per kind.")
@click.option(
    "--reference",
    default="with-items-fanin",
    show_default=True,
    help="Scenario whose simulated run weights the database kinds pooled in db_latency and db_write_latency.",
)
@click.option("--version", "version", default="pre", show_default=True, help="Version of that reference run.")
@with_options(store_options)
def calibrate(out, samples, warmup, reference, version, postgres, amqp) -> None:
    """Measure PostgreSQL and RabbitMQ round trips per operation kind (row reads, counts,
    writes, inserts, transactions, a write inside a transaction and the COMMIT after it, locks,
    publish, consume) and write a timing profile a scenario can use as
    `timing: {profile: FILE}`: reads apart from writes outside a transaction apart from a
    COMMIT that flushes."""
    if not 10 <= samples <= 100_000:
        raise InputError(f"--samples: must be in [10, 100000], got {samples}")
    if not 0 <= warmup <= 10_000:
        raise InputError(f"--warmup: must be in [0, 10000], got {warmup}")
    try:
        target = output.check_file(out, "--out")
    except output.OutputError as exc:
        raise InputError(str(exc)) from None
    sc = _scenario(reference)
    guards = _guards(version)
    dsn, url = _stores(postgres, amqp)
    try:
        from racesim.live import calibrate as measure
    except ImportError as exc:
        raise InputError(f"calibrate needs psycopg and pika (pip install -e '.[live]'): {exc}") from None
    seed_run = run_one(config_for(sc, guards), 1, record=True)
    weight = measure.weights(lambda: [rec[3] for rec in seed_run.output.records])
    try:
        server = measure.server_versions(dsn, url)
        db = measure.measure_postgres(dsn, samples, warmup)
        mq = measure.measure_rabbitmq(url, samples, warmup)
    except Exception as exc:  # a store that is down or refuses us: one line, no traceback, no password
        from racesim.live import connections

        why = connections.redact(str(exc).splitlines()[0] if str(exc) else "", dsn, url)
        raise InputError(f"calibrate: {type(exc).__name__}: {why}") from None
    data = measure.profile(db, mq, weight, samples, server, f"{sc.name} under {guards.name}, seed 1")
    written = output.write_text(target, HEADER + yaml.safe_dump(data, sort_keys=False, width=100))
    ch = data["channels"]
    click.echo(
        f"db {ch['db_latency']['mean'] * 1e3:.3f} ms, write {ch['db_write_latency']['mean'] * 1e3:.3f} ms, "
        f"commit {ch['db_commit_latency']['mean'] * 1e3:.3f} ms, publish {ch['publish_latency']['mean'] * 1e3:.3f} ms, "
        f"delivery {ch['listener_delay']['mean'] * 1e3:.3f} ms -> {written.describe() if hasattr(written, 'describe') else out}"
    )


commands = [calibrate]
