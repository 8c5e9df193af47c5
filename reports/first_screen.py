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


def _count(summary: Summary, tasks: list[str]) -> Text:
    parts = []
    bad = False
    for task in tasks:
        t = summary.by_task.get(task)
        n = t.runs_with_duplicates if t is not None else 0
        bad = bad or n > 0
        parts.append(f"{n}/{summary.runs}" if len(tasks) == 1 else f"{task} {n}/{summary.runs}")
    return Text(", ".join(parts) or "-", style="bold red" if bad else "green")


def table(summaries: list[Summary], graph: Graph, title: str) -> Table:
    """One row per guard set x deployment."""
    successors = [name for name, node in graph.nodes.items() if node.with_items is None]
    items = [name for name, node in graph.nodes.items() if node.with_items is not None]
    # a single successor is named: "validate dup" is the seed question's answer
    succ_head = f"{successors[0]} dup" if len(successors) == 1 else "successor dup"
    grid = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    grid.add_column("guards", no_wrap=True)
    grid.add_column("deployment", no_wrap=True)
    grid.add_column(succ_head, justify="right")
    grid.add_column("item re-runs" if items else "items", justify="right")
    grid.add_column("other")
    for s in summaries:
        others = ", ".join(f"{k} {v}" for k, v in s.other_findings()) or "-"
        grid.add_row(
            LABELS.get(s.guards, s.guards),
            deployment_name(s),
            _count(s, successors),
            _count(s, items) if items else Text("no with_items", style="dim"),
            Text(others, style="yellow" if others != "-" else "dim"),
        )
    return grid


def footer(runs: int, scenario_runs: int, scenario: str, capped: bool) -> list[str]:
    """``capped``: fewer runs than the scenario asks for were run because --runs was not given."""
    _, high = wilson_interval(0, runs)
    lines = [
        "a count is runs with the finding / runs: dup = a task without with_items dispatched more than once,",
        f"item re-runs = an item handed to workers more than once; 0/{runs} bounds P(finding) below {high:.3f} (95%).",
    ]
    if capped:
        lines.append(
            f"{runs} runs per cell for a quick first answer (the scenario asks for {scenario_runs}: add --runs {scenario_runs})."
        )
    lines.append(
        f"more: racesim matrix {shlex.quote(scenario)} --guards none,layer1,layer2,both,serialized --replicas 1,2 --listeners 1,3"
        " --faults none,crash-before-publish"
    )
    return lines
