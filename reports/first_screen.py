"""``racesim matrix SCENARIO`` with no axes given: the screen that answers the seed question.

Which guard sets matter (none, the fix, the serialized version, HEAD), on one executor and on
two replicas, with the successor's duplicate dispatches and the with_items item re-runs in
separate columns (they are different hazards: spec 7(a)/(b) and 7(f)4). A count is runs with
the finding over runs; ``0/300`` says no run of 300 showed it, and the footer gives the 95%
upper bound that zero supports, so nobody reads it as "never".
"""

from __future__ import annotations

import shlex

from racesim.engine.runner import Summary
from racesim.models.graph import Graph
from racesim.sim.findings import BY_NAME
from racesim.sim.stats import wilson_interval
from rich import box
from rich.table import Table
from rich.text import Text

GUARD_SETS = ("none", "both", "serialized", "head")
LABELS = {
    "none": "none (pre)",
    "both": "both (the fix)",
    "serialized": "serialized (f93)",
    "head": "head (9206d41)",
    "pre": "pre (b54aa3e)",
    "fix": "fix (7438f92)",
    "f93": "f93 (f93e922)",
}
RUNS_CAP = 300  # runs per cell by default: 8 cells in a few seconds on 2 cores


def deployment_name(summary: Summary) -> str:
    d = summary.deployment
    who = "1 executor" if d.replicas == 1 else f"{d.replicas} replicas"
    return who if d.listeners == 1 else f"{who}, {d.listeners} listeners"


# The two dispatch hazards, from the findings registry: a successor created again, and one
# row (an item) handed to workers again.
COLUMNS = ("duplicate_dispatch", "item_rerun")


def _count(summary: Summary, name: str) -> Text:
    """Runs showing the finding / runs, and the tasks it hit (runs per task when several)."""
    tally = summary.findings[name]
    hit = [(task, t.runs) for task, t in tally.by_task.items() if t.runs]
    tasks = hit[0][0] if len(hit) == 1 else ", ".join(f"{task} {n}" for task, n in hit)
    text = f"{tally.runs}/{summary.runs}" + (f" {tasks}" if tasks else "")
    return Text(text, style="bold red" if tally.runs else "green")


def table(summaries: list[Summary], graph: Graph, title: str) -> Table:
    """One row per guard set x deployment; the registry's titles head the two hazard columns."""
    grid = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    grid.add_column("guards", no_wrap=True)
    grid.add_column("deployment", no_wrap=True)
    for name in COLUMNS:
        grid.add_column(BY_NAME[name].title, justify="right")
    grid.add_column("other")
    for s in summaries:
        others = ", ".join(f"{k} {v}" for k, v in s.other_findings()) or "-"
        grid.add_row(
            LABELS.get(s.guards, s.guards),
            deployment_name(s),
            *(_count(s, name) for name in COLUMNS),
            Text(others, style="yellow" if others != "-" else "dim"),
        )
    return grid


def footer(runs: int, scenario_runs: int, scenario: str, capped: bool) -> list[str]:
    """``capped``: fewer runs than the scenario asks for were run because --runs was not given."""
    _, high = wilson_interval(0, runs)
    lines = [f"a count is runs showing the finding / runs, then the tasks hit; 0/{runs} bounds P below {high:.3f} (95%)."]
    lines += [f"{BY_NAME[name].title}: {BY_NAME[name].explanation}" for name in COLUMNS]
    if capped:
        lines.append(
            f"{runs} runs per cell for a quick first answer (the scenario asks for {scenario_runs}: add --runs {scenario_runs})."
        )
    lines.append(
        f"more: racesim matrix {shlex.quote(scenario)} --guards none,layer1,layer2,both,serialized --replicas 1,2 --listeners 1,3"
        " --faults none,crash-before-publish"
    )
    return lines
