"""`racesim list`, `run` and `matrix`: seeded sweeps of one scenario."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import click

from racesim.engine.exploration import scenario_ref, schedule_of
from racesim.engine.matrix import candidate_sets, cell_json, minimal_guard_set
from racesim.engine.parallel import run_sweeps
from racesim.engine.runner import DEFAULT_FAIL_ON, SCHEMA_VERSION, Summary, config_for, deployment_json, run_one
from racesim.models.guards import Guards
from racesim.options import (
    FAULT_HELP,
    GUARD_HELP,
    SEED_HELP,
    VERSION_HELP,
    InputError,
    _check_cluster,
    _check_runs,
    _deployment,
    _fail_on,
    _faults,
    _guards,
    _int_list,
    _scenario,
    _stdout,
    _version_or_guards,
    check_outputs,
    cluster_option,
    deployment_options,
    fail_on_option,
    invocation,
    progress_bar,
    seed_option,
    with_options,
    write_output,
    wrote,
)
from racesim.reports import first_screen, reproduce, terminal
from racesim.scenarios import loader
from racesim.sim.findings import describe_fail_on, fails


@click.command("list")
def list_cmd() -> None:
    """List the catalog's scenarios: name, one-line description, and the file it is read from
    (copy one to start your own; a scenario file runs by its path)."""
    out = _stdout()
    paths = loader.catalog()
    if paths:
        out.print(f"catalog: {paths[0].parent}")
    for path in paths:
        sc = _scenario(str(path))
        out.print(f"{sc.name:<28} {sc.description}")
        out.print(f"{'':<28} {path}", style="dim")


SAVE_CAP = 20


def _report_outputs(targets, title, ref, summaries, failing, contrast, configs=None) -> None:
    """Write the optional HTML report and Perfetto trace (checked ``targets`` by option);
    ``ref`` names the scenario as the reproduce commands must (reproduce.for_run). With
    ``configs`` (one per summary) the report explains each finding and task of the sweep."""
    if "--html" in targets:
        from racesim.analysis.cases import cases
        from racesim.reports import html

        runs = {"the failing run": failing, "the contrast run": contrast}
        again = {label: reproduce.for_run(r, ref) for label, r in runs.items() if r is not None}
        if configs and len(summaries) > 1:  # a matrix: an index page and one report per cell
            index = dict(title=title, command=invocation(), summaries=summaries, scenario_ref=ref)
            index.update(failing=failing, contrast=contrast, reproduce_with=again)
            index["cell_cases"] = [cases(summaries, configs, only=i) for i in range(len(summaries))]
            label = f"HTML report (an index; {len(summaries)} cell reports beside it, <name>.cellK.html)"
            wrote(write_output(targets["--html"], html.write_matrix, **index), label)
            return _trace_json(targets, failing)
        found = cases(summaries, configs) if configs and summaries else None
        report = dict(
            title=title,
            command=invocation(),
            summaries=summaries,
            failing=failing,
            contrast=contrast,
            reproduce_with=again,
            cases=found,
            scenario_ref=ref,
        )
        wrote(write_output(targets["--html"], html.write_report, **report), "HTML report")
    _trace_json(targets, failing)


def _trace_json(targets, failing) -> None:
    if "--trace-json" in targets:
        if failing is None:
            click.echo(f"racesim: --trace-json {targets['--trace-json'].path}: not written, no run failed", err=True)
            return
        from racesim.reports import perfetto

        wrote(write_output(targets["--trace-json"], perfetto.write_trace, failing), "Perfetto trace")


def first_failing_pair(summaries, configs, seed, fail_on=DEFAULT_FAIL_ON):
    """The first run failing under ``fail_on`` across the sweep, and the same seed under a
    guard set that prevents it: a clean cell of the sweep with the same deployment, else
    ``serialized``."""
    for summary, config in zip(summaries, configs, strict=True):
        failing_seed = summary.first_failing(fail_on)
        if failing_seed is None:
            continue
        failing = run_one(config, failing_seed, record=True)
        for other, other_config in zip(summaries, configs, strict=True):
            same_place = other_config.deployment == config.deployment and other_config.faults == config.faults
            if other.first_failing(fail_on) is None and same_place:
                return failing, run_one(other_config, failing_seed, record=True)
        contrast = run_one(replace(config, guards=Guards.parse("serialized")), failing_seed, record=True)
        return failing, (None if fails(contrast.verdict.results, fail_on) else contrast)
    return None, None


@click.command()
@click.argument("scenario")
@click.option("--guards", "-g", default="both", show_default=True, help=GUARD_HELP)
@click.option("--version", "version", default=None, help=VERSION_HELP)
@click.option("--runs", "-n", type=int, default=None, help="Number of seeded runs (seeds S..S+N-1); default: the scenario's.")
@seed_option()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--trace", is_flag=True, help="Print the interleaving of the first run, one line per event.")
@click.option("--faults", default=None, help=f"Faults, '+'-joined, each NAME[=P] (P defaults to 0.1). {FAULT_HELP}.")
@click.option("--expect-zero", is_flag=True, help="Exit 1 when any run fails under --fail-on.")
@fail_on_option
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="Worker processes (results identical to 1).")
@cluster_option
@click.option("--html", "html_path", default=None, help="Write a self-contained HTML report to this file.")
@click.option("--trace-json", default=None, help="Write the first failing run as Perfetto/Chrome trace JSON.")
@click.option(
    "--save-failing",
    "save_dir",
    default=None,
    help=f"Save each failing run (up to {SAVE_CAP}) as a schedule file in this directory, for `racesim replay`.",
)
@with_options(deployment_options)
def run(
    scenario,
    guards,
    version,
    runs,
    seed,
    as_json,
    trace,
    faults,
    expect_zero,
    fail_on,
    jobs,
    cluster,
    html_path,
    trace_json,
    save_dir,
    replicas,
    listeners,
    prefetch,
    workers,
    worker_slots,
) -> None:
    """Run N seeded runs of SCENARIO under one guard set and summarise them.

    SCENARIO is a catalog name (see `racesim list`) or a path to a scenario file.
    """
    sc = _scenario(scenario)
    fail_on = _fail_on(fail_on, sc)
    g = _version_or_guards(version, guards)
    runs = sc.runs if runs is None else runs
    _check_runs(runs)
    _check_jobs(jobs)
    _check_cluster(cluster, jobs)
    dep = _deployment(
        sc.deployment, replicas=replicas, listeners=listeners, prefetch=prefetch, workers=workers, worker_slots=worker_slots
    )
    config = config_for(sc, g, dep, _faults(faults, sc.faults))
    targets = check_outputs({"--html": html_path, "--trace-json": trace_json}, {"--save-failing": save_dir})
    out = _stdout()
    if trace:
        result = run_one(config, seed, record=True)
        terminal.print_trace(out, result)
        if html_path or trace_json:
            _, contrast = first_failing_pair([_single(result, config)], [config], seed, fail_on)
            _report_outputs(targets, f"{sc.name} seed {seed}", scenario_ref(scenario, sc), [], result, contrast)
        if expect_zero and fails(result.verdict.results, fail_on):
            sys.exit(1)
        return
    with progress_bar(runs, f"{sc.name} [{g.name}]") as advance:
        [summary] = run_sweeps([config], seed, runs, jobs, advance, cluster=cluster)
    if as_json:
        click.echo(json.dumps(summary.to_json(fail_on, command="run"), indent=2))
    else:
        out.print(terminal.summary_table([summary], f"{sc.name}: {runs} runs from seed {seed} ({dep.label()})"))
        out.print(terminal.by_task_table(summary))
        terminal.print_headlines(out, summary, fail_on)
        for line in summary.coverage.lines():
            out.print(f"coverage: {line}", highlight=False)
        out.print(f"digest {summary.digest}")
    if html_path or trace_json:
        failing, contrast = first_failing_pair([summary], [config], seed, fail_on)
        _report_outputs(targets, sc.name, scenario_ref(scenario, sc), [summary], failing, contrast, [config])
    if save_dir:
        directory = targets["--save-failing"]
        assert isinstance(directory, Path)  # check_outputs gives directories as paths
        saved = save_failing(directory, scenario, sc, config, summary, fail_on)
        if not saved:
            click.echo(f"racesim: --save-failing {save_dir}: no run failed, nothing saved", err=True)
    if expect_zero and summary.first_failing(fail_on) is not None:
        sys.exit(1)


@click.command()
@click.argument("scenario")
@click.option(
    "--runs",
    "-n",
    type=int,
    default=None,
    help=f"Runs per cell; default: the scenario's, at most {first_screen.RUNS_CAP} on the first screen (no axis given).",
)
@seed_option(SEED_HELP + "; the same seeds in every cell.")
@click.option(
    "--guards",
    "guard_sets",
    default=None,
    help=f"Comma-separated guard sets (rows), each may be '+'-joined [default: {','.join(first_screen.GUARD_SETS)}].",
)
@click.option("--versions", default=None, help="Comma-separated attune versions as rows (pre,fix,f93,head); overrides --guards.")
@click.option(
    "--replicas", default=None, help="Comma-separated executor counts (deployment axis) [default: the scenario's and 2]."
)
@click.option("--listeners", default=None, help="Comma-separated completion handlers per executor, e.g. 1,3.")
@click.option("--prefetch", type=int, default=None, help="Prefetch per consumer (attune: 10).")
@click.option("--workers", type=int, default=None, help="Worker processes.")
@click.option(
    "--faults",
    default=None,
    help="Comma-separated fault sets (fault axis), each 'none' or '+'-joined NAME[=P]. " + FAULT_HELP + ".",
)
@click.option("--minimal", is_flag=True, help="Also search, per deployment and fault set, the smallest sufficient guard set.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object; its cells: one result object per cell.")
@fail_on_option
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="Worker processes (results identical to 1).")
@cluster_option
@click.option("--html", "html_path", default=None, help="Write a self-contained HTML report to this file.")
@click.option("--trace-json", default=None, help="Write the first failing run as Perfetto/Chrome trace JSON.")
def matrix(
    scenario,
    runs,
    seed,
    guard_sets,
    versions,
    replicas,
    listeners,
    prefetch,
    workers,
    faults,
    minimal,
    as_json,
    fail_on,
    jobs,
    cluster,
    html_path,
    trace_json,
) -> None:
    """Run SCENARIO under each guard set x deployment x fault set, with the same seeds.

    With no axis given, the first screen: none, the fix (both), serialized and HEAD, on one
    executor and on two replicas, the successor's duplicates and item re-runs in separate
    columns. With --listeners, --faults or --minimal: rows are guard sets, columns
    deployments; each cell shows runs with a duplicate over runs, a 95% Wilson interval on
    P(duplicate), and the other checkers' counts.
    """
    sc = _scenario(scenario)
    fail_on = _fail_on(fail_on, sc)
    screen = listeners is None and faults is None and not minimal
    capped = screen and runs is None and sc.runs > first_screen.RUNS_CAP
    runs = (min(sc.runs, first_screen.RUNS_CAP) if screen else sc.runs) if runs is None else runs
    _check_runs(runs)
    _check_jobs(jobs)
    _check_cluster(cluster, jobs)
    rows = versions or guard_sets or ",".join(first_screen.GUARD_SETS)
    axis = "--versions" if versions else "--guards"
    sets = [_guards(g, axis) for g in rows.split(",") if g.strip()]
    if not sets:
        raise InputError(f"--guards: no guard set given in {guard_sets!r} (e.g. none,both,serialized)")
    base = sc.deployment
    deployments = [
        _deployment(base, replicas=r, listeners=lis, prefetch=prefetch, workers=workers)
        for r in (_int_list(replicas, "--replicas") if replicas else dict.fromkeys([base.replicas, 2]))
        for lis in (_int_list(listeners, "--listeners") if listeners else [base.listeners])
    ]
    fault_sets = [_faults(f, sc.faults) for f in faults.split(",") if f.strip()] if faults is not None else [sc.faults]
    if not fault_sets:
        raise InputError(f"--faults: no fault set given in {faults!r} (e.g. none,crash-before-publish)")
    cells = [(g, d, f) for f in fault_sets for d in deployments for g in sets]
    targets = check_outputs({"--html": html_path, "--trace-json": trace_json})
    configs = [config_for(sc, g, d, f) for g, d, f in cells]
    total = runs * len(configs) + (runs * len(candidate_sets()) * len(deployments) * len(fault_sets) if minimal else 0)
    with progress_bar(total, f"{sc.name} matrix") as advance:
        summaries = run_sweeps(configs, seed, runs, jobs, advance, cluster=cluster)
        answers = (
            [minimal_guard_set(sc, d, f, seed, runs, jobs, advance, cluster) for f in fault_sets for d in deployments]
            if minimal
            else []
        )
    if as_json:
        data = {
            "schema_version": SCHEMA_VERSION,
            "command": "matrix",
            "scenario": sc.name,
            "runs": runs,
            "seed": seed,
            "fail_on": describe_fail_on(fail_on),
            "cells": [cell_json(s, fail_on) for s in summaries],
            "minimal": [
                {
                    "deployment": deployment_json(a.deployment),
                    "faults": a.faults.label(),
                    "sentence": a.sentence(),
                    "guards": a.guards,
                    "safe_guards": a.safe_guards,
                }
                for a in answers
            ],
        }
        click.echo(json.dumps(data, indent=2))
    else:
        out = _stdout()
        if screen:
            title = f"{sc.name}: {runs} runs per cell from seed {seed}, faults: {fault_sets[0].label()}"
            # guard set by guard set, each on every deployment
            ordered = sorted(summaries, key=lambda s: [g.name for g in sets].index(s.guards))
            out.print(first_screen.table(ordered, sc.graph, title))
            for line in first_screen.footer(runs, sc.runs, scenario, capped):
                out.print(line)
        for f in fault_sets if not screen else []:
            rows = [s for s in summaries if s.faults == f]
            title = f"{sc.name}: {runs} runs per cell from seed {seed}, faults: {f.label()}"
            out.print(terminal.matrix_table(rows, title, fail_on))
        for a in answers:
            out.print(a.sentence())
    if html_path or trace_json:
        failing, contrast = first_failing_pair(summaries, configs, seed, fail_on)
        _report_outputs(targets, sc.name, scenario_ref(scenario, sc), summaries, failing, contrast, configs)


def save_failing(directory: Path, name: str, sc, config, summary: Summary, fail_on=DEFAULT_FAIL_ON) -> list[Path]:
    """Re-run each seed failing under ``fail_on`` with recording on and save its schedule file in the checked
    ``directory`` (created, one level, only when there is something to save)."""
    from racesim.sim import output, schedule_file

    saved: list[Path] = []
    for s in summary.failing(fail_on)[:SAVE_CAP]:
        if not saved:
            try:
                output.ensure_directory(directory)
            except output.OutputError as exc:
                raise InputError(str(exc)) from None
        result = run_one(config, s, record=True)
        path = directory / f"{sc.name}-{config.guards.name.replace('+', '_')}-seed{s}.json"
        schedule = schedule_of(scenario_ref(name, sc), config, "random", {}, s, result, fail_on)
        wrote(write_output(path, schedule_file.save, schedule), "schedule")
        saved.append(path)
    return saved


def _single(result, config) -> Summary:
    summary = Summary(config.scenario, config.guards.name, 1, result.seed, config.deployment, config.faults)
    summary.add(result)
    return summary


def _check_jobs(jobs: int) -> None:
    if not 1 <= jobs <= 64:
        raise InputError(f"--jobs: must be between 1 and 64, got {jobs}")


commands = [list_cmd, run, matrix]
