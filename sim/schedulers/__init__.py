"""Scheduling strategies: one interface (``base.Scheduler``), one file per strategy."""

from sim.schedulers.base import Scheduler
from sim.schedulers.dfs import DFS
from sim.schedulers.pct import PCT
from sim.schedulers.random_timing import RandomTiming
from sim.schedulers.replay import Replay

STRATEGIES: dict[str, type[Scheduler]] = {"random": RandomTiming, "replay": Replay, "pct": PCT, "dfs": DFS}

__all__ = ["STRATEGIES", "Scheduler", "RandomTiming", "Replay", "PCT", "DFS"]
