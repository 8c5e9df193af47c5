"""The ``racesim`` command line: the group, and the commands each module contributes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from racesim.commands import check, explore, live, run, scenario
from racesim.options import InputError


class RacesimGroup(click.Group):
    """The group whose ``main`` turns every bad-input error into one line and exit 2, for the
    installed script and for in-process callers (click's CliRunner) alike."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any) -> NoReturn:
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args, prog_name or "racesim", standalone_mode=False, **extra)
        except InputError as exc:
            click.echo(str(exc) if exc.bare else f"racesim: error: {exc}", err=True)
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
        except RecursionError:
            # a last line of defence: input nested too deep for some parser (each file reader
            # also limits its nesting and says which file)
            click.echo("racesim: error: input nested too deeply", err=True)
            sys.exit(2)
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


for _module in (run, scenario, explore, check, live):
    for _command in _module.commands:
        cli.add_command(_command)


def main() -> None:
    cli.main()


if __name__ == "__main__":
    main()
