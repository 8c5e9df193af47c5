"""The one place racesim makes the commands that reproduce a run (HTML reports, ``check``,
the pytest plugin): every word quoted with ``shlex``, the scenario named as the user gave it
(its file, made absolute, when it was given as a file).

Which command reproduces a run depends on how the run was found:

- a random-timing run of the scenario as written: ``racesim run SCENARIO --seed S --runs 1
  --trace`` with the guards, deployment and faults spelled out; it prints the run's digest;
- a run saved as a schedule file (PCT, DFS, a shrunk run, fewer items than the scenario
  declares): ``racesim replay FILE``, which checks the recorded digest;
- anything else (a systematic run that was not saved) has no single command: ``None``, and
  the caller says how to get one (``--save-failing``). A seed under another strategy is a
  different run, so it is never offered in its place.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from racesim.engine.expectations import ExpectResult
from racesim.engine.runner import RunResult
from racesim.sim.config import Deployment, Faults

__all__ = ["SAVE_HINT", "for_expectation", "for_run", "invocation", "replay", "run_command"]

SAVE_HINT = "no single command: rerun with --save-failing DIR, then `racesim replay` the saved file"


def invocation(argv: Sequence[str]) -> str:
    """The command line that was run, quoted so that it can be pasted back."""
    return shlex.join(["racesim", *argv])


def replay(schedule_path: str) -> str:
    return shlex.join(["racesim", "replay", schedule_path])


def run_command(scenario: str, seed: int, **options: str | int) -> str:
    """``racesim run SCENARIO --OPTION VALUE ... --seed S --runs 1 --trace``: the one builder of
    a one-run command (``worker_slots`` is spelled ``--worker-slots``). ``scenario`` is the
    catalog name or the file."""
    argv = ["racesim", "run", scenario]
    for name, value in options.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    return shlex.join([*argv, "--seed", str(seed), "--runs", "1", "--trace"])


def _spelled_out(guards: str, d: Deployment, faults: Faults) -> dict[str, str | int]:
    """Every option of the run, so the command does not depend on the scenario's defaults."""
    return {"guards": guards, "replicas": d.replicas, "listeners": d.listeners, "prefetch": d.prefetch,
            "workers": d.workers, "worker_slots": d.worker_slots, "faults": faults.label()}  # fmt: skip


def for_run(
    result: RunResult,
    scenario: str,
    *,
    strategy: str = "random",
    schedule_path: str | None = None,
    as_declared: bool = True,
) -> str | None:
    """The command that reproduces ``result`` (see the module docstring). ``as_declared`` is
    False when the run's configuration differs from the scenario's beyond what ``run``'s
    options say (fewer with_items items after shrinking)."""
    if schedule_path is not None:
        return replay(schedule_path)
    if strategy != "random" or not as_declared:
        return None
    cfg = result.output.config
    return run_command(scenario, result.seed, **_spelled_out(cfg.guards.name, cfg.deployment, cfg.faults))


def for_expectation(result: ExpectResult, strategy: str = "random") -> str:
    """For ``racesim check``: the first run contradicting an expectation. Under another
    strategy than random timing no ``run`` command makes that run, so the command re-checks
    the scenario with the same strategy and seed (which reproduces the contradiction)."""
    s = result.summary
    scenario = result.scenario_ref or s.scenario
    if strategy != "random":
        return shlex.join(["racesim", "check", scenario, "--strategy", strategy, "--seed", str(s.seed), "--runs", str(s.runs)])
    return run_command(scenario, result.first_seed(), **_spelled_out(s.guards, s.deployment, s.faults))
