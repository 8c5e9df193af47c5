"""`racesim explore`, `replay`, `shrink`: systematic exploration of schedules."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from racesim.engine.exploration import (
    CRASH_KINDS,
    checked_findings,
    dfs_claim,
    estimate_length,
    explore_dfs,
    failing_check,
    scenario_ref,
    schedule_of,
    shrink_run,
    with_crash_kind,
)
from racesim.engine.parallel import run_sweeps
from racesim.engine.runner import RunResult, Summary, config_for, run_one
from racesim.models.guards import Guards
from racesim.options import (
    FAULT_HELP,
    GUARD_HELP,
    VERSION_HELP,
    InputError,
    _check_cluster,
    _check_runs,
    _deployment,
    _fail_on,
    _faults,
    _scenario,
    _stdout,
    _version_or_guards,
    check_outputs,
    cluster_option,
    fail_on_option,
    invocation,
    progress_bar,
    seed_option,
    write_output,
    wrote,
)
from racesim.reports import reproduce, terminal
from racesim.scenarios.loader import Scenario
from racesim.sim import output, schedule_file
from racesim.sim.choices import ReplayMismatch
from racesim.sim.config import Faults, RunConfig
from racesim.sim.findings import describe_fail_on, fails
from racesim.sim.schedulers.dfs import SearchResult, SearchTooLarge
from racesim.sim.shrink import ShrinkResult, deviations, finding_of, item_counts, with_item_counts

if TYPE_CHECKING:
    from racesim.engine import coverage_search

MAX_SCHEDULES = 10_000_000


def config_of(schedule: schedule_file.ScheduleFile) -> tuple[Scenario, RunConfig]:
    sc = _scenario(schedule.scenario)
    try:
        guards = Guards.parse(schedule.guards)
        faults = Faults.parse(schedule.faults)
    except ValueError as exc:
        raise InputError(f"schedule file: {exc}") from None
    config = config_for(sc, guards, schedule.deployment, faults)
    unknown = sorted(set(schedule.items) - set(config.graph.nodes))
    if unknown:
        raise InputError(f"schedule file: item count for {unknown[0]!r}, which is not a task of {sc.name}")
    return sc, with_item_counts(config, schedule.items) if schedule.items else config


def _load(path: str) -> schedule_file.ScheduleFile:
    try:
        return schedule_file.load(path)
    except schedule_file.ScheduleError as exc:
        raise InputError(str(exc)) from None


# ---- commands ------------------------------------------------------------------------------------
@click.command()
@click.argument("scenario")
@click.option(
    "--strategy",
    type=click.Choice(["random", "pct", "dfs", "coverage"]),
    default="pct",
    show_default=True,
    help="coverage: keep a corpus of choice sequences, mutate them, keep those reaching new reads-from pairs or guard outcomes.",
)
@click.option("--depth", "-d", type=int, default=3, show_default=True, help="PCT: bug depth d (d-1 priority change points).")
@click.option("--preemption-bound", "-k", type=int, default=2, show_default=True, help="DFS: most preemptions per schedule.")
@click.option("--max-schedules", type=int, default=10_000, show_default=True, help="DFS: stop after this many schedules.")
@click.option("--no-por", is_flag=True, help="DFS: switch partial-order reduction (sleep sets) off.")
@click.option(
    "--crashes", type=int, default=0, show_default=True, help="DFS: also enumerate up to N crashes (at any yield point)."
)
@click.option(
    "--crash-kind",
    type=click.Choice(CRASH_KINDS),
    default=None,
    help="DFS with --crashes: count a run as failing only when it crashed, and only with this kind of crash "
    "(all kinds are still enumerated); e.g. executor to find an executor crash's consequence.",
)
@click.option("--guards", "-g", default="both", show_default=True, help=GUARD_HELP)
@click.option("--version", "version", default=None, help=VERSION_HELP)
@click.option(
    "--task",
    "target",
    default=None,
    help="Count only duplicates (dispatch or re-run) of this task as failing; short for --fail-on "
    "duplicate_dispatch:TASK,item_rerun:TASK.",
)
@fail_on_option
@click.option(
    "--stop-at-first",
    is_flag=True,
    help="random/pct: stop at the first run failing under --fail-on and report the runs (and, on stderr, "
    "the wall-clock seconds) it took; runs one seed after another (--jobs is ignored).",
)
@click.option("--replicas", type=int, help="Executor processes competing for the same queues.")
@click.option("--listeners", type=int, help="Concurrent completion handlers per executor (attune: 1).")
@click.option("--prefetch", type=int, help="Prefetch per consumer (attune: 10).")
@click.option("--workers", type=int, help="Worker processes.")
@click.option("--worker-slots", type=int, help="Concurrency permits per worker (attune: 10); fewer keeps a DFS small.")
@click.option("--faults", default=None, help=f"Faults, '+'-joined, each NAME[=P]. {FAULT_HELP}.")
@click.option("--runs", "-n", type=int, default=None, help="random/pct: runs (seeds S..S+N-1); default: the scenario's.")
@seed_option()
@click.option("--save-failing", "save_dir", default=None, help="Write the first failing schedule (and its shrunk form) here.")
@click.option("--shrink", "do_shrink", is_flag=True, help="Shrink the first failing schedule to a minimal one.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (run --json fields plus exploration fields).")
@click.option("--html", "html_path", default=None, help="Write a self-contained HTML report (shows the shrunk run).")
@click.option(
    "--jobs", "-j", type=int, default=1, show_default=True, help="random/pct: worker processes (results identical to 1)."
)
@cluster_option
def explore(
    scenario,
    version,
    strategy,
    depth,
    preemption_bound,
    max_schedules,
    no_por,
    crashes,
    crash_kind,
    guards,
    target,
    fail_on,
    stop_at_first,
    replicas,
    listeners,
    prefetch,
    workers,
    worker_slots,
    faults,
    runs,
    seed,
    save_dir,
    do_shrink,
    as_json,
    html_path,
    jobs,
    cluster,
) -> None:
    """Explore SCENARIO's schedules with random timing, PCT or bounded exhaustive DFS.

    random and pct run N seeded runs; dfs enumerates every schedule with at most k
    preemptions and at most --crashes N crashes (sleep sets, kept sound under the bound,
    skip equivalent ones) and either shows a counterexample or, when the search is complete
    and nothing in it was sampled (no fault coin, no random outcome), says the checked
    findings cannot happen within those bounds.
    """
    if not 1 <= jobs <= 64:
        raise InputError(f"--jobs: must be between 1 and 64, got {jobs}")
    _check_cluster(cluster, jobs)
    sc = _scenario(scenario)
    g = _version_or_guards(version, guards)
    dep = _deployment(sc.deployment, replicas=replicas, listeners=listeners, prefetch=prefetch, workers=workers)
    dep = _deployment(dep, worker_slots=worker_slots)
    config = config_for(sc, g, dep, _faults(faults, sc.faults))
    out = _stdout()
    if target is not None and target not in config.graph.nodes:
        raise InputError(f"--task: {target!r} is not a task of {sc.name} (tasks: {', '.join(config.graph.nodes)})")
    if target is not None and fail_on is not None:
        raise InputError("--task and --fail-on: give one (--task T is --fail-on duplicate_dispatch:T,item_rerun:T)")
    chosen = _fail_on(fail_on, sc) if target is None else (("duplicate_dispatch", target), ("item_rerun", target))
    if crash_kind is not None and strategy != "dfs":
        raise InputError("--crash-kind: for --strategy dfs with --crashes N")
    if stop_at_first and strategy == "dfs":
        raise InputError("--stop-at-first: for random and pct (dfs always stops at its first counterexample)")
    targets = check_outputs({"--html": html_path}, {"--save-failing": save_dir})
    fails = failing_check(None, chosen)
    to_first: tuple[int, float] | None = None  # (runs, wall seconds) to the first failing run
    params: dict = {}
    search_result: SearchResult | None = None
    claim_line: str = ""
    claim: dict[str, object] = {}
    first_failing: RunResult | None = None
    failing_seed = seed
    failing_words: str | None = None  # how the first failing run is reproduced, when not by its seed
    stem_tag = ""  # names a saved schedule when no seed names it
    if strategy == "dfs":
        if cluster is not None:
            raise InputError("--cluster: random and pct sweeps only (a dfs search runs in this process)")
        if preemption_bound < 0:
            raise InputError(f"--preemption-bound: must be at least 0, got {preemption_bound}")
        if not 1 <= max_schedules <= MAX_SCHEDULES:
            raise InputError(f"--max-schedules: must be between 1 and {MAX_SCHEDULES}, got {max_schedules}")
        if not 0 <= crashes <= 8:
            raise InputError(f"--crashes: must be between 0 and 8, got {crashes}")
        params = {"preemption_bound": preemption_bound, "max_schedules": max_schedules, "por": not no_por, "crashes": crashes}
        checked, fails = checked_findings(target, chosen if fail_on is not None else None)
        if crash_kind is not None:
            if crashes < 1:
                raise InputError("--crash-kind: needs --crashes N (N >= 1)")
            checked, fails = with_crash_kind(checked, fails, crash_kind)
        summary = Summary(sc.name, g.name, 0, seed, dep, config.faults, strategy)
        with progress_bar(max_schedules, f"{sc.name} [{g.name}] dfs k={preemption_bound}") as advance:

            def on_schedule(result: RunResult) -> None:
                summary.add(result)
                advance(1)

            try:
                search_result = explore_dfs(
                    config, seed, preemption_bound, max_schedules, not no_por, on_schedule, fails, crashes=crashes
                )
            except (SearchTooLarge, MemoryError) as exc:
                why = str(exc) or "out of memory"
                raise InputError(
                    f"dfs: {sc.name} is too large for an exhaustive search at -k {preemption_bound}: {why}; "
                    "use --strategy random or pct, or fewer items, workers or slots"
                ) from None
        claim_line, claim = dfs_claim(search_result, checked, preemption_bound, crashes, not no_por, seed, max_schedules)
        summary.runs = search_result.schedules
        first_failing = search_result.failing
        explored, complete = search_result.schedules, search_result.complete
    elif strategy == "coverage":
        if cluster is not None or jobs != 1:
            raise InputError("--strategy coverage: runs in this process (each run depends on the corpus so far)")
        runs = sc.runs if runs is None else runs
        _check_runs(runs)
        from racesim.engine import coverage_search

        _, fails = checked_findings(target)
        summary = Summary(sc.name, g.name, 0, seed, dep, config.faults, strategy)
        with progress_bar(runs, f"{sc.name} [{g.name}] coverage") as advance:

            def on_run(result: RunResult, fresh: bool) -> None:
                summary.add(result, seeded=fresh)
                advance(1)

            found_by = coverage_search.search(config, seed, runs, fails, stop_at_first=False, on_run=on_run)
        summary.runs = found_by.runs
        first_failing = found_by.failing
        params = {"corpus": found_by.corpus, "first_failing_run": found_by.failing_at}
        params["first_failing_reproduced_by"] = None
        if first_failing is not None:
            failing_seed = first_failing.seed
            failing_words = _coverage_failing_words(found_by)
            params["first_failing_reproduced_by"] = "seed" if found_by.failing_fresh else "schedule"
            if not found_by.failing_fresh:
                stem_tag = f"run{found_by.failing_at}"
        explored, complete = found_by.runs, False
    else:
        runs = sc.runs if runs is None else runs
        _check_runs(runs)
        if strategy == "pct":
            if not 1 <= depth <= 64:
                raise InputError(f"--depth: must be between 1 and 64, got {depth}")
            params = {"depth": depth, "length": estimate_length(config)}
        if stop_at_first:
            summary, to_first = _until_first(config, seed, runs, strategy, params, fails)
        else:
            with progress_bar(runs, f"{sc.name} [{g.name}] {strategy}") as advance:
                [summary] = run_sweeps([config], seed, runs, jobs, advance, strategy, params, cluster)
        first_seed = summary.first_failing(chosen)
        if first_seed is not None:
            first_failing = run_one(config, first_seed, strategy, params, record=True)
            failing_seed = first_seed
        explored, complete = summary.runs, False
    if search_result is not None and first_failing is not None:
        failing_seed = seed

    shrunk: ShrinkResult | None = None
    if first_failing is not None and do_shrink:
        assert first_failing.output.choices is not None, "the failing run is re-run recorded"
        shrunk = shrink_run(config, first_failing.output.choices, finding_of(first_failing.verdict, chosen))
    saved: list[str] = []
    if first_failing is not None and save_dir:
        ref = scenario_ref(scenario, sc)
        directory = targets["--save-failing"]
        assert isinstance(directory, Path)
        try:
            output.ensure_directory(directory)
        except output.OutputError as exc:
            raise InputError(str(exc)) from None
        tag = stem_tag or f"seed{failing_seed}"
        stem = f"{sc.name}-{g.name}-{strategy}-{tag}".replace("+", "_").replace("/", "_")
        path = directory / f"{stem}.json"
        found = schedule_of(ref, config, strategy, params, failing_seed, first_failing, chosen)
        wrote(write_output(path, schedule_file.save, found), "failing schedule")
        saved.append(str(path))
        if shrunk is not None:
            sp = directory / f"{stem}-shrunk.json"
            s_cfg = shrunk.shrunk.config
            small = schedule_of(ref, s_cfg, "shrunk", params, failing_seed, shrunk.shrunk.result, chosen)
            wrote(write_output(sp, schedule_file.save, small), "shrunk schedule")
            saved.append(str(sp))
    elif save_dir:
        click.echo(f"racesim: --save-failing {save_dir}: no run failed, nothing saved", err=True)

    shown = shrunk.shrunk.result if shrunk is not None else first_failing
    if as_json:
        data = summary.to_json(chosen, command="explore")
        data.update({"schedules_explored": explored, "complete": complete, "params": params})
        if stop_at_first:
            data["runs_to_first_failure"] = to_first[0] if to_first else None
        if search_result is not None:
            data["claim"] = claim
            data["por"] = {
                "sleep_blocked_runs": search_result.sleep_blocked,
                "sleep_skipped_branches": search_result.sleep_skipped,
                "bound_skipped_branches": search_result.bound_skipped,
            }
        if shrunk is not None:
            data["shrunk"] = _shrink_json(shrunk)
        if saved:
            data["saved"] = saved
        click.echo(json.dumps(data, indent=2))
    else:
        out.print(terminal.summary_table([summary], f"{sc.name}: {strategy} {_describe(params)} ({dep.label()})", chosen))
        terminal.print_headlines(out, summary, chosen)
        if search_result is not None:
            out.print(claim_line)
        else:
            out.print(_verdict_line(strategy, first_failing, explored, failing_words))
        if stop_at_first:
            if to_first is None:
                out.print(f"stop-at-first: no run failing under {describe_fail_on(chosen)} in {summary.runs} runs")
            else:
                out.print(f"stop-at-first: first failing run after {to_first[0]} runs (seed {failing_seed})")
                # wall clock: display only, on stderr, never in stdout or --json
                click.echo(f"stop-at-first: {to_first[1]:.3f} s wall clock to the first failing run", err=True)
        if shrunk is not None:
            out.print(_shrink_line(shrunk))
        out.print(f"digest {summary.digest}")
    if html_path:
        from racesim.reports import html

        ref = scenario_ref(scenario, sc)
        from_file = (saved[-1] if shrunk is not None else saved[0]) if saved else None
        again = (
            reproduce.for_run(shown, ref, strategy=strategy, schedule_path=from_file, as_declared=shrunk is None)
            if shown is not None
            else None
        )
        report = dict(
            title=f"{sc.name}: {strategy}",
            command=invocation(),
            summaries=[summary],
            failing=shown,
            contrast=None,
            reproduce_with={"the failing run": again},
            fail_on=chosen,
        )
        wrote(write_output(targets["--html"], html.write_report, **report), "HTML report")


def _until_first(
    config: RunConfig, seed: int, runs: int, strategy: str, params: dict, fails
) -> tuple[Summary, tuple[int, float] | None]:
    """Seeds ``seed, seed+1, ...`` one after another until the first failing run (included)."""
    summary = Summary(config.scenario, config.guards.name, 0, seed, config.deployment, config.faults, strategy)
    started = time.monotonic()
    for s in range(seed, seed + runs):
        result = run_one(config, s, strategy, params)
        summary.add(result)
        summary.runs += 1
        if fails(result):
            return summary, (summary.runs, time.monotonic() - started)
    return summary, None


def _describe(params: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())


def _verdict_line(strategy: str, failing: RunResult | None, explored: int, words: str | None = None) -> str:
    found = (words or "first failing run kept") if failing is not None else "no failing run"
    return f"{strategy}: {explored} runs, {found}"


def _coverage_failing_words(found: coverage_search.CoverageSearch) -> str:
    """Where a coverage search's first failing run came from, and what reproduces it."""
    assert found.failing is not None
    where = f"first failing: run {found.failing_at} of the campaign"
    if found.failing_fresh:
        return f"{where}, a random-timing run of seed {found.failing.seed} (that seed reproduces it)"
    return (
        f"{where}, a mutated schedule that no seed reproduces (--save-failing DIR writes its choice sequence for racesim replay)"
    )


