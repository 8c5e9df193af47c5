"""Systematic exploration as a library: DFS search, shrinking, schedule files of runs.

Used by `racesim explore/replay/shrink`, `racesim run --save-failing`, the tests and
benchmarks/explore_bench.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from racesim.engine.runner import DEFAULT_FAIL_ON, FailOn, RunResult, execute, run_one
from racesim.scenarios.loader import Scenario
from racesim.sim import schedule_file
from racesim.sim.choices import ChoiceSource
from racesim.sim.config import RunConfig
from racesim.sim.faults import CRASH_EXECUTOR, CRASH_WORKER, CRASH_WORKER_PROCESS
from racesim.sim.findings import NAMES, UNKNOWN, describe_fail_on, fails
from racesim.sim.schedulers.base import Strategy
from racesim.sim.schedulers.dfs import DFS, SearchResult, search
from racesim.sim.schedulers.replay import Replay
from racesim.sim.shrink import ShrinkResult, deviations, finding_of, item_counts, same_finding, shrink, with_item_counts
from racesim.sim.trace import events


def run_scheduled(config: RunConfig, seed: int, scheduler: Strategy, source: ChoiceSource | None = None) -> RunResult:
    """One recorded run under a given strategy object (run_one builds its own from a name)."""
    if source is None:
        source = ChoiceSource(seed, config.timing, timed=scheduler.timed, record=True)
    return execute(config, scheduler, source)


def estimate_length(config: RunConfig) -> int:
    """PCT's k: the step count of the default schedule (no preemption)."""
    return run_scheduled(config, 0, DFS(preemption_bound=0)).output.steps


