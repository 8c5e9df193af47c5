"""Coverage: what a sweep exercised, so that a clean result is not a vacuous one.

Per run (``RunCoverage``, small enough to ship from a worker process): each guard check the
models reported (``models.probe.Decide``: reached, and how often it changed the outcome),
each armed fault point (checked, fired), and, for a traced run, the reads-from pairs: for
every read, the step label of the write it observed (``("W6", "P6e")``: a remaining-count
read saw a worker's terminal write). A sweep (``SweepCoverage``) adds runs up in seed order,
and keeps the number of distinct reads-from pairs after each traced run (the saturation
curve: when it flattens, more runs of this strategy find nothing new to observe).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from racesim.models import ops

# What "decided" means for each guard, in words for the terminal.
DECIDED = {
    "layer1": "returned early",
    "layer2": "skipped a dispatch (a row existed)",
    "dedupe": "found the dispatch key taken",
    "claim": "dropped or requeued a request",
    "lock": "found a pending row no longer requested",
    "reconcile": "changed the completed or failed list from the child rows",
    "defer_join": "kept the workflow open for an unmet join",
    "handled": "moved a failed task to completed (a successor was admitted)",
}
CURVE_POINTS = 20  # points of the saturation curve kept in JSON
# A sweep traces every TRACE_EVERY-th seed to count reads-from pairs: tracing a run (records,
# no choice log) and reading its pairs costs about 1.4 times a lean run, so a tenth of the
# runs add about 4% (benchmarks/RESULTS.md). Tracing never changes a run (same digest).
TRACE_EVERY = 10
# The guard checks each switch reports (models/probe.py), so a switched-on guard that never
# ran still shows, with zero.
GUARD_STEPS: dict[str, tuple[str, ...]] = {
    "layer1": ("F1",),
    "layer2": ("F2",),
    "dedupe": ("D5'",),
    "claim": ("S2",),
    "lock": ("P6d",),
    "reconcile": ("H13",),
    "defer_join": ("P11b",),
    "handled": ("H15",),
}


def traced(seed: int) -> bool:
    """Whether a sweep traces the run of ``seed`` (for its reads-from pairs)."""
    return seed % TRACE_EVERY == 0


@dataclass(frozen=True, slots=True)
class RunCoverage:
    decisions: tuple[tuple[str, str, int, int], ...]  # (step, guard, reached, decided), armed ones included
    faults: tuple[tuple[str, int, int], ...]  # (fault, reached, fired)
    reads_from: frozenset[tuple[str, str]] | None  # (write step, read step); None: run not traced


def reads_from(records: list, db) -> frozenset[tuple[str, str]]:
    """(write step, read step) for every read of a shared resource and the last write to it
    by another actor before it (the write the read observed), from the op catalogue."""
    last: dict[object, tuple[str, str]] = {}  # resource -> (writer actor, its step)
    pairs: set[tuple[str, str]] = set()
    for _, actor, step, op, args, result in records:
        reads, writes = ops.observed(op, args, result, db)
        for key in reads:
            w = last.get(key)
            if w is not None and w[0] != actor:
                pairs.add((w[1], step))
        for key in writes:
            last[key] = (actor, step)
    return frozenset(pairs)


def of_output(output) -> RunCoverage:
    """The coverage of one finished run (``sim.world.RunOutput``)."""
    counts: dict[tuple[str, str], list[int]] = {}
    guards = output.config.guards
    for switch, steps in GUARD_STEPS.items():
        if getattr(guards, switch, False):
            for step in steps:
                counts[(step, switch)] = [0, 0]
    for d in getattr(output, "decisions", ()):
        c = counts.setdefault((d.step, d.guard), [0, 0])
        c[0] += 1
        c[1] += int(d.decided)
    fired: dict[str, int] = {}
    for name, _actor in output.faults_fired:
        fired[name] = fired.get(name, 0) + 1
    armed = {name: 0 for name, p in output.config.faults.probabilities if p > 0}
    reached = armed | getattr(output, "faults_reached", {})
    faults = tuple((name, reached.get(name, 0), fired.get(name, 0)) for name in sorted(set(reached) | set(fired)))
    return RunCoverage(
        tuple((s, g, r, d) for (s, g), (r, d) in counts.items()),
        faults,
        reads_from(output.records, output.db) if output.traced else None,
    )


@dataclass(slots=True)
class GuardCount:
    guard: str
    reached: int = 0  # times the check ran
    decided: int = 0  # times it changed the outcome
    runs_reached: int = 0
    runs_decided: int = 0


@dataclass(slots=True)
class FaultCount:
    reached: int = 0
    fired: int = 0
    runs_reached: int = 0
    runs_fired: int = 0


@dataclass(slots=True)
class SweepCoverage:
    runs: int = 0
    guards: dict[str, GuardCount] = field(default_factory=dict)  # by step label
    faults: dict[str, FaultCount] = field(default_factory=dict)
    traced_runs: int = 0
    pairs: set[tuple[str, str]] = field(default_factory=set)
    curve: list[int] = field(default_factory=list)  # distinct pairs after each traced run

    def add(self, rc: RunCoverage) -> None:
        self.runs += 1
        for step, guard, reached, decided in rc.decisions:
            g = self.guards.setdefault(step, GuardCount(guard))
            g.reached += reached
            g.decided += decided
            g.runs_reached += reached > 0
            g.runs_decided += decided > 0
        for name, reached, fired in rc.faults:
            f = self.faults.setdefault(name, FaultCount())
            f.reached += reached
            f.fired += fired
            f.runs_reached += reached > 0
            f.runs_fired += fired > 0
        if rc.reads_from is not None:
            self.traced_runs += 1
            self.pairs |= rc.reads_from
            self.curve.append(len(self.pairs))

    def new_in(self, rc: RunCoverage) -> int:
        """How many reads-from pairs and guard outcomes ``rc`` has that the sweep has not."""
        new = len(rc.reads_from - self.pairs) if rc.reads_from is not None else 0
        for step, _guard, reached, decided in rc.decisions:
            g = self.guards.get(step)
            new += (g is None and reached > 0) + (decided > 0 and (g is None or g.decided == 0))
        for name, _reached, fired in rc.faults:
            f = self.faults.get(name)
            new += fired > 0 and (f is None or f.fired == 0)
        return new

    def saturation_text(self) -> str:
        points = self.saturation()
        return ", ".join(f"{n} after {runs}" for runs, n in points[:: max(1, len(points) // 5)])

    def saturation(self) -> list[list[int]]:
        """[[traced runs, distinct pairs], ...] at up to CURVE_POINTS evenly spaced runs."""
        n = len(self.curve)
        if not n:
            return []
        idx = sorted({max(1, round(n * k / CURVE_POINTS)) for k in range(1, CURVE_POINTS + 1)})
        return [[i, self.curve[i - 1]] for i in idx]

    def to_json(self) -> dict:
        return {
            "runs": self.runs,
            "guards": {
                step: {
                    "guard": g.guard,
                    "reached": g.reached,
                    "decided": g.decided,
                    "runs_reached": g.runs_reached,
                    "runs_decided": g.runs_decided,
                }
                for step, g in sorted(self.guards.items())
            },
            "faults": {
                name: {"reached": f.reached, "fired": f.fired, "runs_reached": f.runs_reached, "runs_fired": f.runs_fired}
                for name, f in sorted(self.faults.items())
            },
            "reads_from": {
                "traced_runs": self.traced_runs,
                "distinct_pairs": len(self.pairs) if self.traced_runs else None,
                "saturation": self.saturation(),
            },
        }

    def lines(self) -> list[str]:
        """One sentence per guard check and fault point, then the reads-from pairs."""
        out: list[str] = []
        for step, g in sorted(self.guards.items()):
            what = DECIDED.get(g.guard, "decided")
            out.append(
                f"{step} ({g.guard}): reached {g.reached} times in {g.runs_reached} of {self.runs} runs; "
                f"{what} {g.decided} times in {g.runs_decided} runs"
            )
        for name, f in sorted(self.faults.items()):
            out.append(
                f"{name}: point reached {f.reached} times in {f.runs_reached} runs, "
                f"fired {f.fired} times in {f.runs_fired} of {self.runs} runs"
            )
        if self.traced_runs:
            out.append(
                f"reads-from pairs (which write each read observed, by step): {len(self.pairs)} distinct "
                f"over {self.traced_runs} traced runs; saturation {self.saturation_text()}"
            )
        else:
            out.append(f"reads-from pairs: not counted (no run traced; a sweep traces every {TRACE_EVERY}th seed)")
        return out

    def reached(self, step: str) -> int:
        """Times the guard check at ``step`` ran (0 when never)."""
        g = self.guards.get(step)
        return g.reached if g is not None else 0
