"""``random``: seeded timing. Each op's latency is drawn from the scenario's timing model
and the op with the earliest ready time runs first; equal times run in issue order.

This is simpy's own ordering, (time, insertion counter), kept in a private heap of plain
tuples: allocating a simpy event per op cost about a fifth of the simulation's time. The
world's ``simpy.Environment`` stays the clock.
"""

from __future__ import annotations

from heapq import heappop, heappush
from itertools import count

from racesim.sim.schedulers.base import Scheduler


class RandomTiming(Scheduler):
    name = "random"
    timed = True

    def attach(self, world) -> None:
        super().attach(world)
        self._env = world.env
        self._heap: list[tuple[float, int, object, int]] = []
        self._count = count(1)  # issue order; World._run_timed pushes with it too
        self._log = world.source.log is not None

    def ready(self, actor) -> None:
        heappush(self._heap, (actor.ready_at, next(self._count), actor, actor.ticket))

    def next(self):
        heap = self._heap
        while heap:
            at, _, actor, ticket = heappop(heap)
            if actor.alive and actor.ticket == ticket:  # a crash or a re-pend leaves stale entries
                self._env._now = at
                if self._log:
                    enabled = self.world.enabled_order()
                    self.world.source.note_pick(enabled.index(actor), len(enabled))
                return actor
        return None
