"""A malformed `--cluster` address is bad input: exit 2 with one line, at once (no Dask
client half-built whose finaliser later prints a traceback after a 20 s close timeout)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("address", ["notanaddress", "tcp://host-without-port"])
def test_malformed_cluster_address_is_one_line_exit_2(address: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "racesim.cli", "run", "with-items-fanin", "--runs", "2", "--cluster", address],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"racesim: error: --cluster {address}: not a Dask scheduler address (expected tcp://HOST:PORT)"
    ]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert elapsed < 15
