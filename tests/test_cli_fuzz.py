"""Fuzzing the command line: Hypothesis draws invocations over every command's arguments
(valid, edge and hostile values, output paths onto directories, FIFOs, symlinks, read-only
files and missing parents) and runs each in-process with click's CliRunner, twice, in a
fresh sandbox at the same path. Every invocation must:

- exit 0, 1 or 2, and never with a traceback;
- leave the sandbox exactly as it was when it exits 2 (bad input costs nothing);
- print the same bytes and write the same files the second time.

The fast lane draws a few dozen invocations; the slow test draws 1,000.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from racesim.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SCHEDULE_SOURCE = ["run", "with-items-fanin", "--guards", "none", "--runs", "6"]

# ---- values -------------------------------------------------------------------------------------
SCENARIOS = ["with-items-fanin", "fanin-2x2", "join-barrier", "my scen.yaml", "bad.yaml", "dir", "missing.yaml",
             "notes.txt", "nope", "", "-", "\u202e.yaml"]  # fmt: skip
SCHEDULES = ["sched.json", "deep.json", "dup.json", "my scen.yaml", "dir", "missing.json", "fifo", ""]
WORKFLOWS = [str(ROOT / "tests/data/attune/standalone.yaml"), str(ROOT / "tests/data/attune/unsupported.yaml"),
             "bad.yaml", "dir", "missing.yaml"]  # fmt: skip
OUT_FILES = ["out.html", "sub/out.json", "dir", "fifo", "ro.html", "missing/x.html", ".", "link-file", "link-fifo",
             "dangling", "sched.json", "", "sub/", "my scen.yaml"]  # fmt: skip
OUT_DIRS = ["saved", "sub", "dir", "fifo", "ro.html", "missing/deeper", ".", "link-file", ""]
RUNS = ["-1", "0", "1", "2", "3", "x", "10000001"]
SEEDS = ["-5", "0", "1", "2", "4", "x", "99999999999999999999"]
SMALL = ["-1", "0", "1", "2", "3", "64", "65", "1001", "x", ""]
GUARDS = ["none", "both", "serialized", "head", "layer1+lock", "release-one", "head+no-reconcile", "nope", ",",
          "none,both", "", "pre", "+"]  # fmt: skip
FAULTS = ["none", "crash-before-publish", "executor-crash=0.5", "db-error=1", "bogus", "crash-before-publish=2", ",", ""]
LISTS = ["1", "2", "1,2", "0", "x", ",", "65", ""]

COMMON_RUN = {
    "--guards": GUARDS,
    "--seed": SEEDS,
    "--runs": RUNS,
    "--faults": FAULTS,
    "--prefetch": SMALL,
    "--workers": SMALL,
    "--jobs": ["0", "1", "65", "x"],
    "--html": OUT_FILES,
}
OPTIONS: dict[str, dict[str, list[str] | None]] = {
    "run": {
        **COMMON_RUN,
        "--replicas": SMALL,
        "--listeners": SMALL,
        "--worker-slots": SMALL,
        "--trace-json": OUT_FILES,
        "--save-failing": OUT_DIRS,
        "--json": None,
        "--trace": None,
        "--expect-zero": None,
    },  # fmt: skip
    "matrix": {
        **COMMON_RUN,
        "--replicas": LISTS,
        "--listeners": LISTS,
        "--versions": ["pre,fix", "head", "x", ","],
        "--trace-json": OUT_FILES,
        "--json": None,
        "--minimal": None,
    },  # fmt: skip
    "explore": {
        **COMMON_RUN,
        "--strategy": ["random", "pct", "dfs", "replay", "x"],
        "--depth": SMALL,
        "--preemption-bound": ["-1", "0", "1", "2", "x"],
        "--max-schedules": ["0", "1", "5", "x"],
        "--task": ["validate", "process_items", "nope", ""],
        "--replicas": SMALL,
        "--listeners": SMALL,
        "--worker-slots": SMALL,
        "--save-failing": OUT_DIRS,
        "--shrink": None,
        "--no-por": None,
        "--json": None,
    },  # fmt: skip
    "check": {
        "--runs": RUNS,
        "--seed": SEEDS,
        "--strategy": ["random", "pct", "replay", "x"],
        "--jobs": ["0", "1", "x"],
        "--junit": OUT_FILES,
    },  # fmt: skip
    "replay": {"--html": OUT_FILES, "--json": None},
    "shrink": {"--output": OUT_FILES, "--max-runs": ["-1", "0", "1", "3", "x"]},
    "validate": {},
    "import": {"--output": OUT_FILES, "--items": ["process_items=3", "x=1", "=", "process_items=-1", "a"]},
    "list": {},
    "init": {"--from": WORKFLOWS, "--template": ["fanin", "x", ""], "--items": ["process_items=3", "x"], "--lenient": None},
    "audit": {
        "--versions": ["pre", "head", "pre,fix", "x", ","],
        "--replicas": LISTS,
        "--listeners": LISTS,
        "--runs": RUNS,
        "--seed": SEEDS,
        "--items": ["2", "process_items=3", "x", "0"],
        "--strict": None,
        "--jobs": ["0", "1", "x"],
        "--json": None,
        "--html": OUT_DIRS,
        "--fail-on": ["safety", "liveness", "none", "all", "x"],
    },  # fmt: skip
}
# Work caps put first: an option given twice takes its last value, so a drawn value still wins.
CAPS = {
    "run": ["--runs", "2", "--jobs", "1"],
    "matrix": ["--runs", "2", "--jobs", "1"],
    "explore": ["--runs", "2", "--jobs", "1", "--max-schedules", "5"],
    "check": ["--runs", "2", "--jobs", "1"],
    "shrink": ["--max-runs", "3"],
    "audit": ["--runs", "2", "--jobs", "1", "--versions", "pre,head", "--replicas", "1"],
}
POSITIONAL = {"run": SCENARIOS, "matrix": SCENARIOS, "explore": SCENARIOS, "check": SCENARIOS, "validate": SCENARIOS,
              "replay": SCHEDULES, "shrink": SCHEDULES, "import": WORKFLOWS, "list": [], "init": ["new.yaml", *OUT_FILES],
              "audit": WORKFLOWS}  # fmt: skip


@st.composite
def invocations(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(OPTIONS)))
    argv = [command, *CAPS.get(command, [])]
    if POSITIONAL[command]:
        argv += draw(st.lists(st.sampled_from(POSITIONAL[command]), min_size=0 if command == "check" else 1, max_size=2))
    options = OPTIONS[command]
    for flag in draw(st.lists(st.sampled_from(sorted(options)), max_size=5, unique=True)) if options else []:
        values = options[flag]
        argv += [flag] if values is None else [flag, draw(st.sampled_from(values))]
    return argv


# ---- the sandbox --------------------------------------------------------------------------------
class Schedule(str):
    """A saved schedule's text, shown by its length in Hypothesis' falsifying examples."""

    def __repr__(self) -> str:
        return f"<schedule, {len(self)} characters>"


@pytest.fixture(scope="module")
def schedule_text(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("source")
    r = CliRunner().invoke(cli, [*SCHEDULE_SOURCE, "--save-failing", str(d)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return Schedule(sorted(d.glob("*.json"))[0].read_text())


def build_sandbox(root: Path, schedule: str) -> None:
    if root.exists():
        for p in root.rglob("*"):
            if not p.is_symlink() and p.is_file():
                p.chmod(0o644)
        shutil.rmtree(root)
    root.mkdir()
    (root / "dir").mkdir()
    (root / "sub").mkdir()
    os.mkfifo(root / "fifo")
    (root / "ro.html").write_text("keep")
    (root / "ro.html").chmod(0o444)
    (root / "file").write_text("x")
    (root / "link-file").symlink_to(root / "file")
    (root / "link-fifo").symlink_to(root / "fifo")
    (root / "dangling").symlink_to(root / "nowhere")
    shutil.copy(ROOT / "scenarios/with-items-fanin.yaml", root / "my scen.yaml")
    (root / "bad.yaml").write_text("workflow: [\n")
    (root / "notes.txt").write_text("name: x\n")
    (root / "\u202e.yaml").write_text((ROOT / "scenarios/fanin-2x2.yaml").read_text().replace("name: fanin-2x2\n", ""))
    (root / "sched.json").write_text(schedule)
    (root / "deep.json").write_text("[" * 100_000)
    (root / "dup.json").write_text(schedule.replace('"guards": "none"', '"guards": "none", "guards": "both"', 1))


def snapshot(root: Path) -> dict[str, tuple]:
    out = {}
    for p in sorted(root.rglob("*")):
        st_ = p.lstat()
        body = p.read_bytes() if p.is_file() and not p.is_symlink() else b""
        out[str(p.relative_to(root))] = (st_.st_mode, st_.st_ino, body)
    return out


def contents(root: Path) -> dict[str, bytes]:
    return {k: v[2] for k, v in snapshot(root).items()}


def _hung(signum: int, frame: object) -> None:
    raise TimeoutError("the invocation hung (waiting on a FIFO?)")


def invoke_in(root: Path, argv: list[str]):
    cwd = os.getcwd()
    os.chdir(root)
    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(120)  # a hang is a finding, not a stalled suite
    try:
        return CliRunner().invoke(cli, argv, input="")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(cwd)


def check_invocation(root: Path, schedule: str, argv: list[str]) -> None:
    outcomes = []
    for _ in range(2):
        build_sandbox(root, schedule)
        before = snapshot(root)
        r = invoke_in(root, argv)
        where = f"racesim {argv!r}: exit {r.exit_code}\n{r.output}"
        assert r.exit_code in (0, 1, 2), where
        assert r.exception is None or isinstance(r.exception, SystemExit), f"{where}\n{r.exc_info}"
        assert "Traceback" not in r.output, where
        if r.exit_code == 2:
            assert snapshot(root) == before, f"{where}\nleft something behind"
            assert len(r.stderr.strip().splitlines()) == 1, where
        outcomes.append((r.exit_code, r.stdout, r.stderr, contents(root)))
    assert outcomes[0] == outcomes[1], f"racesim {argv!r}: a second run differs"


FAST = settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(argv=invocations())
def test_cli_fuzz_fast(tmp_path_factory, schedule_text, argv):
    check_invocation(tmp_path_factory.getbasetemp() / "fuzz-sandbox", schedule_text, argv)


@pytest.mark.slow
@SLOW
@given(argv=invocations())
def test_cli_fuzz_1000_invocations(tmp_path_factory, schedule_text, argv):
    check_invocation(tmp_path_factory.getbasetemp() / "fuzz-sandbox", schedule_text, argv)
