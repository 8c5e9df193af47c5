"""Coverage-guided search (``explore --strategy coverage``), as fuzzers do it.

A corpus of choice sequences starts empty. Each run either starts fresh (a random-timing
run of the next seed, ``seed``, ``seed + 1``, ..., recorded) or mutates a corpus entry: a few scheduling picks get another
enabled actor or a few coins (fault strikes) flip, then the sequence is replayed leniently (``sim.choices.ChoiceSource``; a
pick that no longer fits is clipped, past the end the run goes on without preemption). A
run whose coverage (``sim.coverage``: reads-from pairs and guard outcomes) holds something
no earlier run had joins the corpus. Everything is drawn from one ``random.Random(seed)``,
so a campaign is a pure function of (config, seed, budget).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from racesim.engine.runner import RunResult, run_one
from racesim.sim import coverage
from racesim.sim.config import RunConfig

FRESH = 0.25  # share of runs that start from a fresh random-timing run
MAX_FLIPS = 3  # picks changed per mutation


@dataclass(slots=True)
class CoverageSearch:
    runs: int  # runs made
    failing: RunResult | None  # the first failing run
    failing_at: int | None  # its 1-based run number
    failing_fresh: bool  # the failing run was a fresh one: its seed alone reproduces it
    corpus: int  # sequences kept
    coverage: coverage.SweepCoverage


def mutate(choices: list[list], rng: random.Random) -> list[list]:
    """A copy of ``choices`` with 1..MAX_FLIPS choices changed: a scheduling pick sent to
    another enabled actor, or a coin (a fault striking, a random outcome) flipped."""
    out = [list(c) for c in choices]
    points = [i for i, c in enumerate(out) if c and ((c[0] == "p" and c[2] > 1) or c[0] == "c")]
    if not points:
        return out
    for i in rng.sample(points, min(len(points), rng.randint(1, MAX_FLIPS))):
        if out[i][0] == "c":
            out[i] = ["c", 1 - out[i][1]]
        else:
            _, index, n = out[i]
            out[i] = ["p", (index + rng.randrange(1, n)) % n, n]
    return out


def search(
    config: RunConfig,
    seed: int,
    max_runs: int,
    is_failing: Callable[[RunResult], bool],
    stop_at_first: bool = True,
    on_run: Callable[[RunResult, bool], None] | None = None,
) -> CoverageSearch:
    """``on_run(result, fresh)`` after each run; ``fresh``: a seeded random-timing run, which
    ``racesim run --seed`` reproduces; else a mutated schedule, which only its recorded
    choice sequence (a saved schedule file) reproduces."""
    rng = random.Random(f"coverage:{seed}")
    cov = coverage.SweepCoverage()
    corpus: list[list[list]] = []
    failing: RunResult | None = None
    failing_at: int | None = None
    failing_fresh = False
    next_seed = seed  # fresh runs take seed, seed + 1, ...: the seeds a random sweep would run
    runs = 0
    for runs in range(1, max_runs + 1):
        fresh = not corpus or rng.random() < FRESH
        if fresh:
            r = run_one(config, next_seed, record=True)
            next_seed += 1
        else:
            r = run_one(config, seed, choices=mutate(rng.choice(corpus), rng), strict=False)
        if on_run is not None:
            on_run(r, fresh)
        rc = coverage.of_output(r.output)
        if cov.new_in(rc) > 0 and r.output.choices is not None:
            corpus.append(r.output.choices)
        cov.add(rc)
        if failing is None and is_failing(r):
            failing, failing_at, failing_fresh = r, runs, fresh
            if stop_at_first:
                break
    return CoverageSearch(runs, failing, failing_at, failing_fresh, len(corpus), cov)
