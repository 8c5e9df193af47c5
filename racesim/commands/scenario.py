"""`racesim validate` and `import`: scenario files in and out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from racesim.options import InputError, check_outputs, write_output, wrote
from racesim.scenarios import importer, loader
from racesim.scenarios.schema import ScenarioError
from racesim.sim import output as output_layer


def _refuse(line: str) -> NoReturn:
    """The one-line error on stderr, exit 2. SystemExit, not click's Exit: cli.main runs click with
    standalone_mode=False, where an Exit's code is returned and dropped."""
    click.echo(line, err=True)
    sys.exit(2)


@click.command()
@click.argument("files", nargs=-1, required=True)
def validate(files: tuple[str, ...]) -> None:
    """Check scenario FILES without running them.

    Prints 'FILE: ok' per good file; stops at the first bad one with a single line
    'FILE:LINE: field.path: problem' on stderr and exit status 2.
    """
    for name in files:
        try:
            loader.load(name)
        except ScenarioError as exc:
            _refuse(str(exc))
        click.echo(f"{name}: ok")


@click.command("import")
@click.argument("workflow", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Scenario file to write (default: stdout).",
)
@click.option(
    "--items",
    "items",
    multiple=True,
    metavar="TASK=N",
    help=f"Item count for a task whose with_items is a template (repeatable; default {importer.DEFAULT_ITEMS}).",
)
@click.option(
    "--lenient",
    is_flag=True,
    help="Also import older layouts attune HEAD rejects (task mapping, list-form on_success, hyphenated keys), with a warning.",
)
def import_cmd(workflow: Path, output: Path | None, items: tuple[str, ...], lenient: bool) -> None:
    """Convert an attune WORKFLOW file into a racesim scenario.

    WORKFLOW is a standalone workflow file or an action file whose workflow_file points at a
    graph-only file. The scenario keeps the dispatch graph (tasks, actions, with_items,
    concurrency, join, transitions, publishes) with the default deployment and timing.
    Every construct racesim cannot simulate (type: parallel, retry, timeout, custom
    conditions, templates, ...) is named on stderr, one line each.

    A file attune HEAD's parser rejects is refused the same way (its reason, the input
    file's line and a fix, exit 2) unless --lenient can read its older layout.
    """
    try:
        targets = check_outputs({"--output": None if output is None else str(output)})
    except InputError as exc:
        _refuse(f"racesim: error: {exc}")
    try:
        counts = importer.parse_items(items)
        result = importer.import_workflow(workflow, counts, lenient=lenient)
        text = importer.dump(result.scenario)
        importer.loadable(result, str(workflow))  # the written file must load as `racesim run` loads it
    except ScenarioError as exc:
        _refuse(str(exc))
    for note in result.notes:
        click.echo(f"racesim import: {note}", err=True)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        written = write_output(targets["--output"], output_layer.write_text, text)
    except InputError as exc:
        _refuse(f"racesim: error: {exc}")
    wrote(written, f"{len(result.scenario['workflow']['tasks'])} tasks")


commands = [validate, import_cmd]
