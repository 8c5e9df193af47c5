"""Sweeps of many configurations. ``jobs`` > 1 is meant to fan out over worker processes
with results identical to ``jobs`` = 1 (same order, same digests)."""

from __future__ import annotations

from collections.abc import Callable

from racesim.runner import Summary, sweep
from sim.config import RunConfig


def run_sweeps(
    configs: list[RunConfig],
    seed: int,
    runs: int,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    strategy: str = "random",
    params: dict | None = None,
) -> list[Summary]:
    """One Summary per config, in the order given."""
    return [sweep(c, seed, runs, strategy, params, progress) for c in configs]
