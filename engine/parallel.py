"""Sweeps of many configurations, serially, over worker processes or on a Dask cluster.

``jobs`` > 1 splits every configuration's seeds into chunks and runs them in a pool of
spawned worker processes; ``cluster`` (a ``dask.distributed`` scheduler address) runs the
same chunks as Dask tasks on that cluster's workers. Either way a chunk sends back one
compact record per run (seed, digest, step count, verdict) and the parent feeds them to
``Summary.add`` in chunk order, i.e. seed order, so every count, digest and dict ordering
is the one ``jobs`` = 1 produces, whatever order or place chunks finish in. Merging through
``Summary.add`` itself (rather than adding up partial summaries) keeps the paths identical
by construction as ``Summary`` evolves.

A chunk is a pure function of (configuration, first seed, count, strategy): when a Dask
worker dies mid-chunk, the scheduler runs the chunk again elsewhere and gets the same
records, so a lost worker changes the wall time, never the result.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import multiprocessing
import os
import platform
import signal
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from racesim.engine.runner import RunResult, Summary, sweep, sweep_run
from racesim.sim import coverage
from racesim.sim.checkers import Verdict
from racesim.sim.config import RunConfig
from racesim.sim.coverage import RunCoverage

from racesim import __version__ as RACESIM_VERSION

# Runs per chunk: small enough to balance two workers and move the progress bar about
# every half second, large enough that pickling a config per chunk is noise.
MAX_CHUNK = 100
# A Dask task costs milliseconds of scheduler and client work (a pool task, microseconds):
# cluster chunks may be ten times larger, so that overhead stays a few percent of a sweep.
CLUSTER_MAX_CHUNK = 1000
CHUNKS_PER_JOB = 4
# Chunks in flight per worker: bounds parent memory on multi-million-run sweeps.
IN_FLIGHT_PER_JOB = 4


@dataclass(frozen=True, slots=True)
class _Steps:
    """Stands in for ``RunOutput``: ``Summary.add`` reads only ``steps`` and the run's
    coverage (``run_coverage``) from it."""

    steps: int
    run_coverage: RunCoverage


# (seed, digest, steps, verdict, coverage): what Summary.add needs from one run, without the world.
Compact = tuple[int, str, int, Verdict, RunCoverage]


def _run_chunk(config: RunConfig, start: int, count: int, strategy: str, params: dict | None) -> list[Compact]:
    """Worker side: seeds ``start .. start + count - 1``, exactly as ``sweep`` runs them."""
    out: list[Compact] = []
    for s in range(start, start + count):
        r = sweep_run(config, s, strategy, params)
        out.append((r.seed, r.digest, r.output.steps, r.verdict, coverage.of_output(r.output)))
    return out


def chunks(seed: int, runs: int, jobs: int, cap: int = MAX_CHUNK) -> list[tuple[int, int]]:
    """``(start, count)`` pairs covering ``seed .. seed + runs - 1`` in order, at most
    ``cap`` seeds each (chunking never changes a result: records merge in seed order)."""
    size = max(1, min(cap, -(-runs // (jobs * CHUNKS_PER_JOB))))
    return [(s, min(size, seed + runs - s)) for s in range(seed, seed + runs, size)]


_pool: ProcessPoolExecutor | None = None
_pool_jobs = 0


def _get_pool(jobs: int) -> ProcessPoolExecutor:
    """One pool per process, reused across calls (``check`` sweeps once per expect entry)."""
    global _pool, _pool_jobs
    if _pool is None or _pool_jobs != jobs:
        shutdown_pool()
        _exit_cleanly_on_sigterm()
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


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM's default action ends the parent at once: the pool's queues and locks are
    never released and the resource tracker prints a leaked-semaphore warning. Turn it into
    SystemExit (exit status 143, as a signal death reports) so the sweep's cleanup and the
    pool's shutdown run. Only when nobody installed a handler, and only from the main thread."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def map_in_order(fn: Callable[[Any], Any], items: list, jobs: int = 1) -> list:
    """``fn`` over ``items`` in this process (``jobs`` <= 1) or in the worker pool, results in
    item order either way (``fn`` must be a module-level function)."""
    if jobs <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    try:
        return list(_get_pool(jobs).map(fn, items, chunksize=max(1, len(items) // (jobs * CHUNKS_PER_JOB))))
    except BaseException:
        _discard_pool()
        raise


def run_sweeps(
    configs: list[RunConfig],
    seed: int,
    runs: int,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    strategy: str = "random",
    params: dict | None = None,
    cluster: str | None = None,
) -> list[Summary]:
    """One Summary per config, in the order given; identical for every ``jobs`` and for
    any ``cluster`` (a Dask scheduler address; ``jobs`` is then ignored)."""
    if cluster is not None:
        client = _get_client(cluster)
        width = max(1, sum(client.nthreads().values()))
        return _merged(configs, seed, runs, width, _DaskRunner(client), strategy, params, progress, CLUSTER_MAX_CHUNK)
    if jobs <= 1 or runs * len(configs) <= 1:
        return [sweep(c, seed, runs, strategy, params, progress) for c in configs]
    try:
        return _merged(configs, seed, runs, jobs, _PoolRunner(_get_pool(jobs)), strategy, params, progress)
    except BaseException:
        # A worker's exception, a dead worker or Ctrl-C: drop queued chunks rather than
        # finish them, and let the next call start a fresh pool.
        _discard_pool()
        raise


def _merged(
    configs: list[RunConfig],
    seed: int,
    runs: int,
    width: int,
    runner: _Runner,
    strategy: str,
    params: dict | None,
    progress: Callable[[int], None] | None,
    cap: int = MAX_CHUNK,
) -> list[Summary]:
    """Split every config's seeds into chunks for ``width`` parallel slots, run them with
    ``runner`` and merge the records in chunk order."""
    summaries = [Summary(c.scenario, c.guards.name, runs, seed, c.deployment, c.faults, strategy) for c in configs]
    work = [(i, start, count) for i in range(len(configs)) for start, count in chunks(seed, runs, width, cap)]
    for i, results in _in_order(runner, work, configs, strategy, params, width, progress):
        summary = summaries[i]
        for s, digest, steps, verdict, cov in results:
            summary.add(RunResult(s, _Steps(steps, cov), verdict, digest))  # type: ignore[arg-type]
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


class _Runner:
    """Where chunks run: ``submit`` one, ``wait_any`` until at least one has finished,
    ``result`` (re-raising the chunk's exception), ``cancel`` the rest on an error."""

    def submit(self, config: RunConfig, start: int, count: int, strategy: str, params: dict | None) -> Any:
        raise NotImplementedError

    def wait_any(self, futures: Collection[Any]) -> set[Any]:
        raise NotImplementedError

    def result(self, future: Any) -> list[Compact]:
        return future.result()

    def cancel(self, futures: Collection[Any]) -> None:
        for f in futures:
            f.cancel()


class _PoolRunner(_Runner):
    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool

    def submit(self, config: RunConfig, start: int, count: int, strategy: str, params: dict | None) -> Any:
        return self.pool.submit(_run_chunk, config, start, count, strategy, params)

    def wait_any(self, futures: Collection[Any]) -> set[Any]:
        return wait(futures, return_when=FIRST_COMPLETED).done

    def cancel(self, futures: Collection[Any]) -> None:
        # Left to the pool's own shutdown(cancel_futures=True) in _discard_pool: a future
        # cancelled from outside while its worker is being terminated makes the pool's
        # manager thread fail (InvalidStateError) when it marks the future broken.
        pass


class _DaskRunner(_Runner):
    def __init__(self, client: Any) -> None:
        from distributed import as_completed

        self.client = client
        self.sweep = uuid.uuid4().hex  # task keys unique per sweep: nothing is served from an old result
        self.count = 0
        self.finished = as_completed(loop=client.loop)  # this client's, not a process-wide default

    def submit(self, config: RunConfig, start: int, count: int, strategy: str, params: dict | None) -> Any:
        self.count += 1
        key = f"racesim-chunk-{self.sweep}-{self.count}"
        future = self.client.submit(_run_chunk, config, start, count, strategy, params, key=key, pure=False)
        self.finished.add(future)
        return future

    def wait_any(self, futures: Collection[Any]) -> set[Any]:
        from distributed import KilledWorker

        try:
            first = next(self.finished)  # blocks; raises a failed chunk's exception
        except KilledWorker as exc:
            raise ClusterError(
                f"a chunk was running on every worker that died ({exc}); the scheduler gave up on it "
                "after distributed.scheduler.allowed-failures deaths"
            ) from None
        return {first, *self.finished.next_batch(block=False)}

    def cancel(self, futures: Collection[Any]) -> None:
        if futures:
            self.client.cancel(list(futures))


def _in_order(
    runner: _Runner,
    work: list[tuple[int, int, int]],
    configs: list[RunConfig],
    strategy: str,
    params: dict | None,
    width: int,
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[int, list[Compact]]]:
    """Yield ``(config index, chunk results)`` in ``work`` order, keeping a bounded window
    of chunks in flight; progress advances as chunks finish, in whatever order."""
    window = width * IN_FLIGHT_PER_JOB
    pending: dict[int, Any] = {}
    done: dict[int, list[Compact]] = {}
    submitted = 0
    emitted = 0
    try:
        while emitted < len(work):
            while submitted < len(work) and len(pending) + len(done) < window:
                i, start, count = work[submitted]
                pending[submitted] = runner.submit(configs[i], start, count, strategy, params)
                submitted += 1
            if emitted not in done:
                finished = runner.wait_any(pending.values())
                for k in [k for k, f in pending.items() if f in finished]:
                    results = runner.result(pending.pop(k))  # re-raises a chunk's exception here
                    done[k] = results
                    if progress is not None:
                        progress(len(results))
            while emitted in done:
                yield work[emitted][0], done.pop(emitted)
                emitted += 1
    except BaseException:
        runner.cancel(list(pending.values()))
        raise


# ---- Dask ------------------------------------------------------------------------------------
class ClusterError(RuntimeError):
    """The cluster cannot run this sweep (unreachable, no workers, another racesim)."""


CONNECT_TIMEOUT = "10s"
_clients: dict[str, Any] = {}


def _get_client(address: str) -> Any:
    """One client per scheduler address and process, checked once: every worker must run
    exactly this racesim code (same results) on the same Python minor version."""
    client = _clients.get(address)
    if client is not None and client.status == "running":
        return client
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("--cluster needs dask.distributed: pip install 'racesim[cluster]'") from None
    _check_address(address)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"--cluster {address}: cannot reach a Dask scheduler ({_reason(exc)})") from None
    try:
        _check_workers(client, address)
    except BaseException:
        client.close()
        raise
    _clients[address] = client
    return client


