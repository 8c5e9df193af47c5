"""`racesim audit`: every workflow file under the given paths, under several versions and deployments."""

from __future__ import annotations

import json
import os
import sys

import click

from racesim.engine import audit as engine
from racesim.models.guards import Guards
from racesim.options import (
    InputError,
    _check_runs,
    _deployment,
    _int_list,
    _stdout,
    check_outputs,
    progress_bar,
    seed_option,
    wrote,
)
from racesim.reports import audit as report
from racesim.scenarios.schema import ScenarioError
from racesim.sim import output
from racesim.sim.config import Deployment

DEFAULT_JOBS = min(2, os.cpu_count() or 1)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--versions",
    default=",".join(engine.DEFAULT_VERSIONS),
    show_default=True,
    help="attune versions to model, comma-separated: pre, fix, f93, head (or guard sets).",
)
@click.option(
    "--replicas", default=",".join(map(str, engine.DEFAULT_REPLICAS)), show_default=True, help="Executor counts, comma-separated."
)
@click.option("--listeners", default="1", show_default=True, help="Completion handlers per executor, comma-separated.")
@click.option(
    "--runs", type=int, default=engine.DEFAULT_RUNS, show_default=True, help="Runs per workflow x version x deployment."
)
@seed_option()
@click.option(
    "--items",
    multiple=True,
    metavar="N|TASK=N",
    help="Item count for with_items templates: N for every one (default 3), TASK=N for a task of that name.",
)
@click.option("--strict", is_flag=True, help="Skip files attune HEAD rejects instead of importing their older layout leniently.")
@click.option("--jobs", "-j", type=int, default=DEFAULT_JOBS, show_default=True, help="Worker processes for the sweeps.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout instead of the table.")
@click.option("--html", "html_dir", default=None, metavar="DIR", help="Write DIR/index.html and one report per workflow.")
@click.option(
    "--fail-on",
    default="safety",
    show_default=True,
    help="Exit 1 when a cell shows one of these findings (comma-separated names, FINDING:TASK, safety, liveness, all, none).",
)
def audit(paths, versions, replicas, listeners, runs, seed, items, strict, jobs, as_json, html_dir, fail_on) -> None:
    """Audit every attune workflow file under PATHS (files or directories).

    Each file is read as attune HEAD's parser reads it (the 'loads in attune HEAD?' column
    says whether attune accepts it; older layouts are imported leniently for analysis unless
    --strict), then swept under every version x deployment with the same seeds. Every finding
    is attributed to a task, with its probability and a 95% Wilson interval, and the command
    that replays its first run. Each workflow lists its shapes (fan-out, join, with_items,
    retries, parallel branches, cycles) and the table names the findings looked for: a clean
    row is a bounded random search, not a proof. Exit 1 when a cell shows a --fail-on finding.
    """
    _check_runs(runs)
    if not 1 <= jobs <= 64:
        raise InputError(f"--jobs: must be between 1 and 64, got {jobs}")
    version_list = [v.strip() for v in versions.split(",") if v.strip()]
    for v in version_list:
        try:
            Guards.parse(v)
        except ValueError as exc:
            raise InputError(f"--versions: {exc}") from None
    if not version_list:
        raise InputError("--versions: no version given (e.g. pre,fix,f93,head)")
    deployments = [
        _deployment(Deployment(), replicas=r, listeners=lis)
        for r in _int_list(replicas, "--replicas")
        for lis in _int_list(listeners, "--listeners")
    ]
    rules = _fail_on(fail_on)
    directory = check_outputs(directories={"--html": html_dir}).get("--html")
    try:
        default_items, named_items = engine.parse_items(items)
        files, skipped_files = engine.discover(list(paths))
    except ScenarioError as exc:
        raise InputError(str(exc)) from None
    if not files:
        raise InputError(f"no workflow file under {' '.join(paths)} (looked for *.yaml with 'tasks' or 'workflow_file')")
    audits = [engine.load(f, default_items, named_items, lenient=not strict) for f in files]
    unused = set(named_items) - {t for a in audits for t in a.items}
    if unused:
        raise InputError(f"--items {sorted(unused)[0]}: no audited workflow has a with_items task of that name")
    cells = len(version_list) * len(deployments)
    total = runs * cells * sum(1 for a in audits if a.scenario is not None)
    skipped = f" ({len(skipped_files)} other YAML files skipped: no 'tasks' or 'workflow_file')" if skipped_files else ""
    click.echo(
        f"audit: {len(audits)} workflow files{skipped}, {cells} cells each ({', '.join(version_list)} x "
        f"{len(deployments)} deployments), {runs} runs per cell: {total} runs on {jobs} jobs",
        err=True,
    )
    with progress_bar(total, "audit") as advance:
        engine.run(audits, version_list, deployments, seed, runs, jobs, advance)
    looked_for = engine.looked_for()
    failed = any(_fails(r, rules) for a in audits for c in a.cells if c.summary for r in engine.finding_rows(c.summary))
    scenario_paths: dict[str, str] = {}
    if directory is not None:
        scenario_paths = _write_html(directory, audits, runs, seed, looked_for, rules)
    if as_json:
        click.echo(json.dumps(report.to_json(audits, runs, seed, looked_for, fail_on, failed, scenario_paths), indent=2))
    else:
        out = _stdout()
        out.print(report.table(audits, runs, seed, looked_for, scenario_paths))
        for line in report.scenario_legend(audits, scenario_paths):
            out.print(line)
    if failed:
        click.echo(f"racesim audit: a cell shows a finding named by --fail-on {fail_on}", err=True)
        sys.exit(1)


