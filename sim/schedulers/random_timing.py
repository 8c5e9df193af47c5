"""``random``: seeded timing. Each op's latency is drawn from the scenario's timing model
and the op that completes first runs first; equal times run in issue order.

That rule is simpy's own event order, (time, priority, insertion order), so the strategy
makes no choice of its own: each op is a simpy timeout and the event queue decides.
"""

from __future__ import annotations

from collections.abc import Sequence

from racesim.sim.schedulers.base import Strategy


class RandomTiming(Strategy):
    name = "random"
    timed = True
    controls_order = False

    def choose(self, enabled: Sequence, current: object) -> int | None:
        raise AssertionError("random timing never chooses: simpy's time order does")
