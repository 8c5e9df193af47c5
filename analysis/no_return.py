"""The point of no return of a failing schedule.

A failing run is a choice sequence. Keep its first ``j`` scheduling steps (every choice up
to the ``j+1``-th pick), then let ``K`` seeded random continuations decide the rest: the
share of continuations that still show the finding estimates P(finding | prefix j). Where
that probability reaches 1 and stays there, the finding became certain; the last prefix at
which some continuation avoided it is the last step at which it could still be avoided.

A continuation replays the prefix leniently (``sim.choices.ChoiceSource``) and past it picks
uniformly at random among the enabled actors (``RandomContinuation``), each op taking its
channel's mean latency and no fault striking; it is a pure function of (prefix, seed).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from racesim.engine.parallel import map_in_order
from racesim.engine.runner import RunResult, execute
from racesim.sim.choices import ChoiceSource
from racesim.sim.config import RunConfig
from racesim.sim.schedulers.replay import Replay
from racesim.sim.shrink import same_finding


class RandomContinuation(Replay):
    """Past the recorded prefix, a uniform random pick among the enabled actors."""

    name = "random-continuation"

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def choose(self, enabled: Sequence, current: object) -> int | None:
        return self._rng.randrange(len(enabled)) if enabled else None


def pick_positions(choices: list[list]) -> list[int]:
    """Index in ``choices`` of every scheduling pick, in order."""
    return [i for i, c in enumerate(choices) if c and c[0] == "p"]


def prefix(choices: list[list], steps: int) -> list[list]:
    """The choices that make the first ``steps`` scheduling steps (and the draws before the
    next pick)."""
    picks = pick_positions(choices)
    return choices[: picks[steps]] if steps < len(picks) else list(choices)


def continuation(config: RunConfig, choices: list[list], steps: int, seed: int) -> RunResult:
    source = ChoiceSource(seed, config.timing, prefix=prefix(choices, steps), strict=False)
    return execute(config, RandomContinuation(seed), source)


def _trial(job: tuple[RunConfig, list[list], dict, int, int]) -> bool:
    config, choices, finding, steps, seed = job
    return same_finding(finding, continuation(config, choices, steps, seed).verdict)


@dataclass(slots=True)
class Point:
    steps: int  # prefix length in scheduling steps
    hits: int  # continuations that still showed the finding
    trials: int

    @property
    def p(self) -> float:
        return self.hits / self.trials if self.trials else 0.0


@dataclass(slots=True)
class NoReturn:
    total_steps: int
    points: list[Point]  # by prefix length
    certain_from: int | None  # smallest j from which every evaluated prefix always showed it
    last_avoidable: int | None  # largest j at which some continuation avoided it
    k: int


def _seed(base: int, steps: int, k: int) -> int:
    return base * 1_000_003 + steps * 1009 + k


def analyse(
    config: RunConfig, choices: list[list], finding: dict, k: int = 20, points: int = 40, jobs: int = 1, seed: int = 1
) -> NoReturn:
    """P(finding | prefix) at up to ``points`` evenly spaced prefix lengths, then at every
    step between the last evaluated prefix that could still avoid the finding and the next,
    so the step of no return is exact for these ``k`` continuations."""
    total = len(pick_positions(choices))
    grid = sorted({round(total * i / max(1, points - 1)) for i in range(points)} | {0, total})
    done: dict[int, Point] = {}

    def evaluate(lengths: list[int]) -> None:
        todo = [j for j in lengths if j not in done]
        jobs_list = [(config, choices, finding, j, _seed(seed, j, i)) for j in todo for i in range(k)]
        hits = map_in_order(_trial, jobs_list, jobs)
        for n, j in enumerate(todo):
            done[j] = Point(j, sum(hits[n * k : (n + 1) * k]), k)

    evaluate(grid)
    avoidable = [j for j in sorted(done) if done[j].hits < done[j].trials]
    if avoidable:
        last = avoidable[-1]
        after = [j for j in sorted(done) if j > last]
        if after:
            evaluate(list(range(last + 1, after[0])))
    pts = [done[j] for j in sorted(done)]
    avoidable = [p.steps for p in pts if p.hits < p.trials]
    last_avoidable = avoidable[-1] if avoidable else None
    later = [p.steps for p in pts if last_avoidable is None or p.steps > last_avoidable]
    return NoReturn(total, pts, later[0] if later else None, last_avoidable, k)