def _fail_on(text: str) -> list[tuple[str, str | None]]:
    """``--fail-on``: the registry's parser when it exists, else the legacy names."""
    names = engine.looked_for()
    out: list[tuple[str, str | None]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part or part == "none":
            continue
        name, sep, task = part.partition(":")
        if name in ("safety", "liveness", "all"):
            out.append((name, None))
        elif name in names:
            out.append((name, task or None))
        else:
            raise InputError(
                f"--fail-on: unknown finding {name!r} (choose from: {', '.join(names)}, safety, liveness, all, none)"
            )
    return out


def _fails(row: engine.FindingRow, rules: list[tuple[str, str | None]]) -> bool:
    for name, task in rules:
        if name == "all" or (name == "safety" and row.safety) or (name == "liveness" and not row.safety):
            return True
        if name == row.finding and (task is None or task == row.task):
            return True
    return False


def _write_html(
    directory, audits, runs: int, seed: int, looked_for: list[str], rules: list[tuple[str, str | None]]
) -> dict[str, str]:
    """DIR/index.html, DIR/<workflow>.html per audited workflow (the run report) and the
    imported scenario DIR/scenarios/<workflow>.yaml that the replay commands name."""
    from racesim.commands.run import first_failing_pair
    from racesim.reports import html
    from racesim.scenarios import importer

    try:
        output.ensure_directory(directory)
        output.ensure_directory(directory / "scenarios")
    except output.OutputError as exc:
        raise InputError(str(exc)) from None
    reports: dict[str, str] = {}
    scenario_paths: dict[str, str] = {}
    used: set[str] = set()
    for a in audits:
        if a.scenario is None:
            continue
        name = a.name
        k = 2
        while name in used:
            name, k = f"{a.name}-{k}", k + 1
        used.add(name)
        scenario_path = directory / "scenarios" / f"{name}.yaml"
        output.write_text(scenario_path, importer.dump(a.scenario_data))
        scenario_paths[a.path] = str(scenario_path)
        summaries = [c.summary for c in a.cells if c.summary is not None]
        configs = [c.summary and _config(a, c) for c in a.cells]
        failing, contrast = first_failing_pair(summaries, configs, seed)
        command = report.import_command(a, str(scenario_path)) + " && racesim matrix " + str(scenario_path)
        page = html.render(
            title=f"audit: {a.path}",
            command=command,
            summaries=summaries,
            failing=failing,
            contrast=contrast,
            fail_on=tuple(rules),
        )
        output.write_text(directory / f"{name}.html", page)
        reports[a.path] = f"{name}.html"
    index = output.write_text(directory / "index.html", report.index_html(audits, reports, runs, seed, looked_for))
    wrote(index, f"audit index, {len(reports)} workflow reports")
    return scenario_paths


def _config(a, cell):
    from racesim.engine.runner import config_for

    return config_for(a.scenario, Guards.parse(cell.version), engine._deployment(a.scenario.deployment, cell.deployment))


commands = [audit]
