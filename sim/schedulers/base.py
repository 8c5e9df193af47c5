"""The one seam between running the models and choosing who runs next (as in Shuttle).

The world tells the scheduler when an actor has a new op ready (``ready``) and asks it
which ready actor goes next (``next``). A strategy never touches the models or the stores.
Every choice it makes is noted in the run's choice sequence as an index into
``world.enabled_order()``, so any run can be replayed and shrunk by ``Replay``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from racesim.sim.world import Actor, World


class Scheduler(ABC):
    name = "base"
    #: True: op latencies come from the scenario's timing model (drawn); False: each op
    #: takes its distribution's mean, and the strategy alone decides the order.
    timed = False

    def attach(self, world: World) -> None:
        self.world = world

    @abstractmethod
    def ready(self, actor: Actor) -> None:
        """``actor`` has a new op, ready at ``actor.ready_at``."""

    @abstractmethod
    def next(self) -> Actor | None:
        """The actor whose op runs next, or None when no actor can run (quiescence)."""

    def params(self) -> dict:
        """Strategy parameters that a schedule file must carry to reproduce a run."""
        return {}


class ControlledScheduler(Scheduler):
    """Base for strategies that choose freely among every ready actor (PCT, DFS, replay):
    time only orders nothing; the clock just follows the chosen op's ready time."""

    def ready(self, actor: Actor) -> None:
        pass

    def next(self) -> Actor | None:
        world = self.world
        if not world.pending:
            return None
        enabled = world.enabled_order()
        index = self.choose(enabled)
        actor = enabled[index]
        if actor.ready_at > world.env.now:
            # simpy has no public clock setter, and run(until=t) may land one ulp off t;
            # an exact clock is what lets a replay reproduce the recorded trace bit for bit.
            world.env._now = actor.ready_at
        return actor

    @abstractmethod
    def choose(self, enabled: list[Actor]) -> int:
        """Index into ``enabled`` (canonical order; 0 = keep running the current actor).
        Must record the choice with ``self.world.source``."""
