"""`--cluster ADDRESS` runs a sweep's chunks on a dask.distributed cluster and gives the same
bytes as `--jobs 1`, even when a worker dies mid-sweep (its chunks run again elsewhere)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from racesim.engine import parallel
from racesim.engine.parallel import ClusterError, run_sweeps
from racesim.engine.runner import config_for
from racesim.models.guards import Guards

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with distributed.LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as c:
        yield c
        parallel.close_clients()  # before the scheduler goes away


def same(a, b) -> bool:
    return a.to_json() == b.to_json() and (a.digest, a.events, a.dispatch_histogram) == (
        b.digest,
        b.events,
        b.dispatch_histogram,
    )


def test_cluster_sweeps_equal_serial_ones(cluster, fanin) -> None:
    configs = [config_for(fanin, Guards.parse(g)) for g in ("none", "both")]
    ticks: list[int] = []
    on_cluster = run_sweeps(configs, 3, 37, progress=ticks.append, cluster=cluster.scheduler_address)
    assert sum(ticks) == 2 * 37
    assert all(same(a, b) for a, b in zip(run_sweeps(configs, 3, 37), on_cluster, strict=True))
    pct = {"depth": 2, "length": 200}
    serial = run_sweeps(configs[:1], 1, 20, strategy="pct", params=pct)
    assert same(serial[0], run_sweeps(configs[:1], 1, 20, strategy="pct", params=pct, cluster=cluster.scheduler_address)[0])


def test_cli_output_identical_to_jobs_1(cluster) -> None:
    args = [sys.executable, "-m", "racesim.cli", "run", "with-items-fanin", "--guards", "none", "--runs", "120", "--json"]
    one = subprocess.run(args, capture_output=True, text=True)
    on = subprocess.run([*args, "--cluster", cluster.scheduler_address], capture_output=True, text=True)
    assert one.returncode == on.returncode == 0, one.stderr + on.stderr
    assert one.stdout == on.stdout


def test_a_worker_killed_mid_sweep_changes_nothing(cluster, fanin) -> None:
    configs = [config_for(fanin, Guards.parse(g)) for g in ("none", "serialized")]
    client = parallel._get_client(cluster.scheduler_address)
    pids = client.run(os.getpid)
    killed: dict[str, object] = {}

    def kill_one_busy_worker(n: int) -> None:
        if killed:
            return
        busy = {w: keys for w, keys in client.processing().items() if keys}
        if not busy:
            return
        worker = sorted(busy)[0]
        killed["worker"], killed["chunks"] = worker, list(busy[worker])
        os.kill(pids[worker], signal.SIGKILL)  # the nanny starts a fresh worker process

    on_cluster = run_sweeps(configs, 1, 600, progress=kill_one_busy_worker, cluster=cluster.scheduler_address)
    assert killed["chunks"], "no worker was busy when the first chunk finished"
    assert all(same(a, b) for a, b in zip(run_sweeps(configs, 1, 600), on_cluster, strict=True))
    client.wait_for_workers(2, timeout=60)


def test_a_worker_running_other_code_is_refused(cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    parallel.close_clients()
    monkeypatch.setattr(parallel, "_identity", ("0.0.0", "3.0", "0" * 64))  # this process claims other code
    with pytest.raises(ClusterError, match="install the same racesim on every machine"):
        parallel._get_client(cluster.scheduler_address)
    assert not parallel._clients


def test_cluster_and_jobs_together_is_a_usage_error() -> None:
    args = ["run", "with-items-fanin", "--runs", "5", "--jobs", "2", "--cluster", "tcp://127.0.0.1:9"]
    r = subprocess.run([sys.executable, "-m", "racesim.cli", *args], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--cluster and --jobs" in r.stderr
