"""Shared pieces of the command line: input checks, option sets, progress bars, output."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from racesim.models.guards import NAMED_SETS, SWITCHES, Guards
from racesim.scenarios import loader
from racesim.sim import output
from racesim.sim.config import DEPLOYMENT_LIMITS, FAULTS, Deployment, Faults
from racesim.sim.findings import NAMES, SAFETY, parse_fail_on

MAX_RUNS = 10_000_000
FAULT_HELP = "; ".join(f"{name}: {what}" for name, what in FAULTS.items())
_SWITCH_NAMES = ", ".join(s.replace("_", "-") for s in SWITCHES)
VERSION_HELP = (
    "attune version to model: pre (b54aa3e), fix (7438f92), f93 (f93e922), head (9206d41); "
    "same grammar as --guards (head+recovery, head+no-reconcile) and overrides it."
)
GUARD_HELP = f"Guard set: {', '.join(NAMED_SETS)}, or switches joined with '+' ({_SWITCH_NAMES})."


_argv: list[str] = []  # this process's command line after "racesim", set by the CLI group


def set_invocation(argv: list[str]) -> None:
    _argv[:] = argv


def invocation() -> str:
    """The command line being run, shlex-quoted: the "this report" line of a report."""
    from racesim.reports import reproduce

    return reproduce.invocation(_argv)


class InputError(Exception):
    """Bad usage or input: one line on stderr, exit 2. ``bare`` lines (a scenario's
    ``FILE:LINE: field.path: problem``) are printed as they are, without a prefix."""

    def __init__(self, message: str, bare: bool = False) -> None:
        super().__init__(message)
        self.bare = bare


def _stdout() -> Console:
    # Off a terminal (CI logs, pipes) rich would wrap tables at 80 columns; keep them whole.
    width = None if sys.stdout.isatty() else 160
    # markup off: scenario names, guard sets and reasons contain brackets that are text, not style
    return Console(highlight=False, soft_wrap=True, width=width, markup=False)


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when it is a terminal and the work is long enough."""
    if total < 200 or not sys.stderr.isatty():
        yield lambda n: None
        return
    with Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True, markup=False),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _scenario(name: str) -> loader.Scenario:
    try:
        return loader.load(name)
    except loader.ScenarioError as exc:
        raise InputError(str(exc), bare=True) from None


def _guards(text: str, option: str = "--guards") -> Guards:
    try:
        return Guards.parse(text)
    except ValueError as exc:
        raise InputError(f"{option}: {exc}") from None


def _version_or_guards(version: str | None, guards: str) -> Guards:
    """``--version`` wins over ``--guards``; an empty ``--version`` is an error, not the default."""
    if version is None:
        return _guards(guards)
    if not version.strip():
        raise InputError("--version: empty (give pre, fix, f93 or head)")
    return _guards(version, "--version")


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
    """``base`` with the options given; the limits are the scenario files' (one table)."""
    changes = {k: v for k, v in overrides.items() if v is not None}
    for key, value in changes.items():
        lo, hi = DEPLOYMENT_LIMITS[key]
        if not lo <= value <= hi:
            raise InputError(f"--{key.replace('_', '-')}: must be between {lo:g} and {hi:g}, got {value}")
    return replace(base, **changes)


FAIL_ON_HELP = (
    "What counts as failing, FINDING[:TASK],... from: " + ", ".join(NAMES) + " (or safety, liveness, all); "
    "default: every safety finding (" + ", ".join(SAFETY) + ")."
)
fail_on_option = click.option("--fail-on", "fail_on", default=None, metavar="FINDING[:TASK],...", help=FAIL_ON_HELP)


def _fail_on(text: str | None, scenario: loader.Scenario | None = None) -> tuple[tuple[str, str | None], ...]:
    """Parse --fail-on; a task must be one of the scenario's."""
    try:
        parsed = parse_fail_on(text)
    except ValueError as exc:
        raise InputError(f"--fail-on: {exc}") from None
    if scenario is not None:
        tasks = scenario.graph.nodes
        for _, task in parsed:
            if task is not None and task not in tasks:
                raise InputError(f"--fail-on: {task!r} is not a task of {scenario.name} (tasks: {', '.join(tasks)})")
    return parsed


def _check_runs(runs: int) -> None:
    if not 1 <= runs <= MAX_RUNS:
        raise InputError(f"--runs: must be between 1 and {MAX_RUNS}, got {runs}")


