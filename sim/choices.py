"""The choice sequence: every scheduling choice and random draw of a run, in one list.

Replay, exhaustive search and shrinking all work on this sequence (Hypothesis' idea): a
run is a pure function of (scenario, guards, deployment, faults, choices). Entries:

- ``["p", index, n]``: the scheduler ran ``enabled[index]`` out of ``n`` enabled actors
  (``enabled`` is the current actor first when it can go on, then the rest by actor id, so
  index 0 means "no preemption");
- ``["t", seconds]``: a latency drawn for an op;
- ``["c", 0|1]``: a coin flip (fault injection, a task's random outcome).
"""

from __future__ import annotations

import random
from collections.abc import Callable


class ReplayMismatch(ValueError):
    """The recorded choices no longer fit the model."""


class ChoiceSource:
    """Draws from one seeded ``random.Random``; records them when ``record`` is set."""

    def __init__(
        self,
        seed: int,
        samplers: Callable[[random.Random], dict[str, Callable[[], float]]],
        means: dict[str, float],
        timed: bool = True,
        record: bool = False,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.means = means
        self._draw = samplers(self.rng) if timed else None
        self.log: list[list] | None = [] if record else None

    def direct_draws(self) -> dict[str, Callable[[], float]] | None:
        """The raw per-channel samplers when a draw needs no recording, else None."""
        return self._draw if self.log is None else None

    def latency(self, channel: str) -> float:
        value = self._draw[channel]() if self._draw is not None else self.means[channel]
        if self.log is not None:
            self.log.append(["t", value])
        return value

    def chance(self, probability: float) -> bool:
        hit = self.rng.random() < probability
        if self.log is not None:
            self.log.append(["c", int(hit)])
        return hit

    def note_pick(self, index: int, n: int) -> None:
        """Record a scheduling choice the strategy made itself."""
        if self.log is not None:
            self.log.append(["p", index, n])

    def pick(self, n: int) -> int:
        """A uniform scheduling choice (used by strategies that choose at random)."""
        index = self.rng.randrange(n)
        self.note_pick(index, n)
        return index


class ReplaySource(ChoiceSource):
    """Feeds a recorded sequence back. ``strict`` raises on any misfit; otherwise a misfit
    or an exhausted sequence falls back to the simplest value (pick 0, no fault, mean
    latency), which is what shrinking needs."""

    def __init__(self, choices: list[list], means: dict[str, float], strict: bool = True) -> None:
        self.seed = 0
        self.rng = random.Random(0)
        self.means = means
        self._draw = None
        self.choices = choices
        self.position = 0
        self.strict = strict
        self.misfits = 0
        self.log = []

    def _next(self, kind: str) -> list | None:
        i = self.position
        if i >= len(self.choices):
            if self.strict:
                raise ReplayMismatch(f"choice {i}: the recording ended but the model asked for more")
            self.misfits += 1
            return None
        entry = self.choices[i]
        if not isinstance(entry, list) or not entry or entry[0] != kind:
            if self.strict:
                raise ReplayMismatch(f"choice {i}: recorded {entry!r}, the model asked for a {kind!r} entry")
            self.misfits += 1
            return None
        self.position = i + 1
        return entry

    def latency(self, channel: str) -> float:
        entry = self._next("t")
        value = float(entry[1]) if entry else self.means[channel]
        self.log.append(["t", value])
        return value

    def chance(self, probability: float) -> bool:
        entry = self._next("c")
        hit = bool(entry[1]) if entry else False
        self.log.append(["c", int(hit)])
        return hit

    def pick(self, n: int) -> int:
        entry = self._next("p")
        if entry is None:
            index = 0
        else:
            index, recorded_n = int(entry[1]), int(entry[2])
            if self.strict and (recorded_n != n or not 0 <= index < n):
                raise ReplayMismatch(
                    f"choice {self.position - 1}: recorded pick {index} of {recorded_n} enabled actors, the model offers {n}"
                )
            if index >= n:
                self.misfits += 1
                index = n - 1
        self.log.append(["p", index, n])
        return index
