"""The one seam between running the models and choosing who runs next (after Shuttle's
``Scheduler``: ``next_task(runnable, current)``, ``next_u64()``, ``new_execution()``).

A strategy answers two questions and nothing else:

- ``new_execution(seed)``: a run starts (a strategy keeps its own state across runs and
  resets what is per run here);
- ``choose(enabled, current)``: which of the enabled actors' pending ops completes next,
  as an index into ``enabled`` (canonical order: ``current`` first when it can go on,
  then the others by actor id; 0 = no preemption), or None to end the run.

A third, optional question is the crash choice point (``crash_budget``, ``choose_crash``):
a strategy that enumerates crashes (dfs ``--crashes N``) decides, at each yield point of a
crashable actor, whether and how it crashes.

Values (latencies, coins, sampled crash points) are never drawn by a strategy: the kernel draws
them from the run's ``ChoiceSource``, which also records every pick, so any run replays
and shrinks. A strategy never touches the models or the stores.

``controls_order`` False (random timing) means the strategy's choice rule *is* time order:
each op completes at its drawn latency and simpy's event queue runs the earliest first
(equal times in issue order); ``choose`` is then never called. ``timed`` says whether
latencies are drawn from the scenario's timing model or taken as each channel's mean.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from racesim.sim.world import Actor, World


class Strategy(ABC):
    name = "base"
    #: latencies from the scenario's timing model (True) or each channel's mean (False)
    timed = False
    #: True: ``choose`` decides every step; False: simpy's time order decides
    controls_order = True

    def attach(self, world: World) -> None:
        """The world this execution runs in (read-only for the strategy)."""
        self.world = world

    def detach(self) -> None:
        """The run has ended: drop the world (a finished run is freed as soon as its caller
        drops it, and the strategy never holds one run's world into the next)."""
        self.world = None  # type: ignore[assignment]

    def new_execution(self, seed: int) -> None:  # noqa: B027 - most strategies keep no per-run state
        """A run with ``seed`` starts; reset per-run state here."""

    @abstractmethod
    def choose(self, enabled: Sequence[Actor], current: Actor | None) -> int | None:
        """Index into ``enabled`` of the op that completes next; None ends the run."""

    #: True: ``choose_actor`` makes the same choice as ``choose`` straight from the pending
    #: actors, without the canonical order (no sort per step); the kernel uses it when the
    #: pick's index is neither recorded nor replayed
    unordered = False

    def choose_actor(self, pending: dict[int, Actor], current: Actor | None) -> Actor:
        """The actor ``choose`` would pick from ``pending`` (actor id -> actor)."""
        raise NotImplementedError

    #: crashes this strategy chooses itself per run (dfs ``--crashes N``): while fewer have
    #: happened, the kernel offers ``choose_crash`` at every yield point of a crashable actor
    crash_budget = 0

    def choose_crash(self, actor: Actor, n: int) -> int:
        """At ``actor``'s yield point: 0 = no crash, ``k`` in 1..n-1 = the crash
        ``world.crash_options(actor)[k - 1]``. Only asked while the budget lasts."""
        return 0

    def params(self) -> dict:
        """Strategy parameters that a schedule file must carry to reproduce a run."""
        return {}


# The names the rest of the code used before the seam was narrowed.
Scheduler = Strategy
ControlledScheduler = Strategy
