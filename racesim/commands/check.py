"""`racesim check`: the CI gate over scenarios' expect blocks.

Exit 0 when every expectation holds, 1 when a finding contradicts one (each printed with
the command that replays it), 2 on bad input. The pytest plugin shares the loading and
naming helpers here so both gates judge a scenario the same way.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import click

from racesim.engine.expectations import DEPLOYMENT_KEYS, ExpectResult, evaluate
from racesim.engine.headlines import headlines
from racesim.engine.runner import DEFAULT_FAIL_ON, SCHEMA_VERSION
from racesim.options import (
    MAX_RUNS,
    SEED_HELP,
    InputError,
    _check_cluster,
    check_outputs,
    cluster_option,
    progress_bar,
    seed_option,
    write_output,
    wrote,
)
from racesim.reports import junit, reproduce
from racesim.scenarios import loader
from racesim.scenarios.loader import Scenario
from racesim.sim.config import Faults
from racesim.sim.findings import NAMES, describe_fail_on, parse_fail_on
from racesim.sim.schedulers import STRATEGIES

_USABLE = ", ".join(s for s in STRATEGIES if s != "replay")  # replay needs a schedule file


def load_scenario(name: str) -> Scenario:
    """Load a scenario (the loader's schema validates its expect block), or raise InputError."""
    try:
        scenario = loader.load(name)
    except loader.ScenarioError as exc:
        raise InputError(str(exc)) from None
    if not isinstance(scenario.expect, list):
        raise InputError(f"{scenario.path}: expect: must be a list of entries")
    return scenario


def entry_deployment_label(scenario: Scenario, entry: dict) -> str:
    """An expect entry's identity before it runs: guards x deployment x faults."""
    dep = replace(scenario.deployment, **{k: int(entry[k]) for k in DEPLOYMENT_KEYS if k in entry})
    faults = Faults.parse(str(entry["faults"])) if "faults" in entry else scenario.faults
    return f"{entry['guards']} {dep.label()} faults={faults.label()}"


def case_name(result: ExpectResult) -> str:
    s = result.summary
    return f"{s.guards} {s.deployment.label()} faults={s.faults.label()}"


def entry_runs(scenario: Scenario, entry: dict, runs: int | None) -> int:
    return runs if runs is not None else int(entry.get("runs", scenario.runs))


def failure_message(result: ExpectResult, scenario: Scenario, strategy: str = "random") -> str:
    """The first contradicted claim, the seed to look at and the command that replays it."""
    more = f" (+{len(result.failures) - 1} more)" if len(result.failures) > 1 else ""
    return f"{result.failures[0]}{more}; seed {result.first_seed()}; replay: {reproduce.for_expectation(result, strategy)}"


@click.command()
@click.argument("scenarios", nargs=-1)
@click.option("--runs", "-n", type=int, default=None, help="Runs per expect entry; default: each entry's, else the scenario's.")
@seed_option(SEED_HELP + "; every expect entry's sweep starts here.")
@click.option("--strategy", default="random", show_default=True, help=f"Scheduler ({_USABLE}).")
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="Worker processes (results identical to 1).")
@cluster_option
@click.option("--junit", "junit_path", default=None, help="Write JUnit XML here (one testcase per expect entry).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (a result object per expect entry).")
@click.option(
    "--fail-on",
    "fail_on",
    default=None,
    metavar="FINDING[:TASK],...",
    help="Only claims about these findings can fail the check (the others are reported, not gating); "
    "default: every claim. Names: " + ", ".join(NAMES) + " (or safety, liveness, all).",
)
def check(
    scenarios: tuple[str, ...],
    runs: int | None,
    seed: int,
    strategy: str,
    jobs: int,
    cluster: str | None,
    junit_path: str | None,
    as_json: bool = False,
    fail_on: str | None = None,
) -> None:
    """Check every expect block of the given scenarios (default: the whole catalog).

    SCENARIO is a catalog name or a scenario file. Exit 0 when every expectation holds,
    1 when a finding contradicts one (each printed with the command that replays it),
    2 on bad input.
    """
    gating = None
    if fail_on is not None:
        try:
            gating = parse_fail_on(fail_on)
        except ValueError as exc:
            raise InputError(f"--fail-on: {exc}") from None
    echo = (lambda *a, **k: None) if as_json else click.echo
    if runs is not None and not 1 <= runs <= MAX_RUNS:
        raise InputError(f"--runs: must be between 1 and {MAX_RUNS}, got {runs}")
    if not 1 <= jobs <= 64:
        raise InputError(f"--jobs: must be between 1 and 64, got {jobs}")
    _check_cluster(cluster, jobs)
    if strategy not in STRATEGIES or strategy == "replay":
        choices = ", ".join(s for s in STRATEGIES if s != "replay")
        raise InputError(f"--strategy: unknown strategy {strategy!r} (choose from: {choices})")
    targets = check_outputs({"--junit": junit_path})
    explicit = bool(scenarios)
    # Load and validate everything before running anything: bad input costs no sweep time.
    selected = [load_scenario(name) for name in (scenarios or [str(p) for p in loader.catalog()])]
    for sc in selected:
        if explicit and not sc.expect:
            raise InputError(f"{sc.path}: no expect block to check")
    cases: list[junit.Case] = []
    failed: list[tuple[ExpectResult, Scenario]] = []
    results: list[tuple[ExpectResult, Scenario]] = []
    total = sum(entry_runs(sc, e, runs) for sc in selected for e in sc.expect)
    with progress_bar(total, "racesim check") as advance:
        for sc in selected:
            if not sc.expect:
                echo(f"skip  {sc.name}: no expect block")
                cases.append(junit.Case(sc.name, "expect", skipped="no expect block"))
                continue
            for result in evaluate(sc, seed, runs, jobs, advance, strategy, cluster, gating):
                results.append((result, sc))
                status = "ok   " if result.ok else "FAIL "
                echo(f"{status} {sc.name} [{case_name(result)}] {result.summary.runs} runs")
                for claim in result.ignored:
                    echo(f"      not gating (--fail-on): {claim}")
                s = result.summary
                info = f"runs {s.runs} from seed {s.seed}, strategy {s.strategy}, digest {s.digest}\n" + "\n".join(
                    h.sentence for h in headlines(s)
                )
                if result.ok:
                    cases.append(junit.Case(sc.name, case_name(result), output=info))
                    continue
                failed.append((result, sc))
                detail = "\n".join([*result.failures, f"seed {result.first_seed()}", reproduce.for_expectation(result, strategy)])
                note = result.entry.get("note")
                detail += f"\nnote: {note}" if note else ""
                cases.append(junit.Case(sc.name, case_name(result), failure_message(result, sc, strategy), detail, output=info))
    if junit_path:
        wrote(write_output(targets["--junit"], junit.write, cases), "JUnit XML")
    checked = sum(c.skipped is None for c in cases)
    for result, sc in failed:
        s = result.summary
        echo()
        echo(f"contradicted: {sc.name}")
        echo(f"  guards:     {s.guards}")
        echo(f"  deployment: {s.deployment.label()}, faults {s.faults.label()}")
        for finding in result.failures:
            echo(f"  finding:    {finding}")
        if result.entry.get("note"):
            echo(f"  note:       {result.entry['note']}")
        echo(f"  replay:     {reproduce.for_expectation(result, strategy)}")
    skipped = len(cases) - checked
    tail = f", {skipped} scenario(s) without an expect block" if skipped else ""
    echo(f"\n{checked} expectation(s) checked: {checked - len(failed)} hold, {len(failed)} contradicted{tail}")
    if as_json:
        click.echo(json.dumps(_check_json(results, checked, len(failed), skipped, gating, strategy), indent=2))
    if failed:
        sys.exit(1)


def _check_json(
    results: list[tuple[ExpectResult, Scenario]],
    checked: int,
    contradicted: int,
    skipped: int,
    gating: tuple[tuple[str, str | None], ...] | None,
    strategy: str,
) -> dict:
    entries = []
    for result, sc in results:
        data = result.summary.to_json(gating or DEFAULT_FAIL_ON, command="check")
        data.update(
            {
                "scenario_ref": result.scenario_ref or sc.name,
                "expect": result.entry,
                "holds": result.ok,
                "failures": result.failures,
                "not_gating": result.ignored,
                "replay": None if result.ok else reproduce.for_expectation(result, strategy),
            }
        )
        entries.append(data)
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "check",
        "fail_on": describe_fail_on(gating) if gating is not None else "every claim",
        "holds": contradicted == 0,
        "checked": checked,
        "contradicted": contradicted,
        "skipped": skipped,
        "results": entries,
    }


commands = [check]
