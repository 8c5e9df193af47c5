"""The choice sequence, and the one source every choice of a run comes from.

A run is a pure function of (scenario, guards, deployment, faults, choices). Every value
the kernel needs that the models do not determine is one entry of the sequence:

- ``["p", index, n]``: which of the ``n`` enabled actors ran next (``enabled`` is the
  current actor first when it can go on, then the rest by actor id, so index 0 means
  "no preemption");
- ``["t", seconds]``: the latency of an op;
- ``["c", 0|1]``: a coin flip (a named fault striking, a task's random outcome);
- ``["x", kind, n]``: a crash choice point at an actor's yield point: 0 = no crash, else
  which of the ``n - 1`` crashes open to that actor happens (``World.crash_options``).

``ChoiceSource`` plays the role of Hypothesis' ConjectureData: it can *generate* (seeded
draws, or the strategy's own pick), *replay a prefix* (a recorded sequence), and past the
prefix either keep generating or *fall back to the simplest choice* (pick 0, coin 0, the
channel's mean latency), which is what shrinking needs. Sweeps, replay, search and
shrinking all run through it; nothing else in the kernel draws.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from racesim.sim.timing import TimingModel

Choice = list  # ["p", index, n] | ["t", seconds] | ["c", 0|1]


class ReplayMismatch(ValueError):
    """The recorded choices no longer fit the model."""


class ChoiceSource:
    """Where every choice of one run comes from.

    ``prefix``: recorded choices to follow first. ``strict`` replays them entry by entry and
    raises ``ReplayMismatch`` on any misfit or when they run out; lenient replay follows
    each kind (picks, coins, latencies) as its own stream, clips a pick that no longer fits
    and, past the end of a stream, falls back to the simplest choice, as shrinking needs.
    Without a prefix the source generates: latencies from the timing model when ``timed``
    (else the channel's mean), coins from the seeded RNG, picks from the strategy.
    ``record`` keeps the sequence actually used in ``log``.
    """

    __slots__ = ("seed", "rng", "means", "_draw", "log", "_prefix", "_strict", "_pos", "_streams", "misfits")

    def __init__(
        self,
        seed: int,
        timing: TimingModel,
        timed: bool = True,
        record: bool = False,
        prefix: list[Choice] | None = None,
        strict: bool = True,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.means = timing.means()
        replaying = prefix is not None
        self._draw: dict[str, Callable[[], float]] | None = timing.samplers(self.rng) if timed and not replaying else None
        self.log: list[Choice] | None = [] if record or replaying else None
        self._prefix = prefix
        self._strict = strict
        self._pos = 0
        self._streams: dict[str, list[Choice]] = {}
        if replaying and not strict:
            for entry in prefix:  # type: ignore[union-attr]
                if isinstance(entry, list) and entry:
                    self._streams.setdefault(str(entry[0]), []).append(entry)
            self._streams = {k: v[::-1] for k, v in self._streams.items()}  # pop() from the end
        self.misfits = 0

    # ---- what the kernel asks -------------------------------------------------------------
    def direct_draws(self) -> dict[str, Callable[[], float]] | None:
        """The raw per-channel samplers when a draw needs neither recording nor replay."""
        return self._draw if self.log is None else None

    def latency(self, channel: str) -> float:
        entry = self._replayed("t") if self._prefix is not None else None
        if entry is not None:
            value = float(entry[1])
        elif self._draw is not None:
            value = self._draw[channel]()
        else:
            value = self.means[channel]
        if self.log is not None:
            self.log.append(["t", value])
        return value

    def chance(self, probability: float) -> bool:
        if self._prefix is not None:
            entry = self._replayed("c")
            hit = bool(entry[1]) if entry is not None else False
        else:
            hit = self.rng.random() < probability
        if self.log is not None:
            self.log.append(["c", int(hit)])
        return hit

    def pick(self, n: int, propose: Callable[[], int | None]) -> int | None:
        """Which of ``n`` enabled actors runs next: the prefix's, else the strategy's
        (``propose``; None ends the run)."""
        index: int | None
        if self._prefix is not None:
            entry = self._replayed("p")
            if entry is None:
                index = propose()
            else:
                index, recorded_n = int(entry[1]), int(entry[2])
                if self._strict and (recorded_n != n or not 0 <= index < n):
                    raise ReplayMismatch(
                        f"choice {self._pos - 1}: recorded pick {index} of {recorded_n} enabled actors, the model offers {n}"
                    )
                if index >= n:
                    self.misfits += 1
                    index = n - 1
        else:
            index = propose()
        if index is not None:
            self.note_pick(index, n)
        return index

    def crash(self, n: int, probability: float, propose: Callable[[], int] | None = None) -> int:
        """A crash choice point with ``n`` options (0 = no crash): the prefix's, else the
        strategy's (``propose``, when it enumerates crashes), else sampled: a crash with
        ``probability``, its kind uniform among the ``n - 1``."""
        if self._prefix is not None:
            entry = self._replayed("x")
            if entry is None:
                kind = 0
            else:
                kind, recorded_n = int(entry[1]), int(entry[2])
                if self._strict and (recorded_n != n or not 0 <= kind < n):
                    raise ReplayMismatch(
                        f"choice {self._pos - 1}: recorded crash {kind} of {recorded_n} options, the model offers {n}"
                    )
                if kind >= n:
                    self.misfits += 1
                    kind = 0
        elif propose is not None:
            kind = propose()
        else:
            rng = self.rng
            kind = 0 if rng.random() >= probability else 1 if n == 2 else 1 + rng.randrange(n - 1)
        if self.log is not None:
            self.log.append(["x", kind, n])
        return kind

    def note_pick(self, index: int, n: int) -> None:
        """Record a pick the kernel made without asking (time order under random timing)."""
        if self.log is not None:
            self.log.append(["p", index, n])

    # ---- replay --------------------------------------------------------------------------
    def replays(self, kind: str) -> bool:
        """Whether the prefix holds any entry of ``kind``."""
        return self._prefix is not None and any(isinstance(e, list) and e and e[0] == kind for e in self._prefix)

    def _replayed(self, kind: str) -> Choice | None:
        """The next recorded entry of ``kind``, or None to fall back (lenient only)."""
        if not self._strict:
            stream = self._streams.get(kind)
            if stream:
                return stream.pop()
            self.misfits += 1
            return None
        prefix = self._prefix
        assert prefix is not None
        i = self._pos
        if i >= len(prefix):
            raise ReplayMismatch(f"choice {i}: the recording ended but the model asked for more")
        entry = prefix[i]
        if not isinstance(entry, list) or not entry or entry[0] != kind:
            raise ReplayMismatch(f"choice {i}: recorded {entry!r}, the model asked for a {kind!r} entry")
        self._pos = i + 1
        return entry
