"""Fault injection: decides, at named steps of the models, whether a fault strikes.

Every decision is a coin flip from the run's choice source, so faulty runs replay too.
The models never see this module; they just have a round trip fail or never return.
"""

from __future__ import annotations

from racesim.models.ops import Op, StoreError
from racesim.sim.config import Faults

CRASH_WORKER = "crash-worker"  # one worker slot
CRASH_WORKER_PROCESS = "crash-worker-process"  # a worker process: all its slots and its consumer
CRASH_EXECUTOR = "crash-executor"  # an executor process: its listeners, scheduler and consumers

# step -> (fault, effect) checked before the op at that step executes
_STRIKES: dict[str, list[tuple[str, object]]] = {
    "W7": [("crash-before-publish", CRASH_WORKER)],  # first op after the terminal write
    "W6": [("crash-before-write", CRASH_WORKER)],
    "L4": [("executor-crash", CRASH_EXECUTOR)],
    "D6": [("publish-failure", "publish")],
    "D6'": [("publish-failure", "publish")],
    "H21": [("crash-after-commit", CRASH_EXECUTOR), ("publish-failure", "publish")],
    "P14": [("db-error", "db")],
}


class FaultInjector:
    def __init__(self, faults: Faults, chance) -> None:
        self._chance = chance
        self.by_step: dict[str, list[tuple[str, float, object]]] = {}
        for step, strikes in _STRIKES.items():
            for name, effect in strikes:
                p = faults.get(name)
                if p > 0:
                    self.by_step.setdefault(step, []).append((name, p, effect))
        self.fired: list[tuple[str, str]] = []  # (fault, actor) in order
        self.reached: dict[str, int] = {}  # fault -> times its point was checked (coverage)

    def check(self, actor_name: str, op: Op, may_crash: bool = True) -> object:
        """None, CRASH_WORKER, CRASH_EXECUTOR or a StoreError to raise in the actor.
        ``may_crash`` False: the actor's process cannot crash now, so no crash strike is
        a point here (an executor starting a workflow, ``World._starting``)."""
        strikes = self.by_step.get(op.step)
        if not strikes:
            return None
        for name, p, effect in strikes:
            if name == "publish-failure" and type(op).__name__ != "Publish":
                continue
            if not may_crash and (effect is CRASH_WORKER or effect is CRASH_EXECUTOR):
                continue
            self.reached[name] = self.reached.get(name, 0) + 1
            if self._chance(p):
                self.fired.append((name, actor_name))
                if effect == "publish":
                    return StoreError("publish failed", transport=True)
                if effect == "db":
                    return StoreError("database error")
                return effect
        return None