def _shrink_json(s: ShrinkResult) -> dict:
    return {
        "deviations": [deviations(s.original.choices), deviations(s.shrunk.choices)],
        "actors": [len({r[1] for r in s.original.result.output.records}), len({r[1] for r in s.shrunk.result.output.records})],
        "choices": [len(s.original.choices), len(s.shrunk.choices)],
        "deployment": s.shrunk.config.deployment.label(),
        "items": [item_counts(s.original.config), item_counts(s.shrunk.config)],
        "worker_slots": s.shrunk.config.deployment.worker_slots,
        "runs": s.runs,
        "digest": s.shrunk.result.digest,
    }


def _shrink_line(s: ShrinkResult, budget: int | None = None) -> str:
    j = _shrink_json(s)
    runs = f"{j['runs']} run{'s' if j['runs'] != 1 else ''}"
    if budget is not None and j["runs"] >= budget:
        runs += f" (the whole --max-runs budget of {budget})"
    return (
        f"shrunk in {runs}: deviations {j['deviations'][0]} -> {j['deviations'][1]}, actors {j['actors'][0]} -> "
        f"{j['actors'][1]}, choices {j['choices'][0]} -> {j['choices'][1]}, items {j['items'][0]} -> {j['items'][1]} "
        f"({j['deployment']} slots={j['worker_slots']})"
    )


