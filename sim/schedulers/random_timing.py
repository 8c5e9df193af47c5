"""``random``: seeded timing. Each op's latency is drawn from the scenario's timing model
and simpy's event heap runs the earliest op first; equal times run in issue order."""

from __future__ import annotations

from simpy.events import Timeout

from sim.schedulers.base import Scheduler


class RandomTiming(Scheduler):
    name = "random"
    timed = True

    def attach(self, world) -> None:
        super().attach(world)
        self._env = world.env
        self._fired = None
        self._fire = self._on_fire
        self._log = world.source.log is not None

    def _on_fire(self, event: Timeout) -> None:
        self._fired = event._value

    def ready(self, actor) -> None:
        env = self._env
        event = Timeout(env, actor.delay, (actor, actor.ticket))
        event.callbacks.append(self._fire)

    def next(self):
        env = self._env
        queue = env._queue  # simpy's heap: (time, priority, insertion id, event)
        while queue:
            env.step()
            actor, ticket = self._fired
            if actor.alive and actor.ticket == ticket:
                if self._log:
                    enabled = self.world.enabled_order()
                    self.world.source.note_pick(enabled.index(actor), len(enabled))
                return actor
        return None
