"""Scenario -> world -> schedule -> trace -> verdict, for one seed or a sweep of seeds."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace

from racesim.models.guards import Guards
from racesim.scenarios.loader import Scenario
from racesim.sim.checkers import Verdict, check, merge
from racesim.sim.choices import ChoiceSource
from racesim.sim.config import Deployment, Faults, RunConfig
from racesim.sim.coverage import SweepCoverage, traced
from racesim.sim.coverage import of_output as coverage_of
from racesim.sim.findings import BY_NAME, FALSE, NAMES, TRUE, UNKNOWN, Found, describe_fail_on, parse_fail_on
from racesim.sim.schedulers import STRATEGIES
from racesim.sim.schedulers.base import Strategy
from racesim.sim.trace import SWEEP_DIGEST_START, run_digest, sweep_step
from racesim.sim.world import RunOutput, World


def config_for(
    scenario: Scenario,
    guards: Guards,
    deployment: Deployment | None = None,
    faults: Faults | None = None,
) -> RunConfig:
    return RunConfig(
        scenario=scenario.name,
        graph=scenario.graph,
        timing=scenario.timing,
        guards=guards,
        deployment=deployment or scenario.deployment,
        faults=scenario.faults if faults is None else faults,
        outcomes=scenario.outcomes,
        workflow_ref=scenario.workflow_ref,
        load=scenario.load,
        recovery=scenario.recovery,
        max_steps=scenario.max_steps,
    )


SCHEMA_VERSION = 1  # of every command's --json (schema/racesim-result.schema.json)
FailOn = tuple[tuple[str, str | None], ...]
DEFAULT_FAIL_ON: FailOn = parse_fail_on(None)


@dataclass(slots=True)
class RunResult:
    seed: int
    output: RunOutput
    verdict: Verdict
    digest: str


def make_scheduler(strategy: str, params: dict | None = None) -> Strategy:
    try:
        cls = STRATEGIES[strategy]
    except KeyError:
        raise ValueError(f"unknown strategy {strategy!r} (choose from: {', '.join(STRATEGIES)})") from None
    return cls(**(params or {}))


def run_one(
    config: RunConfig,
    seed: int,
    strategy: str = "random",
    params: dict | None = None,
    record: bool = False,
    choices: list | None = None,
    strict: bool = True,
    trace: bool = False,
) -> RunResult:
    """One run. ``choices`` replays a recorded sequence (strategy is then ``replay``).
    ``record`` keeps the choice sequence and the trace; ``trace`` the trace alone."""
    if choices is not None:
        return execute(config, make_scheduler("replay"), ChoiceSource(seed, config.timing, prefix=choices, strict=strict))
    sched = make_scheduler(strategy, params)
    return execute(config, sched, ChoiceSource(seed, config.timing, timed=sched.timed, record=record), trace)


def sweep_run(config: RunConfig, seed: int, strategy: str = "random", params: dict | None = None) -> RunResult:
    """One seed of a counting sweep (``sweep``, ``--jobs``, ``--cluster``): lean, except that
    every ``TRACE_EVERY``-th seed keeps its trace for the sweep's reads-from coverage."""
    return run_one(config, seed, strategy, params, trace=traced(seed))


def execute(config: RunConfig, strategy: Strategy, source: ChoiceSource, trace: bool = False) -> RunResult:
    """The one driver: one run of ``config`` under ``strategy``, every choice from ``source``.
    Sweeps, replay, search and shrinking all come through here."""
    output = World(config, strategy, source, trace).run()
    verdict = verdict_of(output)
    return RunResult(source.seed, output, verdict, digest_of(output, verdict))


def digest_of(output: RunOutput, verdict: Verdict) -> str:
    """The run's digest (``sim.trace.run_digest``): its schedule, clock and verdict."""
    key = (
        verdict.duplicate_dispatches,
        tuple(sorted((t, s.duplicate_dispatches, s.max_dispatches) for t, s in verdict.by_task.items())),
        verdict.missed_dispatches,
        verdict.stuck_workflows,
        verdict.lost_updates,
        verdict.wrong_outcomes,
        verdict.workflow_status,
    )
    return run_digest(output.schedule, output.end_time, output.livelock, key)