class CountingSource(ChoiceSource):
    """A choice source that counts the coin flips it samples from the seed (a coin of
    probability strictly between 0 and 1): what a DFS run did not enumerate."""

    __slots__ = ("sampled",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sampled = 0

    def chance(self, probability: float) -> bool:
        if 0.0 < probability < 1.0:
            self.sampled += 1
        return super().chance(probability)

    def crash(self, n: int, probability: float, propose: Callable[[], int] | None = None) -> int:
        if propose is None and probability > 0.0:  # a sampled crash point, not the strategy's choice
            self.sampled += 1
        return super().crash(n, probability, propose)


def explore_dfs(
    config: RunConfig,
    seed: int,
    preemption_bound: int | None,
    max_schedules: int,
    por: bool = True,
    on_schedule: Callable[[RunResult], None] | None = None,
    is_failing: Callable[[RunResult], bool] | None = None,
    stop_at_first: bool = True,
    crashes: int = 0,
) -> SearchResult:
    """Preemption-bounded DFS over ``config``'s schedules. Coins (faults, random outcomes)
    are not enumerated: each run draws them from ``seed``, and ``sampled_coins`` in the
    result counts them, so a caller never claims that a sampled search proved anything."""
    sampled: dict[int, int] = {}

    def run(sched: DFS) -> RunResult:
        source = CountingSource(seed, config.timing, timed=sched.timed, record=True)
        result = execute(config, sched, source)
        sampled[id(result)] = source.sampled
        return result

    return search(
        run,
        preemption_bound,
        max_schedules,
        por=por,
        is_failing=is_failing or failing_check(None),
        on_schedule=on_schedule,
        stop_at_first=stop_at_first,
        coins_of=lambda r: sampled.pop(id(r), 0),
        crashes=crashes,
        undecided=lambda r: any(f.verdict == UNKNOWN for f in r.verdict.results.values()),
    )


ALL_FINDINGS = "any finding (" + ", ".join(NAMES) + ")"


def checked_findings(task: str | None, fail_on: FailOn | None = None) -> tuple[str, Callable[[RunResult], bool]]:
    """What a dfs search checks, in words, and the test: the findings ``fail_on`` names;
    else every finding of the registry, or only duplicates (dispatch or re-run) of ``task``."""
    if fail_on is not None:
        return f"the findings {describe_fail_on(fail_on)}", failing_check(None, fail_on)
    if task is None:
        return ALL_FINDINGS, lambda r: bool(r.verdict.findings())
    return f"duplicate dispatches or re-runs of {task}", failing_check(task)


# --crash-kind names -> the crash kinds the kernel records (sim/faults.py)
CRASH_KINDS = {"worker": CRASH_WORKER, "worker-process": CRASH_WORKER_PROCESS, "executor": CRASH_EXECUTOR}


def with_crash_kind(checked: str, fails: Callable[[RunResult], bool], kind: str) -> tuple[str, Callable[[RunResult], bool]]:
    """Narrow a dfs check to runs that crashed, each crash of ``kind`` (explore --crash-kind):
    the search still enumerates every kind, only what counts as a counterexample changes."""
    wanted = CRASH_KINDS[kind]

    def crashed_so(r: RunResult) -> bool:
        kinds = [k.removeprefix("crash:") for k, _ in r.output.faults_fired if k.startswith("crash:")]
        return bool(kinds) and all(k == wanted for k in kinds) and fails(r)

    return f"{checked} in runs whose crashes are all {wanted}", crashed_so


def crashes_in(result: RunResult) -> list[str]:
    """The crashes of a recorded run, as "actor at STEP": where in its schedule each struck."""
    return [f"{e.actor} at {e.step or '?'}" for e in events(result.output.records) if e.op == "Crash"]


def dfs_claim(
    result: SearchResult, checked: str, bound: int | None, crashes: int, por: bool, seed: int, max_schedules: int
) -> tuple[str, dict]:
    """Exactly what a dfs search showed: the line for the terminal and its JSON form. A
    "holds" claim needs a complete search in which nothing was sampled and every schedule
    was decided (none cut short by the step limit)."""
    k = "any number of" if bound is None else f"at most {bound}"
    space = (
        f"schedules with {k} preemptions and at most {crashes} crash{'es' if crashes != 1 else ''}, "
        f"{'POR: sleep sets, sound under the bound' if por else 'no POR'}"
    )
    holds: bool | None = None
    if result.failing is not None:
        found = ", ".join(result.failing.verdict.findings()) or "failing"
        line = f"dfs: counterexample at schedule {result.failing_index} ({found}); checked {checked} over {space}"
        crashed = crashes_in(result.failing)
        if crashed:
            line += f"; crashes in its schedule: {', '.join(crashed)}"
        # How complete the evidence is: the schedule was enumerated, or it drew coins from the seed.
        if result.sampled_coins:
            line += f"; {result.sampled_coins} fault or outcome coins were drawn from seed {seed}, not enumerated"
        else:
            line += "; every choice in it enumerated (no coin sampled): it replays as it is"
        line += f"; the search stopped at it after {result.schedules} schedules (not run to completion)"
        holds = False
    elif not result.complete:
        line = (
            f"dfs: no claim: cut short at --max-schedules {max_schedules} after {result.schedules} schedules; "
            f"none showed {checked} ({space})"
        )
    elif result.sampled_coins:
        line = (
            f"dfs: no claim: {result.sampled_coins} fault or outcome coins were drawn from seed {seed}, not enumerated "
            f"(crashes are enumerated with --crashes N); none of the {result.schedules} schedules showed {checked} ({space})"
        )
    elif result.unknown:
        line = (
            f"dfs: no claim: {result.unknown} schedules ended unknown (step limit); "
            f"none of the {result.schedules} schedules showed {checked} ({space})"
        )
    else:
        line = f"dfs: holds: no {checked} in any of the {result.schedules} {space}; the search is complete"
        holds = True
    claim = {
        "holds": holds,
        "checked": checked,
        "preemption_bound": bound,
        "crash_budget": crashes,
        "por": por,
        "complete": result.complete,
        "sampled_coins": result.sampled_coins,
        "unknown_schedules": result.unknown,
        "schedules": result.schedules,
        "max_depth": result.max_depth,
    }
    return line, claim


def failing_check(task: str | None, fail_on: FailOn | None = None) -> Callable[[RunResult], bool]:
    """What counts as failing: a run failing under ``fail_on`` (default: every safety
    finding); with ``task`` (explore --task), a duplicate dispatch or re-run of that task."""
    if fail_on is None:
        fail_on = DEFAULT_FAIL_ON if task is None else (("duplicate_dispatch", task), ("item_rerun", task))
    chosen = fail_on
    return lambda r: fails(r.verdict.results, chosen)


ITEM_SEARCH_SEEDS = 200


def shrink_run(config: RunConfig, choices: list[list], finding: dict, max_runs: int = 5000) -> ShrinkResult:
    """Shrink the schedule, then look for the same finding with fewer with_items items.

    A recorded schedule does not carry over to fewer items (the enabled sets change), so for
    each smaller count, smallest first, seeded random-timing runs look for a new failing run,
    which is shrunk in turn; the first that needs no more preemptions than the best so far wins.
    """

    def replay(cfg: RunConfig, src: ChoiceSource) -> RunResult:
        return run_scheduled(cfg, 0, Replay(), src)

    result = shrink(config, choices, finding, replay, max_runs)
    best, runs = result.shrunk, result.runs
    for name, count in item_counts(best.config).items():
        for fewer in range(1, count):
            cfg = with_item_counts(best.config, {name: fewer})
            hit = None
            for seed in range(1, ITEM_SEARCH_SEEDS + 1):
                if runs >= max_runs:  # max_runs is a budget, not a hint
                    return ShrinkResult(result.original, best, runs)
                runs += 1
                candidate = run_one(cfg, seed, record=True)
                if same_finding(finding, candidate.verdict):
                    hit = candidate
                    break
            if hit is None:
                continue
            if runs >= max_runs:
                return ShrinkResult(result.original, best, runs)
            assert hit.output.choices is not None, "shrinking replays recorded runs"
            smaller = shrink(cfg, hit.output.choices, finding, replay, max_runs - runs)
            runs += smaller.runs
            if deviations(smaller.shrunk.choices) <= deviations(best.choices) and len(smaller.shrunk.choices) <= len(choices):
                best = smaller.shrunk
                break
    return ShrinkResult(result.original, best, runs)


def schedule_of(
    scenario_ref: str,
    config: RunConfig,
    strategy: str,
    params: dict,
    seed: int,
    result: RunResult,
    fail_on: FailOn = DEFAULT_FAIL_ON,
) -> schedule_file.ScheduleFile:
    """A schedule file for ``result``, with the run's with_items counts (shrinking may cut them)."""
    assert result.output.choices is not None, "a schedule is saved from a recorded run"
    return schedule_file.ScheduleFile(
        scenario=scenario_ref,
        guards=config.guards.name,
        deployment=config.deployment,
        faults=config.faults.label(),
        strategy=strategy,
        params=params,
        seed=seed,
        choices=result.output.choices,
        finding=finding_of(result.verdict, fail_on),
        digest=result.digest,
        items=item_counts(config),
    )


def scenario_ref(name: str, sc: Scenario) -> str:
    """A catalog name stays a name; a path becomes absolute so the file works from anywhere."""
    path = Path(name)
    return str(path.resolve()) if path.suffix in (".yaml", ".yml") and path.exists() else name