# A schedule replays only on the model that recorded it; another racesim version may differ.
_ELSEWHERE = " (saved by another racesim version, or edited?)"


def replay_file(path: str) -> tuple[schedule_file.ScheduleFile, RunResult]:
    """Load and strictly replay a schedule file; InputError when it no longer fits."""
    schedule = _load(path)
    _, config = config_of(schedule)
    try:
        result = run_one(config, schedule.seed, choices=schedule.choices, strict=True)
    except ReplayMismatch as exc:
        raise InputError(f"{path}: the choices no longer fit the model{_ELSEWHERE}: {exc}") from None
    if len(result.output.choices or ()) != len(schedule.choices):
        raise InputError(
            f"{path}: the choices no longer fit the model{_ELSEWHERE}: the run ended after "
            f"{len(result.output.choices or ())} of {len(schedule.choices)} recorded choices"
        )
    return schedule, result


@click.command()
@click.argument("file")
@click.option("--html", "html_path", default=None, help="Write a self-contained HTML report of the replayed run.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict and digest as JSON instead of the trace.")
def replay(file, html_path, as_json) -> None:
    """Replay a schedule FILE: print its trace, check the digest and the finding."""
    targets = check_outputs({"--html": html_path})
    schedule, result = replay_file(file)
    finding = finding_of(result.verdict)
    same = result.digest == schedule.digest
    if as_json:
        _, config = config_of(schedule)
        single = Summary(config.scenario, config.guards.name, 0, schedule.seed, config.deployment, config.faults, "replay")
        single.add(result)
        single.runs = 1
        data = single.to_json(command="replay")
        data.update(
            {
                "file": file,
                "scenario_ref": schedule.scenario,
                "digest": result.digest,  # the run's own digest, as recorded in the file
                "digest_matches": same,
                "finding": finding,
                # a file written before the registry records no "findings": compare what it has
                "finding_matches": all(finding.get(k) == v for k, v in schedule.finding.items()),
            }
        )
        click.echo(json.dumps(data, indent=2))
    else:
        terminal.print_trace(_stdout(), result)
    if html_path:
        from racesim.reports import html

        report = dict(
            title=f"replay {Path(file).name}",
            command=invocation(),
            summaries=[],
            failing=result,
            contrast=None,
            reproduce_with={"the failing run": reproduce.replay(file)},
        )
        wrote(write_output(targets["--html"], html.write_report, **report), "HTML report")
    # A different digest means the model changed under the file (bad input, exit 2); the same
    # run judged differently means the checkers changed: the recorded finding no longer holds,
    # which is a contradicted expectation (exit 1), said in text and JSON mode alike.
    if not same:
        also = "; the finding differs too" if finding != schedule.finding else ""
        raise InputError(
            f"{file}: replayed, but the digest {result.digest[:12]} differs from the recorded {schedule.digest[:12]}{also}"
        )
    if finding != schedule.finding:
        click.echo(
            f"racesim: {file}: replayed to the recorded digest, but the finding differs: recorded "
            f"{json.dumps(schedule.finding, sort_keys=True)}, now {json.dumps(finding, sort_keys=True)}",
            err=True,
        )
        sys.exit(1)