def run_with(config: RunConfig, seed: int, scheduler: Strategy, source: ChoiceSource) -> RunResult:
    """``execute`` under the name older callers use (``seed`` is the source's)."""
    return execute(config, scheduler, source)


def verdict_of(output: RunOutput) -> Verdict:
    """Each workflow execution checked on its own (load: many share one deployment)."""
    db = output.db
    verdicts = {
        w: check(
            output.config.graph,
            db.workflows[w],
            db.workflow_children(w),
            output.dispatched,
            output.completions_published,
            output.livelock,
            output.faults_fired,
            output.config.guards.handled,
            lost_writes=db.lost_writes,
            expired=output.expired,
            rewrites=db.finished_rewrites,
            looping=output.looping,
        )
        for w in sorted(db.workflows)
    }
    return merge(verdicts)


_EXECUTION_PREFIX = re.compile(r"^W\d+: ")  # findings under load name their execution


@dataclass(frozen=True, slots=True)
class _Steps:
    """Stands in for ``RunOutput`` when only the verdict is known: ``add`` reads ``steps``."""

    steps: int


@dataclass(slots=True)
class TaskSummary:
    duplicate_dispatches: int = 0
    max_dispatches: int = 0
    runs_with_duplicates: int = 0
    first_failing_seed: int | None = None


SEED_CAP = 100  # seeds kept per finding and task: enough for --save-failing and first seeds under --fail-on
DETAIL_CAP = 20  # distinct detail lines kept per finding; later new ones are counted as "(other)"


@dataclass(slots=True)
class TaskTally:
    occurrences: int = 0
    runs: int = 0
    seeds: list[int] = field(default_factory=list)  # the first SEED_CAP seeds showing it

    @property
    def first_seed(self) -> int | None:
        return self.seeds[0] if self.seeds else None


@dataclass(slots=True)
class FindingTally:
    """One registry finding over a sweep: runs showing it, occurrences, per task."""

    runs: int = 0
    unknown_runs: int = 0
    occurrences: int = 0
    consequences: int = 0  # occurrences of other findings this one caused (counted here only)
    seeds: list[int] = field(default_factory=list)
    by_task: dict[str, TaskTally] = field(default_factory=dict)
    details: dict[str, int] = field(default_factory=dict)

    @property
    def first_seed(self) -> int | None:
        return self.seeds[0] if self.seeds else None

    @property
    def verdict(self) -> str:
        return TRUE if self.runs else UNKNOWN if self.unknown_runs else FALSE

    def add(self, seed: int | None, f: Found, tasks: Iterable[str]) -> None:
        """``seed``: the seed that reproduces the run, or None when none does (a mutated
        schedule of a coverage search): it is counted but never named."""
        for task in tasks:
            if task not in self.by_task:
                self.by_task[task] = TaskTally()
        self.consequences += len(f.consequences)
        for line in f.details:
            key = line if line in self.details or len(self.details) < DETAIL_CAP else "(other)"
            self.details[key] = self.details.get(key, 0) + 1
        if f.verdict == UNKNOWN:
            self.unknown_runs += 1
            return
        if f.verdict != TRUE:
            return
        self.runs += 1
        self.occurrences += f.count
        if seed is not None and len(self.seeds) < SEED_CAP:
            self.seeds.append(seed)
        for task, n in f.by_task.items():
            t = self.by_task.get(task)
            if t is None:
                t = self.by_task[task] = TaskTally()
            t.occurrences += n
            t.runs += 1
            if seed is not None and len(t.seeds) < SEED_CAP:
                t.seeds.append(seed)