def _check_address(address: str) -> None:
    """Refuse a malformed address before a Client exists: a Client that fails while parsing
    it is left half-built, and its finaliser later blocks 20 s and prints a traceback."""
    from distributed.comm import get_address_host_port, parse_address

    try:
        scheme, _ = parse_address(address)
        if scheme in ("tcp", "tls"):
            get_address_host_port(address)
    except ValueError:
        raise ClusterError(f"--cluster {address}: not a Dask scheduler address (expected tcp://HOST:PORT)") from None


def _check_workers(client: Any, address: str) -> None:
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"--cluster {address}: no worker joined the scheduler ({_reason(exc)})") from None
    mine = code_identity()
    try:
        theirs = client.run(code_identity)
    except Exception as exc:  # a worker that cannot import racesim fails to unpickle the function
        raise ClusterError(f"--cluster {address}: a worker cannot run racesim ({_reason(exc)})") from None
    for worker, identity in sorted(theirs.items()):
        if identity != mine:
            raise ClusterError(
                f"--cluster {address}: worker {worker} runs racesim {identity[0]} on Python {identity[1]} "
                f"(code {identity[2][:12]}), this process racesim {mine[0]} on Python {mine[1]} (code {mine[2][:12]}): "
                "install the same racesim on every machine"
            )


def _reason(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


_identity: tuple[str, str, str] | None = None


def code_identity() -> tuple[str, str, str]:
    """(racesim version, Python major.minor, SHA-256 of the simulation's source): two
    processes with equal identities produce the same records for the same chunk."""
    global _identity
    if _identity is None:
        h = hashlib.sha256()
        for layer in ("models", "sim", "scenarios", "engine"):
            package = importlib.import_module(f"racesim.{layer}")
            root = Path(package.__path__[0])
            for path in sorted(root.rglob("*.py")):
                h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        _identity = (RACESIM_VERSION, ".".join(platform.python_version_tuple()[:2]), h.hexdigest())
    return _identity


def close_clients() -> None:
    for client in _clients.values():
        client.close()
    _clients.clear()


atexit.register(close_clients)
