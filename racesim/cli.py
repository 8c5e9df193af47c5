"""The ``racesim`` command line: the group, and the commands each module contributes."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from racesim.commands import audit, calibrate, check, explain, explore, init, live, run, scenario
from racesim.engine.parallel import ClusterError
from racesim.options import InputError, set_invocation


class RacesimGroup(click.Group):
    """The group whose ``main`` turns every bad-input error into one line and exit 2, for the
    installed script and for in-process callers (click's CliRunner) alike."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any) -> NoReturn:  # type: ignore[override]
        extra.pop("standalone_mode", None)
        set_invocation(list(sys.argv[1:] if args is None else args))
        try:
            code = super().main(args, prog_name or "racesim", standalone_mode=False, **extra)
        except InputError as exc:
            click.echo(str(exc) if exc.bare else f"racesim: error: {exc}", err=True)
            sys.exit(2)
        except ClusterError as exc:
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
        sys.exit(code if isinstance(code, int) else 0)


@click.group(
    cls=RacesimGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="racesim")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Deterministic race simulation of attune's workflow advancement.

    racesim runs a faithful port of attune's advance_workflow, every database round trip
    a point where other actors may interleave, against simulated stores, and counts
    duplicate and missed dispatches under each guard layer.

    \b
    Start here:
      racesim list                                  # the scenario catalog
      racesim matrix with-items-fanin --runs 1000   # every guard set side by side
      racesim run with-items-fanin --guards none --seed 4 --runs 1 --trace   # seed 4 duplicates validate
    """
    if ctx.invoked_subcommand is None:  # bare `racesim`: the help, as an answer rather than an error
        click.echo(ctx.get_help())


for _module in (run, scenario, explore, explain, check, live, audit, init, calibrate):
    for _command in _module.commands:
        cli.add_command(_command)


class Terminated(Exception):
    """SIGTERM, raised in the main thread so the worker pool shuts down on the way out."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def main() -> None:
    # Without a handler SIGTERM kills the process where it stands: a --jobs pool's semaphores
    # leak (multiprocessing warns about them) and its workers outlive the parent.
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main()
    except Terminated:
        click.echo("racesim: terminated", err=True)
        sys.exit(143)


if __name__ == "__main__":
    main()
