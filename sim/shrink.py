"""Shrinking: reduce a failing schedule to a minimal one with the same finding.

A schedule is its pick list (index into the enabled actors at each step, 0 = no deviation
from the default order) plus its coin flips; latencies do not decide who runs next, so a
candidate runs with mean latencies (the clock is normalised, the interleaving is not).
Past the end of the pick list every pick is 0; an index beyond the enabled set is clipped.

Order of preference, lexicographic: fewer deviations (non-zero picks), fewer actors that
ever step, fewer steps, smaller pick indexes. Passes, repeated to a fixpoint:

1. cut the pick list short (everything after runs the default order);
2. zero whole chunks of deviations, halving the chunk size (delta debugging, Zeller 2002);
3. zero single deviations, then lower each remaining one;
4. drop actors: fewer workers, worker slots, listeners and replicas, keeping the picks;
0. (first in each round) drop crash points: set each crash choice (``["x", kind, n]``) to
   0, no crash, and keep it when the same finding still occurs. Fewer crashes come first
   in the order of preference, so a crash-free schedule may be longer than the original.

Why not Hypothesis' shrinker: it only shrinks examples that Hypothesis itself generated,
and it cannot be handed a counterexample found elsewhere (random timing, PCT, DFS, a file)
except through its example database, whose format is internal. The passes below are the
same ideas (shorten, zero, lower) applied directly and deterministically to the one
sequence. See docs/exploration.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from racesim.models.graph import Graph
from racesim.sim.checkers import Verdict
from racesim.sim.choices import ChoiceSource
from racesim.sim.config import RunConfig
from racesim.sim.findings import failing_parts, parse_fail_on


def pick_source(picks: list[int], coins: list[int], config: RunConfig, crashes: list[list] | None = None) -> ChoiceSource:
    """A lenient replay of ``picks``, ``coins`` and crash choice points (``["x", kind, n]``)
    with mean latencies; past any of the lists, the simplest choice (pick 0, no coin, no
    crash)."""
    prefix: list[list] = [["p", p, p + 1] for p in picks]
    prefix += [["c", c] for c in coins]
    prefix += [list(c) for c in crashes or ()]
    return ChoiceSource(0, config.timing, timed=False, prefix=prefix, strict=False)


def split(choices: list[list]) -> tuple[list[int], list[int]]:
    """(pick indexes, coin flips) of a recorded choice sequence."""
    return [int(c[1]) for c in choices if c[0] == "p"], [int(c[1]) for c in choices if c[0] == "c"]


def finding_of(verdict: Verdict, fail_on: tuple[tuple[str, str | None], ...] | None = None) -> dict:
    """What a schedule file records of its run: the pre-registry counts, and under
    ``findings`` the failing part (finding -> task -> count) under ``fail_on``."""
    return {
        "duplicates": verdict.duplicate_dispatches,
        "by_task": {t: s.duplicate_dispatches for t, s in verdict.by_task.items() if s.duplicate_dispatches},
        "missed": verdict.missed_dispatches,
        "stuck": verdict.stuck_workflows,
        "findings": failing_parts(verdict.results, fail_on or parse_fail_on(None)),
    }


def same_finding(finding: dict, verdict: Verdict) -> bool:
    """Every (finding, task) failing in ``finding`` fails again (any count >= 1); files from
    before the registry: every task duplicated in ``finding`` is duplicated again."""
    parts = finding.get("findings")
    if parts:
        return all(
            verdict.results[name].by_task.get(task, 0) > 0
            for name, tasks in parts.items()
            if name in verdict.results
            for task in tasks
        )
    tasks = finding.get("by_task") or {}
    if not tasks:
        return verdict.duplicate_dispatches > 0
    return all(verdict.by_task.get(t) is not None and verdict.by_task[t].duplicate_dispatches > 0 for t in tasks)


@dataclass(slots=True)
class Candidate:
    config: RunConfig
    picks: list[int]  # as actually used by the run (trimmed of trailing zeros)
    result: Any  # RunResult (engine/, a layer above: not imported here)
    crashes: list[list] = field(default_factory=list)  # crash choices as used (trailing no-crash trimmed)

    @property
    def choices(self) -> list[list]:
        return self.result.output.choices

    def key(self) -> tuple:
        records = self.result.output.records
        return (
            crashes_count(self.crashes),
            sum(1 for p in self.picks if p),
            len({r[1] for r in records}),
            len(self.choices),
            sum(self.picks),
        )


def deviations(choices: list[list]) -> int:
    return sum(1 for c in choices if c[0] == "p" and c[1])


def actors_involved(records: list) -> int:
    return len({r[1] for r in records})


@dataclass(slots=True)
class ShrinkResult:
    original: Candidate
    shrunk: Candidate
    runs: int


def shrink(
    config: RunConfig,
    choices: list[list],
    finding: dict,
    run: Callable[[RunConfig, ChoiceSource], Any],
    max_runs: int = 5000,
    allow_deployment: bool = True,
) -> ShrinkResult:
    """``run(config, source)`` executes one run with a replay scheduler and returns a RunResult."""
    picks, coins = split(choices)
    crashes = [c for c in choices if c[0] == "x"]  # carried as they are
    budget = [max_runs]

    def attempt(cfg: RunConfig, ps: list[int], xs: list[list] | None = None) -> Candidate | None:
        if budget[0] <= 0:
            return None
        budget[0] -= 1
        xs = best.crashes if xs is None else xs
        source = pick_source(ps, coins, cfg, xs)
        result = run(cfg, source)
        if not same_finding(finding, result.verdict) or result.output.livelock:
            return None
        used, _ = split(result.output.choices)
        while used and used[-1] == 0:
            used.pop()
        used_crashes = [list(c) for c in result.output.choices if c[0] == "x"]
        while used_crashes and int(used_crashes[-1][1]) == 0:
            used_crashes.pop()
        return Candidate(cfg, used, result, used_crashes)

    best = Candidate(config, picks, None, crashes)  # what attempt() replays until the first run
    start = attempt(config, picks)
    if start is None:
        raise ValueError("the schedule does not reproduce its finding under replay; nothing to shrink")
    original = start
    best = start
    limit = len(choices)  # the shrunk schedule must be no longer than the original

    def better(c: Candidate | None) -> bool:
        nonlocal best
        if c is None:
            return False
        fewer_crashes = crashes_count(c.crashes) < crashes_count(best.crashes)
        if fewer_crashes or (len(c.choices) <= limit and c.key() < best.key()):
            best = c
            return True
        return False

    changed = True
    while changed and budget[0] > 0:
        changed = False
        # 0. drop crash points: each crash choice set to "no crash", kept if the finding stays
        for i in range(len(best.crashes)):
            if i < len(best.crashes) and int(best.crashes[i][1]) != 0:
                xs = [list(c) for c in best.crashes]
                xs[i] = ["x", 0, xs[i][2]]
                if better(attempt(best.config, best.picks, xs)):
                    changed = True
        # 1. cut short: shortest prefix that still fails (try halves first, then single steps back)
        n = len(best.picks)
        cut = n // 2
        while cut >= 1:
            if better(attempt(best.config, best.picks[: len(best.picks) - cut])):
                changed = True
            else:
                cut //= 2
        # 2. zero chunks of deviations, halving the chunk size
        size = max(1, deviations_count(best.picks) // 2)
        while size >= 1 and budget[0] > 0:
            nonzero = [i for i, p in enumerate(best.picks) if p]
            progressed = False
            for lo in range(0, len(nonzero), size):
                chunk = set(nonzero[lo : lo + size])
                ps = [0 if i in chunk else p for i, p in enumerate(best.picks)]
                if better(attempt(best.config, ps)):
                    changed = progressed = True
                    break
            if not progressed:
                size //= 2
        # 3. lower each remaining deviation (zero was tried above)
        for i in [i for i, p in enumerate(best.picks) if p > 1]:
            if i < len(best.picks) and best.picks[i] > 1:
                ps = list(best.picks)
                ps[i] = 1
                if better(attempt(best.config, ps)):
                    changed = True
        # 4. fewer items where the scenario has with_items tasks (each item is an actor's work)
        if allow_deployment:
            for name, node in best.config.graph.nodes.items():
                if node.with_items is not None and node.with_items > 1:
                    if better(attempt(with_item_counts(best.config, {name: node.with_items - 1}), best.picks)):
                        changed = True
                        break
        # 5. fewer actors: shrink the deployment, keeping the picks (clipped where needed)
        if allow_deployment:
            dep = best.config.deployment
            for field_name in ("workers", "worker_slots", "listeners", "replicas"):
                value = getattr(dep, field_name)
                if value > 1:
                    cfg = replace(best.config, deployment=replace(dep, **{field_name: value - 1}))
                    if better(attempt(cfg, best.picks)):
                        changed = True
                        break
    return ShrinkResult(original, best, max_runs - budget[0])


def with_item_counts(config: RunConfig, items: dict[str, int]) -> RunConfig:
    """``config`` with some with_items tasks given fewer (or more) items."""
    # every other field of a node is kept (a retry block included); build() recomputes inbound
    nodes = [replace(n, with_items=items.get(n.name, n.with_items)) for n in config.graph.nodes.values()]
    return replace(config, graph=Graph.build(nodes))


def item_counts(config: RunConfig) -> dict[str, int]:
    """The with_items counts of ``config``'s graph, by task."""
    return {name: n.with_items for name, n in config.graph.nodes.items() if n.with_items is not None}


def deviations_count(picks: list[int]) -> int:
    return sum(1 for p in picks if p)


def crashes_count(crashes: list[list]) -> int:
    """Crash choices that crash (kind != 0)."""
    return sum(1 for c in crashes if int(c[1]))
