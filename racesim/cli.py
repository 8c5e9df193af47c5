"""The ``racesim`` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from models.guards import MATRIX_SETS, NAMED_SETS, SWITCHES, Guards
from racesim.runner import Summary, config_for, run_one, sweep
from reports import terminal
from scenarios import loader
from sim.config import FAULTS, Deployment, Faults

MAX_RUNS = 10_000_000
FAULT_HELP = "; ".join(f"{name}: {what}" for name, what in FAULTS.items())
_SWITCH_NAMES = ", ".join(s.replace("_", "-") for s in SWITCHES)
GUARD_HELP = f"Guard set: {', '.join(NAMED_SETS)}, or switches joined with '+' ({_SWITCH_NAMES})."


class InputError(Exception):
    """Bad usage or input: one line on stderr, exit 2."""


def _stdout() -> Console:
    # Off a terminal (CI logs, pipes) rich would wrap tables at 80 columns; keep them whole.
    width = None if sys.stdout.isatty() else 160
    return Console(highlight=False, soft_wrap=True, width=width)


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when it is a terminal and the work is long enough."""
    if total < 200 or not sys.stderr.isatty():
        yield lambda n: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _scenario(name: str) -> loader.Scenario:
    try:
        return loader.load(name)
    except loader.ScenarioError as exc:
        raise InputError(str(exc)) from None


def _guards(text: str) -> Guards:
    try:
        return Guards.parse(text)
    except ValueError as exc:
        raise InputError(f"--guards: {exc}") from None


def _faults(text: str | None, base: Faults) -> Faults:
    if text is None:
        return base
    try:
        return Faults.parse(text)
    except ValueError as exc:
        raise InputError(f"--faults: {exc}") from None


def _int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{option}: expected comma-separated integers, got {text!r}") from None
    if not values or any(v < 1 or v > 64 for v in values):
        raise InputError(f"{option}: values must be between 1 and 64, got {text!r}")
    return values


def _deployment(base: Deployment, **overrides: int | None) -> Deployment:
    changes = {k: v for k, v in overrides.items() if v is not None}
    for key, value in changes.items():
        if not 1 <= value <= 64:
            raise InputError(f"--{key}: must be between 1 and 64, got {value}")
    return replace(base, **changes)


def _check_runs(runs: int) -> None:
    if not 1 <= runs <= MAX_RUNS:
        raise InputError(f"--runs: must be between 1 and {MAX_RUNS}, got {runs}")


deployment_options = [
    click.option("--replicas", type=int, help="Executor processes competing for the same queues."),
    click.option("--listeners", type=int, help="Concurrent completion handlers per executor (attune: 1)."),
    click.option("--prefetch", type=int, help="Prefetch per consumer (attune: 10)."),
    click.option("--workers", type=int, help="Worker processes."),
]


def with_options(options):
    def wrap(fn):
        for option in reversed(options):
            fn = option(fn)
        return fn

    return wrap


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="racesim")
def cli() -> None:
    """Deterministic race simulation of attune's workflow advancement.

    racesim runs a faithful port of attune's advance_workflow, every database round trip
    a point where other actors may interleave, against simulated stores, and counts
    duplicate and missed dispatches under each guard layer.

    \b
    Start here:
      racesim list                                  # the scenario catalog
      racesim matrix with-items-fanin --runs 1000   # every guard set side by side
      racesim run with-items-fanin --guards none --seed 1 --runs 1 --trace
    """


@cli.command("list")
def list_cmd() -> None:
    """List the catalog's scenarios with a one-line description."""
    out = _stdout()
    for path in loader.catalog():
        sc = _scenario(str(path))
        out.print(f"{sc.name:<28} {sc.description}")


@cli.command()
@click.argument("scenario")
@click.option("--guards", "-g", default="both", show_default=True, help=GUARD_HELP)
@click.option(
    "--runs", "-n", type=int, default=None, help="Number of seeded runs (seeds S..S+N-1); default: the scenario's."
)
@click.option("--seed", "-s", type=int, default=1, show_default=True, help="First seed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--trace", is_flag=True, help="Print the interleaving of the first run, one line per event.")
@click.option("--faults", default=None, help=f"Faults, '+'-joined, each NAME[=P] (P defaults to 0.1). {FAULT_HELP}.")
@click.option("--expect-zero", is_flag=True, help="Exit 1 when any duplicate dispatch was found.")
@with_options(deployment_options)
def run(
    scenario, guards, runs, seed, as_json, trace, faults, expect_zero, replicas, listeners, prefetch, workers
) -> None:
    """Run N seeded runs of SCENARIO under one guard set and summarise them.

    SCENARIO is a catalog name (see `racesim list`) or a path to a scenario file.
    """
    sc = _scenario(scenario)
    g = _guards(guards)
    runs = sc.runs if runs is None else runs
    _check_runs(runs)
    dep = _deployment(sc.deployment, replicas=replicas, listeners=listeners, prefetch=prefetch, workers=workers)
    config = config_for(sc, g, dep, _faults(faults, sc.faults))
    out = _stdout()
    if trace:
        result = run_one(config, seed)
        terminal.print_trace(out, result)
        if expect_zero and result.verdict.duplicate_dispatches:
            sys.exit(1)
        return
    with progress_bar(runs, f"{sc.name} [{g.name}]") as advance:
        summary = sweep(config, seed, runs, progress=advance)
    if as_json:
        click.echo(json.dumps(summary.to_json(), indent=2))
    else:
        out.print(terminal.summary_table([summary], f"{sc.name}: {runs} runs from seed {seed} ({dep.label()})"))
        out.print(terminal.by_task_table(summary))
        out.print(f"digest {summary.digest}")
    if expect_zero and summary.duplicate_dispatches:
        sys.exit(1)


@cli.command()
@click.argument("scenario")
@click.option("--runs", "-n", type=int, default=None, help="Runs per guard set; default: the scenario's.")
@click.option(
    "--seed", "-s", type=int, default=1, show_default=True, help="First seed (the same seeds for every guard set)."
)
@click.option(
    "--guards",
    "guard_sets",
    default=",".join(MATRIX_SETS),
    show_default=True,
    help="Comma-separated guard sets (rows).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per guard set.")
@click.option("--faults", default=None, help="Faults for every cell (see `racesim run --help`).")
@with_options(deployment_options)
def matrix(scenario, runs, seed, guard_sets, as_json, faults, replicas, listeners, prefetch, workers) -> None:
    """Run SCENARIO under each guard set with the same seeds: one row per guard set."""
    sc = _scenario(scenario)
    runs = sc.runs if runs is None else runs
    _check_runs(runs)
    sets = [_guards(g) for g in guard_sets.split(",") if g.strip()]
    dep = _deployment(sc.deployment, replicas=replicas, listeners=listeners, prefetch=prefetch, workers=workers)
    fl = _faults(faults, sc.faults)
    summaries: list[Summary] = []
    with progress_bar(runs * len(sets), f"{sc.name} matrix") as advance:
        for g in sets:
            summaries.append(sweep(config_for(sc, g, dep, fl), seed, runs, progress=advance))
    if as_json:
        click.echo(json.dumps([s.to_json() for s in summaries], indent=2))
        return
    out = _stdout()
    out.print(
        terminal.summary_table(
            summaries, f"{sc.name}: {runs} runs per guard set from seed {seed} ({dep.label()}, faults: {fl.label()})"
        )
    )


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except InputError as exc:
        click.echo(f"racesim: error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("racesim: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        click.echo(f"racesim: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"racesim: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
