"""Load: many workflow executions of one scenario sharing one deployment (listeners,
schedulers, queues, workers), started by an arrival process.

``all``: every execution starts at t = 0; ``interval``: one every ``gap`` seconds;
``poisson``: exponential gaps of mean ``gap``, drawn from the run's choice source (channel
``arrival``), so a run stays a pure function of its seed and replays exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ARRIVALS = ("all", "interval", "poisson")
ARRIVAL_CHANNEL = "arrival"


@dataclass(frozen=True, slots=True)
class Load:
    count: int = 1
    arrival: str = "all"
    gap: float = 0.0  # seconds between starts (interval) or their mean (poisson)

    def start_times(self, draw: Callable[[str], float]) -> list[float]:
        """When each execution starts; ``draw(channel)`` is the choice source's latency draw."""
        times = [0.0]
        for _ in range(self.count - 1):
            if self.arrival == "interval":
                times.append(times[-1] + self.gap)
            elif self.arrival == "poisson":
                times.append(times[-1] + draw(ARRIVAL_CHANNEL))
            else:
                times.append(0.0)
        return times

    def label(self) -> str:
        if self.count == 1:
            return "one execution"
        if self.arrival == "all":
            return f"{self.count} executions at once"
        return f"{self.count} executions, {self.arrival} gap {self.gap:g}s"
