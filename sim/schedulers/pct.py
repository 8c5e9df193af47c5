"""``pct``: Probabilistic Concurrency Testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
ASPLOS 2010).

Each actor gets a random distinct priority; the highest-priority ready actor always runs.
``depth - 1`` change points are drawn uniformly over the estimated run length ``length``
(in steps); when step ``k_i`` is taken, the actor that takes it drops to priority
``depth - i``, below every initial priority. A bug of depth d is then found with
probability at least 1 / (n * k^(d-1)) per run.

Actors appear while the run goes on (worker respawns, executor restarts), so an actor gets
its initial priority when first seen: a fresh random value in the high band. All draws come
from this strategy's own ``random.Random`` seeded by the run's seed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from racesim.sim.schedulers.base import Strategy

if TYPE_CHECKING:
    from racesim.sim.world import Actor


class PCT(Strategy):
    name = "pct"
    timed = False

    def __init__(self, depth: int = 3, length: int = 200) -> None:
        if depth < 1:
            raise ValueError(f"pct: depth must be at least 1, got {depth}")
        if length < 1:
            raise ValueError(f"pct: length must be at least 1, got {length}")
        self.depth = depth
        self.length = length
        self.seed(0)

    def params(self) -> dict:
        return {"depth": self.depth, "length": self.length}

    def new_execution(self, seed: int) -> None:
        self.seed(seed)

    def seed(self, seed: int) -> None:
        self.rng = random.Random(f"pct:{seed}")
        # change point step -> its rank i (1-based); equal draws merge, as in the paper's sampling
        points = sorted(self.rng.randint(1, self.length) for _ in range(self.depth - 1))
        self.change_points: dict[int, int] = {}
        for i, k in enumerate(points, start=1):
            self.change_points.setdefault(k, i)
        self.priority: dict[int, float] = {}
        self.steps = 0

    def _prio(self, actor_id: int) -> float:
        p = self.priority.get(actor_id)
        if p is None:
            # high band: depth + [0, 1); distinct with probability 1, ties broken by id below
            p = self.priority[actor_id] = self.depth + self.rng.random()
        return p

    unordered = True  # the highest (priority, -id) wins whatever the order

    def choose_actor(self, pending: dict[int, Actor], current: Actor | None) -> Actor:
        """``choose`` without the canonical order: actors seen for the first time draw their
        priority in that order (current first, then by id), as ``choose`` draws them."""
        self.steps += 1
        priority = self.priority
        unseen = [i for i in pending if i not in priority]
        if unseen:
            unseen.sort()
            if current is not None and current.id in unseen:
                unseen.remove(current.id)
                unseen.insert(0, current.id)
            for i in unseen:
                self._prio(i)
        best = max(pending, key=lambda i: (priority[i], -i))
        rank = self.change_points.get(self.steps)
        if rank is not None:
            priority[best] = self.depth - rank  # the low band: d-1 .. 1
        return pending[best]

    def choose(self, enabled: Sequence[Actor], current: Actor | None = None) -> int:
        self.steps += 1
        best = 0
        best_key = (self._prio(enabled[0].id), -enabled[0].id)
        for i in range(1, len(enabled)):
            key = (self._prio(enabled[i].id), -enabled[i].id)
            if key > best_key:
                best, best_key = i, key
        rank = self.change_points.get(self.steps)
        if rank is not None:
            self.priority[enabled[best].id] = self.depth - rank  # the low band: d-1 .. 1
        return best
