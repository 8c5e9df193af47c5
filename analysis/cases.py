"""Which runs to explain: per finding kind and task, the first run of a sweep that shows it,
and the same seed under a guard set that does not.

The user asks about one finding ("validate was dispatched twice under both guards"), not
about whatever the first failing run happened to show first, so a report explains every
(finding, task) pair the sweep found, each from its own first seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from racesim.analysis.explain import guard_stops
from racesim.analysis.windows import analyse
from racesim.engine.runner import RunResult, Summary, run_one
from racesim.models.guards import Guards
from racesim.sim.config import RunConfig

# Pre-registry finding names -> the verdict field holding each one's count.
_LEGACY = (
    ("duplicates", "duplicate_dispatches"),
    ("missed", "missed_dispatches"),
    ("stuck", "stuck_workflows"),
    ("lost_updates", "lost_updates"),
    ("wrong_outcomes", "wrong_outcomes"),
)
# Registry findings whose occurrences are keys handed to workers more than once.
DUPLICATE_KINDS = {"duplicate_dispatch": "rows", "item_rerun": "rerun", "duplicates": None}


@dataclass(slots=True)
class Case:
    """One (finding, task) pair of a sweep, with its first run and a contrast run."""

    finding: str
    task: str | None  # None: a finding about the whole workflow
    runs: int  # runs of the sweep that showed it
    occurrences: int
    seed: int
    config: RunConfig
    failing: RunResult
    contrast: RunResult | None  # the failing schedule under guards that do not show it (None: none found)
    contrast_replayed: bool = True  # the contrast replays the failing run's choices (not its seed alone)

    @property
    def title(self) -> str:
        return self.finding if self.task is None else f"{self.finding}: {self.task}"


def finding_seeds(summary: Summary) -> list[tuple[str, str | None, int, int, int]]:
    """(finding, task, first seed, runs, occurrences) for everything the sweep found, in the
    registry's order (the findings registry when present), tasks in graph order."""
    out: list[tuple[str, str | None, int, int, int]] = []
    tallies = getattr(summary, "findings", None)
    if isinstance(tallies, dict):
        for name, tally in tallies.items():
            tasks = [(t, x) for t, x in tally.by_task.items() if x.first_seed is not None]
            if tasks:
                out.extend((name, t, x.first_seed, x.runs, x.occurrences) for t, x in tasks)
            elif tally.first_seed is not None:
                out.append((name, None, tally.first_seed, tally.runs, tally.occurrences))
        return out
    for name, t in summary.by_task.items():
        if t.first_failing_seed is not None:
            out.append(("duplicates", name, t.first_failing_seed, t.runs_with_duplicates, t.duplicate_dispatches))
    counts = summary.finding_counts()
    for name, _ in _LEGACY[1:]:
        seed = summary.first_seed.get(name)
        if seed is not None:
            out.append((name, None, seed, counts[name], counts[name]))
    return out


def shows(result: RunResult, finding: str, task: str | None) -> bool:
    """Does this run show ``finding`` (for ``task``, when given)?"""
    v = result.verdict
    results = getattr(v, "results", None)
    if isinstance(results, dict) and finding in results:
        found = results[finding]
        return found.verdict == "true" and (task is None or found.by_task.get(task, 0) > 0)
    if finding == "duplicates":
        stats = v.by_task.get(task) if task is not None else None
        return stats.duplicate_dispatches > 0 if stats is not None else v.duplicate_dispatches > 0
    field = dict(_LEGACY).get(finding)
    return bool(field and getattr(v, field))


def cases(summaries: Sequence[Summary], configs: Sequence[RunConfig], limit: int = 8, only: int | None = None) -> list[Case]:
    """Up to ``limit`` cases over the sweeps (of sweep ``only`` alone when given; contrasts
    still come from all of them), each re-run with recording on."""
    out: list[Case] = []
    for i, (summary, config) in enumerate(zip(summaries, configs, strict=True)):
        if only is not None and i != only:
            continue
        for finding, task, seed, runs, occurrences in finding_seeds(summary):
            if len(out) >= limit:
                return out
            failing = run_one(config, seed, record=True)
            found = contrast_for(failing, finding, task, summaries, configs)
            contrast, replayed = found if found is not None else (None, False)
            out.append(Case(finding, task, runs, occurrences, seed, config, failing, contrast, replayed))
    return out


# Switches tried one at a time on top of the failing guards, after the sweep's clean cells and
# ``serialized``, to find a contrast run in which a guard step visibly decides.
_EXTRA_SWITCHES = ("dedupe", "claim", "lock", "layer1", "layer2")


def contrast_for(
    failing: RunResult, finding: str, task: str | None, summaries: Sequence[Summary], configs: Sequence[RunConfig]
) -> tuple[RunResult, bool] | None:
    """The failing run's schedule replayed under guards that do not show the finding, and
    whether it is a replay (True) or the same seed run afresh (False).

    The same seed alone draws different timings under other guards (their extra round trips
    consume the random stream differently), so the race rarely even arises there. Replaying
    the failing run's recorded choices, leniently (a choice that no longer fits falls back
    to the simplest one), keeps the interleaving up to the point where the guards change
    it; the seed run afresh is tried second. Candidates: a cell of the sweep at the same
    deployment and faults that never showed the finding, ``serialized``, then the failing
    guards plus one more switch. The first in which a guard step decided against the task
    (``guard_stops``) wins; else the first without the finding; else None."""
    config = failing.output.config
    candidates: list[RunConfig] = []
    for other, other_config in zip(summaries, configs, strict=True):
        same_place = other_config.deployment == config.deployment and other_config.faults == config.faults
        if same_place and not any(f == finding and (task is None or t == task) for f, t, *_ in finding_seeds(other)):
            candidates.append(other_config)
    candidates.append(replace(config, guards=Guards.parse("serialized")))
    for switch in _EXTRA_SWITCHES:
        if not getattr(config.guards, switch):
            candidates.append(replace(config, guards=Guards.parse(f"{config.guards.name}+{switch}")))
    fallback: tuple[RunResult, bool] | None = None
    tried: set[tuple[str, ...]] = {config.guards.switches}
    for candidate in candidates:
        if candidate.guards.switches in tried:
            continue
        tried.add(candidate.guards.switches)
        for replayed in (True, False):
            if replayed:
                result = run_one(candidate, failing.seed, choices=failing.output.choices, strict=False)
            else:
                result = run_one(candidate, failing.seed, record=True)
            if shows(result, finding, task):
                continue
            if task is None or guard_stops(analyse(result), task):
                return result, replayed
            fallback = fallback or (result, replayed)
    return fallback


def single(result: RunResult) -> list[Case]:
    """Cases of one run (``run --trace``): every (finding, task) it shows."""
    config = result.output.config
    summary = Summary(config.scenario, config.guards.name, 1, result.seed, config.deployment, config.faults)
    summary.add(result)
    out = []
    for finding, task, seed, runs, occurrences in finding_seeds(summary):
        found = contrast_for(result, finding, task, [summary], [config])
        contrast, replayed = found if found is not None else (None, False)
        out.append(Case(finding, task, runs, occurrences, seed, config, result, contrast, replayed))
    return out
