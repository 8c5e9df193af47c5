"""The ``racesim`` command line: the group, and the commands each module contributes."""

from __future__ import annotations

import sys

import click

from racesim.commands import check, explore, live, run, scenario
from racesim.options import InputError


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
      racesim run with-items-fanin --guards none --seed 4 --runs 1 --trace   # seed 4 duplicates validate
    """


for _module in (run, scenario, explore, check, live):
    for _command in _module.commands:
        cli.add_command(_command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
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


if __name__ == "__main__":
    main()
