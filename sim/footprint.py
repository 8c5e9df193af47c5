"""Footprints for partial-order reduction: which shared resources an op reads and writes.

The resources of each op kind come from the op catalogue (``models.ops.CATALOGUE``); this
module adds only what depends on the run rather than the op:

- any op at a step where an active fault may strike conflicts with everything (a coin flip
  consumes the shared random stream, and a crash kills other actors);
- the action's run writes the random stream when outcomes are coin flips.

Two steps of different actors commute (are independent) when neither writes a resource the
other reads or writes. Time is not a resource: under controlled strategies each op takes its
mean latency and the clock only follows the chosen op. The one reader of the clock, the
stale-claim CAS (30 s), writes the row it reads, so it conflicts with every other access to
that row anyway.
"""

from __future__ import annotations

from racesim.models import ops
from racesim.models.ops import ALL, EVERYTHING, NONE, Footprint, Op, Resource

__all__ = ["ALL", "Context", "Footprint", "Resource", "dependent", "footprint"]


class Context:
    """The run-dependent part: the simulated DB's rows, the fault steps, coin-flip outcomes."""

    def __init__(self, rows: ops.RowIndex, fault_steps: frozenset[str] = frozenset(), random_outcomes: bool = False) -> None:
        self.rows = rows
        self.fault_steps = fault_steps
        self.random_outcomes = random_outcomes

    @classmethod
    def of_world(cls, world) -> Context:
        fault_steps: frozenset[str] = frozenset()
        if world.faults is not None:
            fault_steps = frozenset(world.faults.by_step)
        random_outcomes = any(o.fail_probability > 0 for _, o in world.config.outcomes)
        return cls(world.db, fault_steps, random_outcomes)


_RNG: Footprint = (NONE, frozenset({("rng",)}))


def footprint(op: Op, ctx: Context) -> Footprint:
    """(reads, writes) of ``op`` when executed now."""
    if op.step in ctx.fault_steps:
        return NONE, EVERYTHING
    if ctx.random_outcomes and type(op) is ops.RunAction:
        return _RNG
    return ops.footprint(op, ctx.rows)


def dependent(a: Footprint, b: Footprint) -> bool:
    """True when two steps may not commute."""
    ra, wa = a
    rb, wb = b
    if ALL in wa or ALL in wb:
        return True
    return not (wa.isdisjoint(wb) and wa.isdisjoint(rb) and ra.isdisjoint(wb))
