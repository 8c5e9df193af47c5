"""The guard matrix: guard sets x deployments x fault sets, and the minimal guard set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

from racesim.engine.parallel import run_sweeps
from racesim.engine.runner import DEFAULT_FAIL_ON, FailOn, Summary, config_for
from racesim.models.guards import Guards
from racesim.scenarios.loader import Scenario
from racesim.sim.config import Deployment, Faults
from racesim.sim.findings import LIVENESS, SAFETY
from racesim.sim.stats import wilson_interval

# release-one changes what runs, it does not guard anything: it is never proposed.
MINIMAL_SWITCHES = ("layer1", "layer2", "dedupe", "claim", "lock")


def findings(s: Summary) -> list[str]:
    """The registry findings some run of the sweep shows."""
    return [name for name, t in s.findings.items() if t.runs]


def cell_json(s: Summary, fail_on: FailOn = DEFAULT_FAIL_ON) -> dict:
    """A cell: the one result shape plus P(duplicate) with its 95% Wilson interval; each
    finding carries its own ``p``/``p_ci`` (runs showing it over runs)."""
    low, high = wilson_interval(s.runs_with_duplicates, s.runs)
    data = s.to_json(fail_on, command="matrix")
    data["p_duplicate"] = round(s.runs_with_duplicates / s.runs, 6) if s.runs else 0.0
    data["p_duplicate_ci"] = [round(low, 6), round(high, 6)]
    data["first_seed"] = dict(sorted(s.first_seed.items()))
    for name, finding in data["findings"].items():
        lo, hi = wilson_interval(s.findings[name].runs, s.runs)
        finding["p_ci"] = [round(lo, 6), round(hi, 6)]
    return data


@dataclass(slots=True)
class MinimalAnswer:
    deployment: Deployment
    faults: Faults
    guards: str | None  # smallest set with no finding at all, or None
    safe_guards: str | None  # smallest set with no safety finding of the registry
    residual: list[str]  # liveness findings left under safe_guards
    reasons: dict[str, int]

    def sentence(self) -> str:
        where = f"{self.deployment.label()}, faults {self.faults.label()}"
        if self.guards is not None:
            return f"{where}: smallest guard set with no finding: {self.guards}"
        if self.safe_guards is None:
            return f"{where}: no guard set is enough, even for duplicates, in the runs made"
        why = ", ".join(f"{k} x{n}" for k, n in sorted(self.reasons.items())) or ", ".join(self.residual)
        return (
            f"{where}: no guard set is enough. {self.safe_guards} stops every safety finding ({', '.join(SAFETY)}), "
            f"but {', '.join(self.residual)} remain under every set: a liveness problem no dispatch guard fixes [{why}]"
        )


def candidate_sets() -> list[str]:
    out = ["none"]
    for size in range(1, len(MINIMAL_SWITCHES) + 1):
        out.extend("+".join(combo) for combo in combinations(MINIMAL_SWITCHES, size))
    return out


def minimal_guard_set(
    scenario: Scenario,
    deployment: Deployment,
    faults: Faults,
    seed: int,
    runs: int,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    cluster: str | None = None,
) -> MinimalAnswer:
    """Search guard sets by size (fewest switches first); the first without a finding wins."""
    sets = candidate_sets()
    configs = [config_for(scenario, Guards.parse(g), deployment, faults) for g in sets]
    summaries = run_sweeps(configs, seed, runs, jobs, progress, cluster=cluster)
    clean = next((g for g, s in zip(sets, summaries, strict=True) if not findings(s)), None)
    safe = next(
        ((g, s) for g, s in zip(sets, summaries, strict=True) if not set(findings(s)) & set(SAFETY)),
        None,
    )
    if safe is None:
        return MinimalAnswer(deployment, faults, clean, None, [], {})
    residual = [f for f in findings(safe[1]) if f in LIVENESS]
    return MinimalAnswer(deployment, faults, clean, safe[0], residual, dict(sorted(safe[1].stuck_reasons.items())))