@click.command("shrink")
@click.argument("file")
@click.option("-o", "--output", default=None, help="Where to write the shrunk schedule (default: FILE-shrunk.json).")
@click.option("--max-runs", type=int, default=5000, show_default=True, help="Most candidate runs to try.")
@fail_on_option
def shrink_cmd(file, output, max_runs, fail_on) -> None:
    """Shrink a failing schedule FILE to a minimal one with the same finding (the part of
    the run that fails under --fail-on)."""
    if not 1 <= max_runs <= MAX_SCHEDULES:
        raise InputError(f"--max-runs: must be between 1 and {MAX_SCHEDULES}, got {max_runs}")
    if not Path(file).name:  # '' or '.': no file, and no name to derive the output's from
        raise InputError(f"{file!r}: not a schedule file")
    target = Path(output) if output else Path(file).with_name(Path(file).stem + "-shrunk.json")
    checked = check_outputs({"--output": str(target)})["--output"]
    schedule, result = replay_file(file)
    sc, config = config_of(schedule)
    chosen = _fail_on(fail_on, sc)
    if not fails(result.verdict.results, chosen):
        raise InputError(f"{file}: the schedule does not fail under --fail-on {describe_fail_on(chosen)}; nothing to shrink")
    try:
        s = shrink_run(config, schedule.choices, finding_of(result.verdict, chosen), max_runs)
    except ValueError as exc:
        raise InputError(f"{file}: {exc}") from None
    shrunk = schedule_of(schedule.scenario, s.shrunk.config, "shrunk", schedule.params, schedule.seed, s.shrunk.result, chosen)
    _stdout().print(_shrink_line(s, max_runs))
    wrote(write_output(checked, schedule_file.save, shrunk), "shrunk schedule")


commands = [explore, replay, shrink_cmd]
