"""Scheduling strategies: one interface (``base.Scheduler``), one file per strategy."""

from racesim.sim.schedulers.base import Scheduler
from racesim.sim.schedulers.dfs import DFS
from racesim.sim.schedulers.pct import PCT
from racesim.sim.schedulers.random_timing import RandomTiming
from racesim.sim.schedulers.replay import Replay

STRATEGIES: dict[str, type[Scheduler]] = {"random": RandomTiming, "replay": Replay, "pct": PCT, "dfs": DFS}

__all__ = ["STRATEGIES", "Scheduler", "RandomTiming", "Replay", "PCT", "DFS"]
