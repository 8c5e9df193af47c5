"""``replay``: follows a recorded choice sequence (the run's ``ChoiceSource`` prefix).

Every pick comes from the prefix; past its end (lenient replay, shrinking) the simplest
choice: keep running the current actor."""

from __future__ import annotations

from collections.abc import Sequence

from racesim.sim.schedulers.base import Strategy


class Replay(Strategy):
    name = "replay"
    timed = False  # latencies come from the recording; past its end, each channel's mean

    def choose(self, enabled: Sequence, current: object) -> int | None:
        return 0