@dataclass(slots=True)
class Summary:
    """Aggregate of a sweep over seeds ``seed .. seed + runs - 1`` for one configuration."""

    scenario: str
    guards: str
    runs: int
    seed: int
    deployment: Deployment
    faults: Faults
    strategy: str = "random"
    runs_with_duplicates: int = 0
    duplicate_dispatches: int = 0
    max_dispatches_per_task: int = 0
    missed_dispatches: int = 0
    stuck_workflows: int = 0
    lost_updates: int = 0
    wrong_outcomes: int = 0
    first_seed: dict[str, int] = field(default_factory=dict)  # finding -> first seed showing it
    failing_seeds: list[int] = field(default_factory=list)  # seeds with a duplicate, first 100
    stuck_reasons: dict[str, int] = field(default_factory=dict)
    by_task: dict[str, TaskSummary] = field(default_factory=dict)
    dispatch_histogram: dict[str, dict[int, int]] = field(default_factory=dict)
    digest_chain: bytes = SWEEP_DIGEST_START  # run digests chained in seed order (sim.trace.sweep_step)
    coverage: SweepCoverage = field(default_factory=SweepCoverage)  # guard checks, fault points, reads-from
    events: int = 0
    findings: dict[str, FindingTally] = field(default_factory=lambda: {name: FindingTally() for name in NAMES})

    def add_verdict(self, seed: int, verdict: Verdict, digest: str = "", steps: int = 0) -> None:
        """A run known only by its verdict (a live run): no trace, so no digest."""
        self.add(RunResult(seed, _Steps(steps), verdict, digest))  # type: ignore[arg-type]

    def add(self, r: RunResult, seeded: bool = True) -> None:
        """``seeded`` False: ``r.seed`` does not reproduce the run (a coverage search's
        mutated schedule), so the run is counted but its seed is never reported."""
        v = r.verdict
        tasks = v.by_task.keys()
        seed = r.seed if seeded else None
        for name, tally in self.findings.items():
            tally.add(seed, v.results[name], tasks if BY_NAME[name].per == "task" else ())
        if r.digest:  # a live run has no trace to digest and no coverage to count
            self.digest_chain = sweep_step(self.digest_chain, r.digest)
            run_coverage = getattr(r.output, "run_coverage", None)  # a worker's compact record carries it
            self.coverage.add(run_coverage if run_coverage is not None else coverage_of(r.output))
        self.events += r.output.steps
        if v.duplicate_dispatches:
            self.runs_with_duplicates += 1
            if seed is not None and len(self.failing_seeds) < 100:
                self.failing_seeds.append(seed)
        self.duplicate_dispatches += v.duplicate_dispatches
        self.missed_dispatches += v.missed_dispatches
        self.stuck_workflows += v.stuck_workflows
        self.lost_updates += v.lost_updates
        self.wrong_outcomes += v.wrong_outcomes
        for finding, value in (
            ("duplicates", v.duplicate_dispatches),
            ("missed", v.missed_dispatches),
            ("stuck", v.stuck_workflows),
            ("lost_updates", v.lost_updates),
            ("wrong_outcomes", v.wrong_outcomes),
        ):
            if value and seed is not None:
                self.first_seed.setdefault(finding, seed)
        for reason in v.stuck_reasons:
            kind = _EXECUTION_PREFIX.sub("", reason).split(":")[0]
            self.stuck_reasons[kind] = self.stuck_reasons.get(kind, 0) + 1
        for task, stats in v.by_task.items():
            ts = self.by_task.setdefault(task, TaskSummary())
            ts.duplicate_dispatches += stats.duplicate_dispatches
            ts.max_dispatches = max(ts.max_dispatches, stats.max_dispatches)
            self.max_dispatches_per_task = max(self.max_dispatches_per_task, stats.max_dispatches)
            if stats.duplicate_dispatches:
                ts.runs_with_duplicates += 1
                if ts.first_failing_seed is None:
                    ts.first_failing_seed = seed
            hist = self.dispatch_histogram.setdefault(task, {})
            hist[stats.max_dispatches] = hist.get(stats.max_dispatches, 0) + 1

    @property
    def first_failing_seed(self) -> int | None:
        """The first seed failing under the default --fail-on (every safety finding)."""
        return self.first_failing(DEFAULT_FAIL_ON)

    def failing(self, fail_on: FailOn) -> list[int]:
        """The first SEED_CAP seeds failing under ``fail_on``, ascending."""
        seeds: set[int] = set()
        for name, task in fail_on:
            tally = self.findings[name]
            if task is None:
                seeds.update(tally.seeds)
            elif task in tally.by_task:
                seeds.update(tally.by_task[task].seeds)
        return sorted(seeds)[:SEED_CAP]

    def first_failing(self, fail_on: FailOn) -> int | None:
        seeds = self.failing(fail_on)
        return seeds[0] if seeds else None

    def finding_counts(self) -> dict[str, int]:
        """The pre-registry counts, by their expect-block names: runs with any hand-over
        duplicate (successor duplicates and item re-runs together), then occurrences."""
        return {
            "duplicates": self.runs_with_duplicates,
            "missed": self.missed_dispatches,
            "stuck": self.stuck_workflows,
            "lost_updates": self.lost_updates,
            "wrong_outcomes": self.wrong_outcomes,
        }

    def other_findings(self) -> list[tuple[str, int]]:
        """Findings other than the two dispatch duplicates that some run shows: (name, runs)."""
        return [
            (name, t.runs) for name, t in self.findings.items() if t.runs and name not in ("duplicate_dispatch", "item_rerun")
        ]

    @property
    def digest(self) -> str:
        """The sweep's digest: every run's digest chained in seed order, in constant memory."""
        return self.digest_chain.hex()

    def to_json(self, fail_on: FailOn = DEFAULT_FAIL_ON, command: str = "run") -> dict:
        """The one result shape (schema/racesim-result.schema.json): identity, the
        pre-registry top-level fields, then every registry finding with its per-task view."""
        return {
            "schema_version": SCHEMA_VERSION,
            "command": command,
            "scenario": self.scenario,
            "guards": self.guards,
            "deployment": deployment_json(self.deployment),
            "faults": self.faults.label(),
            "strategy": self.strategy,
            "runs": self.runs,
            "seed": self.seed,
            "runs_with_duplicates": self.runs_with_duplicates,
            "duplicate_dispatches": self.duplicate_dispatches,
            "max_dispatches_per_task": self.max_dispatches_per_task,
            "missed_dispatches": self.missed_dispatches,
            "stuck_workflows": self.stuck_workflows,
            "lost_updates": self.lost_updates,
            "wrong_outcomes": self.wrong_outcomes,
            "fail_on": describe_fail_on(fail_on),
            "first_failing_seed": self.first_failing(fail_on),
            "digest": self.digest,
            "findings": {name: self._finding_json(name) for name in NAMES},
            "stuck_reasons": dict(sorted(self.stuck_reasons.items())),
            "by_task": {
                name: {
                    "duplicate_dispatches": t.duplicate_dispatches,
                    "max_dispatches": t.max_dispatches,
                    "runs_with_duplicates": t.runs_with_duplicates,
                    "first_failing_seed": t.first_failing_seed,
                }
                for name, t in self.by_task.items()
            },
            "coverage": self.coverage.to_json(),
        }

    def _finding_json(self, name: str) -> dict:
        c, t = BY_NAME[name], self.findings[name]
        return {
            "title": c.title,
            "kind": c.kind,
            "unit": c.unit,
            "per": c.per,
            "explanation": c.explanation,
            "verdict": t.verdict,
            "runs": t.runs,
            "unknown_runs": t.unknown_runs,
            "occurrences": t.occurrences,
            "consequences": t.consequences,
            "first_seed": t.first_seed,
            "by_task": {
                task: {"runs": tt.runs, "occurrences": tt.occurrences, "first_seed": tt.first_seed}
                for task, tt in t.by_task.items()
            },
            "details": dict(t.details),
        }


def deployment_json(d: Deployment) -> dict:
    """A deployment as a JSON object, every field (a replicas=2 result is never told from 1/1)."""
    return asdict(d)


def sweep(
    config: RunConfig,
    seed: int,
    runs: int,
    strategy: str = "random",
    params: dict | None = None,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    summary = Summary(config.scenario, config.guards.name, runs, seed, config.deployment, config.faults, strategy)
    for s in range(seed, seed + runs):
        summary.add(sweep_run(config, s, strategy, params))
        if progress is not None:
            progress(1)
    return summary


def with_guards(config: RunConfig, guards: Guards) -> RunConfig:
    return replace(config, guards=guards)
