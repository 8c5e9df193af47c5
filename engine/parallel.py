"""Sweeps of many configurations, serially or over worker processes.

``jobs`` > 1 splits every configuration's seeds into chunks and runs them in a pool of
spawned worker processes. Workers send back one compact record per run (seed, digest,
step count, verdict); the parent feeds them to ``Summary.add`` in seed order, so every
count, digest and dict ordering is the one ``jobs`` = 1 produces, whatever order chunks
finish in. Merging through ``Summary.add`` itself (rather than adding up partial
summaries) keeps the two paths identical by construction as ``Summary`` evolves.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

from racesim.engine.runner import RunResult, Summary, run_one, sweep
from racesim.sim.checkers import Verdict
from racesim.sim.config import RunConfig

# Runs per chunk: small enough to balance two workers and move the progress bar about
# every half second, large enough that pickling a config per chunk is noise.
MAX_CHUNK = 100
CHUNKS_PER_JOB = 4
# Chunks in flight per worker: bounds parent memory on multi-million-run sweeps.
IN_FLIGHT_PER_JOB = 4


@dataclass(frozen=True, slots=True)
class _Steps:
    """Stands in for ``RunOutput``: ``Summary.add`` reads only ``steps`` from it."""

    steps: int


# (seed, digest, steps, verdict): what Summary.add needs from one run, without the world.
Compact = tuple[int, str, int, Verdict]


def _run_chunk(config: RunConfig, start: int, count: int, strategy: str, params: dict | None) -> list[Compact]:
    """Worker side: seeds ``start .. start + count - 1``, exactly as ``sweep`` runs them."""
    out: list[Compact] = []
    for s in range(start, start + count):
        r = run_one(config, s, strategy, params)
        out.append((r.seed, r.digest, r.output.steps, r.verdict))
    return out


def chunks(seed: int, runs: int, jobs: int) -> list[tuple[int, int]]:
    """``(start, count)`` pairs covering ``seed .. seed + runs - 1`` in order."""
    size = max(1, min(MAX_CHUNK, -(-runs // (jobs * CHUNKS_PER_JOB))))
    return [(s, min(size, seed + runs - s)) for s in range(seed, seed + runs, size)]


_pool: ProcessPoolExecutor | None = None
_pool_jobs = 0


def _get_pool(jobs: int) -> ProcessPoolExecutor:
    """One pool per process, reused across calls (``check`` sweeps once per expect entry)."""
    global _pool, _pool_jobs
    if _pool is None or _pool_jobs != jobs:
        shutdown_pool()
        # spawn, not fork: the parent may be running rich's refresh thread or pytest, and
        # the workers need nothing from the parent's memory (a RunConfig pickles in ~1 KB).
        ctx = multiprocessing.get_context("spawn")
        _pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),))
        _pool_jobs = jobs
    return _pool


def _worker_init(parent: int) -> None:
    # Ctrl-C reaches the whole process group; the parent alone handles it (cancels queued
    # chunks), so workers do not each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed outright (SIGTERM/SIGKILL, CI timeout) never shuts the pool down, and an
    # idle worker would wait on its queue forever: exit once the parent is gone.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def shutdown_pool() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


atexit.register(shutdown_pool)


def run_sweeps(
    configs: list[RunConfig],
    seed: int,
    runs: int,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    strategy: str = "random",
    params: dict | None = None,
) -> list[Summary]:
    """One Summary per config, in the order given; identical for every ``jobs``."""
    if jobs <= 1 or runs * len(configs) <= 1:
        return [sweep(c, seed, runs, strategy, params, progress) for c in configs]
    summaries = [Summary(c.scenario, c.guards.name, runs, seed, c.deployment, c.faults, strategy) for c in configs]
    work = [(i, start, count) for i in range(len(configs)) for start, count in chunks(seed, runs, jobs)]
    pool = _get_pool(jobs)
    try:
        for i, results in _in_order(pool, work, configs, strategy, params, jobs, progress):
            summary = summaries[i]
            for s, digest, steps, verdict in results:
                summary.add(RunResult(s, _Steps(steps), verdict, digest))  # type: ignore[arg-type]
    except BaseException:
        # A worker's exception, a dead worker or Ctrl-C: drop queued chunks rather than
        # finish them, and let the next call start a fresh pool.
        _discard_pool()
        raise
    return summaries


def _discard_pool() -> None:
    global _pool
    if _pool is not None:
        # Chunks already handed to workers cannot be cancelled, and exit would wait for them
        # (seconds on a loaded machine): stop the workers. ``_processes`` is private but
        # stable since 3.2; Python 3.14's ``terminate_workers()`` is the public spelling.
        for proc in list((getattr(_pool, "_processes", None) or {}).values()):
            proc.terminate()
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def _in_order(
    pool: ProcessPoolExecutor,
    work: list[tuple[int, int, int]],
    configs: list[RunConfig],
    strategy: str,
    params: dict | None,
    jobs: int,
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[int, list[Compact]]]:
    """Yield ``(config index, chunk results)`` in ``work`` order, keeping a bounded window
    of chunks in flight; progress advances as chunks finish, in whatever order."""
    window = jobs * IN_FLIGHT_PER_JOB
    pending: dict[int, Future[list[Compact]]] = {}
    done: dict[int, list[Compact]] = {}
    submitted = 0
    emitted = 0
    while emitted < len(work):
        while submitted < len(work) and len(pending) + len(done) < window:
            i, start, count = work[submitted]
            pending[submitted] = pool.submit(_run_chunk, configs[i], start, count, strategy, params)
            submitted += 1
        if emitted not in done:
            finished, _ = wait(pending.values(), return_when=FIRST_COMPLETED)
            for k in [k for k, f in pending.items() if f in finished]:
                results = pending.pop(k).result()  # re-raises a worker's exception here
                done[k] = results
                if progress is not None:
                    progress(len(results))
        while emitted in done:
            yield work[emitted][0], done.pop(emitted)
            emitted += 1
