"""`racesim init`: a commented starter scenario, from a template or an attune workflow file."""

from __future__ import annotations

from pathlib import Path

import click

from racesim.options import InputError, wrote
from racesim.scenarios import importer, starter
from racesim.scenarios.schema import ScenarioError
from racesim.sim import output


@click.command("init")
@click.argument("file")
@click.option(
    "--from",
    "workflow",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Start from this attune workflow file (standalone, graph-only or an action file with workflow_file).",
)
@click.option(
    "--template",
    type=click.Choice(list(starter.TEMPLATES)),
    default=None,
    help=f"Start from a built-in graph (default {starter.DEFAULT_TEMPLATE}): "
    + "; ".join(f"{k}: {v[0]}" for k, v in starter.TEMPLATES.items()),
)
@click.option("--items", multiple=True, metavar="TASK=N", help="With --from: item count for a with_items template.")
@click.option("--lenient", is_flag=True, help="With --from: also read older layouts attune HEAD rejects (with a warning).")
def init(file: str, workflow: Path | None, template: str | None, items: tuple[str, ...], lenient: bool) -> None:
    """Write FILE, a starter scenario with a comment on every field.

    The file holds a workflow graph (from --from WORKFLOW or a --template), the default
    deployment, timing, faults and outcomes, and an example expect block, each explained, and
    loads as it is. An existing FILE is never overwritten.
    """
    if workflow is not None and template is not None:
        raise InputError("--from and --template: give one of them")
    if (items or lenient) and workflow is None:
        raise InputError("--items and --lenient apply only with --from WORKFLOW")
    try:
        target = output.check_file(file, "FILE", may_exist=False)
    except output.OutputError as exc:
        raise InputError(str(exc)) from None
    name = importer._scenario_name(Path(file).stem)
    try:
        if workflow is not None:
            text, notes = starter.from_workflow(workflow, name, importer.parse_items(items), lenient)
            for note in notes:
                click.echo(f"racesim init: {note}", err=True)
        else:
            text = starter.from_template(template or starter.DEFAULT_TEMPLATE, name)
    except ScenarioError as exc:
        raise InputError(str(exc), bare=True) from None
    try:
        written = output.write_text(target, text, may_exist=False)
    except output.OutputError as exc:
        raise InputError(str(exc)) from None
    wrote(written, f"starter scenario; next: racesim validate {file} && racesim run {file}")


commands = [init]
