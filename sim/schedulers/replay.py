"""``replay``: follows a recorded choice sequence (``sim.choices.ReplaySource``)."""

from __future__ import annotations

from racesim.sim.schedulers.base import ControlledScheduler


class Replay(ControlledScheduler):
    name = "replay"
    timed = True  # latencies come from the recording, so a replay keeps the original clock

    def choose(self, enabled) -> int:
        return self.world.source.pick(len(enabled))
