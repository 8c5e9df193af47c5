"""`--jobs N` gives the same bytes as `--jobs 1`: every digest, count and the output order."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from racesim.engine.parallel import chunks, run_sweeps
from racesim.engine.runner import config_for
from racesim.models.guards import Guards


def racesim(*args: str, hashseed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    return subprocess.run([sys.executable, "-m", "racesim.cli", *args], capture_output=True, text=True, env=env)


def test_run_json_identical_for_jobs_1_and_2():
    args = ["run", "with-items-fanin", "--guards", "none", "--runs", "150", "--seed", "7", "--json"]
    one, two = racesim(*args, "--jobs", "1"), racesim(*args, "--jobs", "2", hashseed="4242")
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert one.stdout == two.stdout


def test_matrix_json_identical_for_jobs_1_and_2():
    args = ["matrix", "with-items-fanin", "--runs", "50", "--replicas", "1,2", "--json"]
    one, two = racesim(*args, "--jobs", "1", hashseed="1"), racesim(*args, "--jobs", "2", hashseed="2")
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert one.stdout == two.stdout
    assert len(one.stdout) > 1000


def test_summaries_identical_in_process_with_uneven_chunks(fanin):
    # 3 jobs and 37 runs: chunks of unequal size, finishing out of order.
    configs = [config_for(fanin, Guards.parse(g)) for g in ("none", "both")]
    ticks: list[int] = []
    serial = run_sweeps(configs, 3, 37, jobs=1)
    parallel = run_sweeps(configs, 3, 37, jobs=3, progress=ticks.append)
    assert sum(ticks) == 2 * 37
    for a, b in zip(serial, parallel, strict=True):
        assert a.to_json() == b.to_json()
        assert list(a.by_task) == list(b.by_task) and list(a.first_seed) == list(b.first_seed)
        assert (a.digest, a.events, a.dispatch_histogram) == (b.digest, b.events, b.dispatch_histogram)


def test_chunks_cover_the_seeds_in_order():
    for seed, runs, jobs in ((1, 1, 2), (5, 37, 3), (1, 20_000, 2)):
        got = [s for start, count in chunks(seed, runs, jobs) for s in range(start, start + count)]
        assert got == list(range(seed, seed + runs))


def test_worker_errors_surface_and_the_pool_recovers(fanin):
    config = config_for(fanin, Guards.parse("none"))
    with pytest.raises(ValueError, match="unknown strategy"):
        run_sweeps([config], 1, 10, jobs=2, strategy="no-such-strategy")
    assert run_sweeps([config], 1, 10, jobs=2)[0].digest == run_sweeps([config], 1, 10, jobs=1)[0].digest


@pytest.mark.slow
def test_sigterm_during_a_parallel_sweep_exits_cleanly():
    """SIGTERM while `--jobs 2` runs: exit 143 with no leaked-semaphore warning or traceback."""
    import signal
    import time

    args = [sys.executable, "-m", "racesim.cli", "run", "with-items-fanin", "--runs", "100000", "--jobs", "2", "--json"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(_children(proc.pid)) < 3 and time.monotonic() < deadline:  # two workers + the resource tracker
        time.sleep(0.2)
    time.sleep(1.0)  # chunks are running
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert out == "" and "leaked" not in err and "Traceback" not in err, err


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out