deployment_options = [
    click.option("--replicas", type=int, help="Executor processes competing for the same queues."),
    click.option("--listeners", type=int, help="Concurrent completion handlers per executor (attune: 1)."),
    click.option("--prefetch", type=int, help="Prefetch per consumer (attune: 10)."),
    click.option("--workers", type=int, help="Worker processes."),
    click.option("--worker-slots", type=int, help="Concurrency permits per worker (attune: 10)."),
]


def check_outputs(
    files: dict[str, str | None] | None = None, directories: dict[str, str | None] | None = None
) -> dict[str, output.Target | Path]:
    """Check every output path a command was given, before it does any work: ``files`` maps an
    option name (``--html``) to its value, ``directories`` likewise for output directories.
    Returns the checked targets by option (options given ``None`` are left out); raises
    InputError with one line for the first unusable path. Creates nothing."""
    checked: dict[str, output.Target | Path] = {}
    try:
        for option, value in (files or {}).items():
            if value is not None:
                checked[option] = output.check_file(value, option)
        output.check_distinct({k: v for k, v in checked.items() if isinstance(v, output.Target)})
        for option, value in (directories or {}).items():
            if value is not None:
                checked[option] = output.check_directory(value, option)
    except output.OutputError as exc:
        raise InputError(str(exc)) from None
    return checked


def write_output(
    target: output.Target | str | Path, write: Callable[..., output.Target], *args: object, **kwargs: object
) -> output.Target:
    """``write(target, *args, **kwargs)`` on a checked target (a writer of racesim.sim.output);
    a path that went bad while the work ran is one line, exit 2."""
    try:
        checked = target if isinstance(target, output.Target) else output.check_file(target, "")
        return write(checked, *args, **kwargs)
    except output.OutputError as exc:
        raise InputError(str(exc)) from None


def wrote(target: output.Target, what: str = "") -> None:
    """The final 'wrote FILE' line, on stderr so that --json output stays one document."""
    click.echo(f"wrote {target.describe()}{f' ({what})' if what else ''}", err=True)


CLUSTER_HELP = (
    "Run the sweep on a dask.distributed cluster: its scheduler's ADDRESS (tcp://HOST:8786); "
    "every worker must run this racesim. Results identical to --jobs 1."
)
cluster_option = click.option("--cluster", metavar="ADDRESS", default=None, help=CLUSTER_HELP)


def _check_cluster(cluster: str | None, jobs: int) -> None:
    if cluster is None:
        return
    if not cluster.strip():
        raise InputError("--cluster: give a scheduler address such as tcp://10.0.0.5:8786")
    if jobs != 1:
        raise InputError("--cluster and --jobs: give one of them (the cluster's workers replace local processes)")


# Python's random.seed(n) seeds with abs(n): -5 and 5 would be the same run under two names.
SEED_TYPE = click.IntRange(min=0)
SEED_HELP = "First seed, 0 or more: run i uses seed S+i, and the same seed always gives the same run"


def seed_option(help: str = SEED_HELP + ".") -> Callable:
    """``--seed/-s``, shared by every command that runs seeded sweeps."""
    return click.option("--seed", "-s", type=SEED_TYPE, default=1, show_default=True, help=help)


# The real stores, for every command that talks to them (live, calibrate).
store_options = [
    click.option(
        "--postgres",
        metavar="DSN",
        default=None,
        help="PostgreSQL connection string or URI (libpq); default: the PG* variables, then 127.0.0.1:5432 user postgres.",
    ),
    click.option(
        "--amqp",
        metavar="URL",
        default=None,
        help="RabbitMQ URL (amqp://user:password@host:port/vhost); default: $AMQP_URL, then guest@127.0.0.1:5672.",
    ),
]


def _stores(postgres: str | None, amqp: str | None) -> tuple[str, str]:
    """(DSN, AMQP URL) from the options, the environment, then localhost (racesim.live.connections)."""
    try:
        from racesim.live import connections
    except ImportError as exc:
        raise InputError(f"live mode needs psycopg and pika (pip install -e '.[live]'): {exc}") from None
    try:
        return connections.postgres_dsn(postgres), connections.amqp_url(amqp)
    except connections.ConnectionSettingError as exc:
        raise InputError(str(exc)) from None


def with_options(options):
    def wrap(fn):
        for option in reversed(options):
            fn = option(fn)
        return fn

    return wrap
