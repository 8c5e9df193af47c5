"""A scenario's ``expect`` block: what the spec predicts, checked against seeded sweeps.

Each entry names a guard set, optionally a deployment, faults and a run count, and for
each finding either ``0`` (no run shows it) or ``some`` (at least one run shows it)::

    expect:
      - guards: none
        duplicates: some
        by_task: {validate: some}
        note: "spec 7(a): the seed race with one sequential listener"
      - guards: both
        replicas: 2
        runs: 500
        by_task: {validate: some}

Besides the pre-registry names (``duplicates``: runs with any task handed to workers more
than once; ``missed``, ``stuck``, ``lost_updates``, ``wrong_outcomes``), every finding of the
registry (``sim/findings.py``) is a key, counted in runs showing it; its value is ``0``,
``some``, or a mapping task -> ``0``/``some``::

      - guards: both
        duplicate_dispatch: {validate: 0}
        item_rerun: some
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from racesim.engine.parallel import run_sweeps
from racesim.engine.runner import Summary, config_for
from racesim.models.guards import Guards
from racesim.scenarios import schema
from racesim.scenarios.loader import CATALOG, Scenario
from racesim.sim.config import Faults
from racesim.sim.findings import BY_NAME

# The expect vocabulary is the scenario schema's: one definition, read here.
METRICS = schema.METRICS
DEPLOYMENT_KEYS = schema.EXPECT_DEPLOYMENT_KEYS
ENTRY_KEYS = schema.ENTRY_KEYS


def observed(summary: Summary, metric: str, task: str | None = None) -> int:
    """How many runs (duplicates, and every registry finding) or occurrences (the other
    pre-registry names) a summary shows for ``metric``, for one task if given."""
    if metric in BY_NAME:
        tally = summary.findings[metric]
        if task is None:
            return tally.runs
        t = tally.by_task.get(task)
        return t.runs if t else 0
    return summary.finding_counts()[metric]


def _first_seed(summary: Summary, metric: str, task: str | None = None) -> int | None:
    if metric in BY_NAME:
        tally = summary.findings[metric]
        if task is None:
            return tally.first_seed
        t = tally.by_task.get(task)
        return t.first_seed if t else None
    return summary.first_seed.get(metric)


def holds(expected: object, count: int) -> bool:
    return count == 0 if expected == 0 else count > 0


@dataclass(slots=True)
class ExpectResult:
    scenario: str
    entry: dict
    summary: Summary
    failures: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # contradicted claims that --fail-on does not gate
    failing_seed: int | None = None  # the first seed contradicting the first failed claim
    scenario_ref: str = ""  # catalog name, or the file's path for scenarios outside it
    base_deployment: object = None

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def label(self) -> str:
        d = self.summary.deployment
        where = f"replicas={d.replicas} listeners={d.listeners} faults={self.summary.faults.label()}"
        return f"{self.scenario} [{self.summary.guards}] {where}"

    def first_seed(self) -> int:
        return self.failing_seed if self.failing_seed is not None else self.summary.seed


def evaluate(
    scenario: Scenario,
    seed: int = 1,
    runs: int | None = None,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    strategy: str = "random",
    cluster: str | None = None,
    fail_on: tuple[tuple[str, str | None], ...] | None = None,
) -> list[ExpectResult]:
    """Run every expect entry of ``scenario``; ``runs`` overrides each entry's count. With
    ``fail_on``, only claims about those findings can fail an entry; the other contradicted
    claims are listed in ``ignored``."""
    entries = scenario.expect if isinstance(scenario.expect, list) else []
    results = []
    for entry in entries:
        deployment = replace(scenario.deployment, **{k: int(entry[k]) for k in DEPLOYMENT_KEYS if k in entry})
        faults = Faults.parse(str(entry["faults"])) if "faults" in entry else scenario.faults
        config = config_for(scenario, Guards.parse(str(entry["guards"])), deployment, faults)
        n = runs if runs is not None else int(entry.get("runs", scenario.runs))
        [summary] = run_sweeps([config], seed, n, jobs, progress, strategy, cluster=cluster)
        result = ExpectResult(
            scenario.name, entry, summary, scenario_ref=_reference(scenario), base_deployment=scenario.deployment
        )
        for metric in METRICS:
            if metric not in entry:
                continue
            claims = entry[metric] if isinstance(entry[metric], dict) else {None: entry[metric]}
            for task, expected in claims.items():
                count = observed(summary, metric, task)
                if not holds(expected, count):
                    what = metric if task is None else f"{metric} of {task}"
                    if not gates(fail_on, metric, task):
                        result.ignored.append(_describe(what, expected, count, summary))
                        continue
                    result.failures.append(_describe(what, expected, count, summary))
                    result.failing_seed = _seed_of(result, _first_seed(summary, metric, task))
        for task, expected in (entry.get("by_task") or {}).items():
            stats = summary.by_task.get(task)
            count = stats.runs_with_duplicates if stats else 0
            if not holds(expected, count):
                if not gates(fail_on, "duplicates", task):
                    result.ignored.append(_describe(f"duplicates of {task}", expected, count, summary))
                    continue
                result.failures.append(_describe(f"duplicates of {task}", expected, count, summary))
                result.failing_seed = _seed_of(result, stats.first_failing_seed if stats else None)
        for key in schema.COVERAGE_KEYS:
            for point, expected in (entry.get(key) or {}).items():
                count = coverage_count(summary, key, point)
                if not holds(expected, count):
                    what = f"{'runs reaching' if key == 'reached' else 'runs where it decided'} {point}"
                    result.failures.append(_describe(what, expected, count, summary))
        results.append(result)
    return results


# The registry findings each pre-registry name stands for.
LEGACY_FAMILY = {
    "duplicates": ("duplicate_dispatch", "item_rerun"),
    "missed": ("missed_dispatch",),
    "stuck": ("stuck_workflow",),
    "lost_updates": ("lost_update",),
    "wrong_outcomes": ("wrong_outcome",),
}


def gates(fail_on: tuple[tuple[str, str | None], ...] | None, metric: str, task: str | None) -> bool:
    """Can a contradicted claim about ``metric`` (for ``task``) fail the check under ``fail_on``?
    ``None``: every claim gates."""
    if fail_on is None:
        return True
    family = LEGACY_FAMILY.get(metric, (metric,))
    return any(name in family and (t is None or task is None or t == task) for name, t in fail_on)


def coverage_count(summary: Summary, key: str, point: str) -> int:
    """Runs in which the guard check at ``point`` ran (``reached``) or changed the outcome
    (``decided``); for a fault point, runs in which it was checked or fired."""
    cov = summary.coverage
    g = cov.guards.get(point)
    if g is not None:
        return g.runs_reached if key == "reached" else g.runs_decided
    f = cov.faults.get(point)
    if f is not None:
        return f.runs_reached if key == "reached" else f.runs_fired
    return 0


def _seed_of(result: ExpectResult, seed: int | None) -> int | None:
    """Keep the seed of the first contradicted claim; an absent finding has no seed."""
    return result.failing_seed if result.failing_seed is not None else seed


def _reference(scenario: Scenario) -> str:
    """The catalog name when the scenario is the catalog's own file, else its path."""
    catalog_file = CATALOG / f"{scenario.name}.yaml"
    if scenario.path and catalog_file.exists() and Path(scenario.path).resolve() == catalog_file.resolve():
        return scenario.name
    return scenario.path or scenario.name


def _describe(what: str, expected: object, count: int, summary: Summary) -> str:
    want = "none" if expected == 0 else "some"
    return f"expected {want} {what}, saw {count} in {summary.runs} runs"
