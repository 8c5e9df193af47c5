"""Audit a set of attune workflow files: import each as attune would read it, sweep it under
several versions and deployments, and classify every finding by task.

A row of an audit is a claim about a bounded random search, never a proof: each workflow says
which shapes it contains and which findings were looked for, and a clean cell carries the
95% upper bound on the probability that the sweep would have missed a finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import yaml
from racesim.engine.parallel import run_sweeps
from racesim.engine.runner import Summary, config_for
from racesim.models.graph import ALWAYS, Graph
from racesim.models.guards import Guards
from racesim.scenarios import attune_parser, importer, loader, schema
from racesim.scenarios.schema import ScenarioError
from racesim.sim.config import Deployment
from racesim.sim.stats import wilson_interval

DEFAULT_VERSIONS = ("pre", "fix", "f93", "head")
DEFAULT_REPLICAS = (1, 2)
DEFAULT_RUNS = 200  # per cell: ~10 files x 8 cells in under a minute on 2 cores
# Until the findings registry lands: which of the Summary's counts are safety properties.
LEGACY_SAFETY = ("duplicates", "lost_updates", "wrong_outcomes")


@dataclass(slots=True)
class Cell:
    version: str
    deployment: Deployment
    summary: Summary | None = None


@dataclass(slots=True)
class FindingRow:
    """One finding of one cell, attributed to one task (``(workflow)`` when it has none)."""

    finding: str
    task: str
    runs: int  # runs showing it
    total: int  # runs in the cell
    first_seed: int | None
    safety: bool
    occurrences: int = 0
    runs_known: bool = True  # False: the engine's Summary counted occurrences only

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.runs, self.total)


@dataclass(slots=True)
class WorkflowAudit:
    path: str  # the file as the user named it (an action file for the action-linked layout)
    name: str
    loads_in_head: bool
    head_reason: str | None = None  # why attune HEAD refuses the file
    lenient: bool = False  # imported by rewriting an older layout
    refused: str | None = None  # could not be imported at all: the one-line reason
    shapes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scenario: loader.Scenario | None = None
    scenario_data: dict = field(default_factory=dict)
    cells: list[Cell] = field(default_factory=list)
    items: dict[str, int] = field(default_factory=dict)  # --items given to this file's import


def discover(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Workflow files under ``paths``: a file as given; in a directory every ``*.yaml`` /
    ``*.yml`` whose top level has ``tasks`` (a workflow) or ``workflow_file`` (an action file),
    in sorted order, leaving out graph files an action file there already leads to.
    Returns (files, skipped notes)."""
    found: list[Path] = []
    linked: set[Path] = set()
    skipped: list[str] = []
    for given in paths:
        p = Path(given)
        if p.is_file():
            found.append(p)
            continue
        if not p.is_dir():
            what = "not a regular file or directory" if p.exists() else "no such file or directory"
            raise ScenarioError(f"{given}: {what}")
        for f in sorted(x for x in p.rglob("*") if x.suffix in (".yaml", ".yml") and x.is_file()):
            keys = _top_keys(f)
            if "workflow_file" in keys:
                found.append(f)
                target = keys["workflow_file"]
                if target:
                    linked.add((f.parent / target).resolve())
            elif "tasks" in keys:
                found.append(f)
            else:
                skipped.append(str(f))
    out = [f for f in dict.fromkeys(found) if f.resolve() not in linked or f in [Path(g) for g in paths]]
    return out, skipped


def _top_keys(path: Path) -> dict[str, str | None]:
    try:
        node = schema.compose(schema.read_bytes(path, str(path)), str(path))
    except ScenarioError:
        return {"tasks": None}  # unreadable: keep it, so the audit says why
    if not isinstance(node, yaml.MappingNode):
        return {}
    out: dict[str, str | None] = {}
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode):
            out[str(k.value)] = str(v.value) if isinstance(v, yaml.ScalarNode) else None
    return out


def parse_items(values: tuple[str, ...] | list[str]) -> tuple[int, dict[str, int]]:
    """``--items N`` (every template with_items) and ``--items TASK=N``."""
    default = importer.DEFAULT_ITEMS
    named: list[str] = []
    for value in values:
        if value.strip().isdigit():
            default = int(value)
            if not 0 <= default <= schema.MAX_ITEMS:
                raise ScenarioError(f"--items: at most {schema.MAX_ITEMS} items, got {default}")
        else:
            named.append(value)
    return default, importer.parse_items(named)


def load(path: Path, default_items: int, items: dict[str, int], lenient: bool = True) -> WorkflowAudit:
    """Import one file for the audit; a file attune refuses is kept with its reason."""
    audit = WorkflowAudit(str(path), importer._scenario_name(path.stem), loads_in_head=True)
    try:
        loaded, _ = attune_parser.load_file(path)
    except attune_parser.Rejection as exc:
        audit.loads_in_head = False
        audit.head_reason = f"{exc.line}: {schema.dotted(exc.path)}: {exc.reason}"
        if not lenient:
            audit.refused = exc.line_text("attune HEAD")
            return audit
        audit.lenient = True
    except ScenarioError as exc:
        audit.loads_in_head = False
        audit.refused = str(exc)
        return audit
    try:
        wf = attune_parser.load_file(path, lenient=audit.lenient)[0].workflow
        templated = [t.name for t in wf.tasks if t.with_items is not None]
        audit.items = {t: items.get(t, default_items) for t in templated}
        imported = importer.import_workflow(path, dict(audit.items), lenient=audit.lenient)
        importer.loadable(imported, str(path))
        audit.scenario = loader.from_dict(imported.scenario, str(path), imported.scenario["name"])
    except attune_parser.Rejection as exc:
        audit.refused = exc.line_text("attune HEAD") + " (also with --lenient)"
        return audit
    except ScenarioError as exc:
        audit.refused = str(exc)
        return audit
    audit.scenario_data = imported.scenario
    audit.notes = imported.notes
    audit.shapes = shapes(audit.scenario.graph, imported.loaded.workflow if imported.loaded else None)
    return audit


def shapes(graph: Graph, wf: attune_parser.Workflow | None) -> list[str]:
    """The structures a workflow contains that the race model distinguishes."""
    out: list[str] = []
    nodes = graph.nodes.values()
    if any(_fans_out(n.transitions) for n in nodes):
        out.append("fan-out")
    if any(n.join for n in nodes):
        out.append("join")
    if any(len(n.inbound) > 1 and not n.join for n in nodes):
        out.append("several predecessors")
    if any(n.with_items is not None for n in nodes):
        out.append("with_items")
    if wf is not None and any(t.retry for t in wf.tasks):
        out.append("retries (re-run at HEAD only)")
    if len(graph.entry_points) > 1 or "fan-out" in out:
        out.append("parallel branches")
    try:
        TopologicalSorter({n.name: {d for tr in n.transitions for d in tr.do} for n in nodes}).prepare()
    except CycleError:
        out.append("cycles (a loop edge runs nothing twice: spec 6.5)")
    if wf is not None and any(t.type == "parallel" for t in wf.tasks):
        out.append("type: parallel (never executed)")
    if wf is not None and any(t.type == "workflow" for t in wf.tasks):
        out.append("nested workflow (one action)")
    return out or ["sequence"]


def _fans_out(transitions: tuple) -> bool:
    """One completion can dispatch two or more tasks: targets of transitions that fire together."""
    kinds = {tr.kind for tr in transitions}
    for kind in kinds:
        together = {d for tr in transitions if tr.kind in (kind, ALWAYS) for d in tr.do}
        if len(together) > 1:
            return True
    return False


def cells_for(versions: list[str], deployments: list[Deployment]) -> list[Cell]:
    return [Cell(v, d) for v in versions for d in deployments]


def run(
    audits: list[WorkflowAudit],
    versions: list[str],
    deployments: list[Deployment],
    seed: int,
    runs: int,
    jobs: int,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Sweep every importable workflow under every (version, deployment), in one pool."""
    configs = []
    owners: list[Cell] = []
    for audit in audits:
        if audit.scenario is None:
            continue
        audit.cells = cells_for(versions, deployments)
        for cell in audit.cells:
            guards = Guards.parse(cell.version)
            configs.append(config_for(audit.scenario, guards, _deployment(audit.scenario.deployment, cell.deployment)))
            owners.append(cell)
    for cell, summary in zip(owners, run_sweeps(configs, seed, runs, jobs, progress), strict=True):
        cell.summary = summary


def _deployment(base: Deployment, wanted: Deployment) -> Deployment:
    return replace(base, replicas=wanted.replicas, listeners=wanted.listeners)


def looked_for() -> list[str]:
    """The findings every cell was checked for, in the registry's order when it exists."""
    try:
        from racesim.sim.findings import REGISTRY  # type: ignore[import-not-found,unused-ignore]

        return [c.name for c in REGISTRY]
    except ImportError:
        return ["duplicates", "missed", "stuck", "lost_updates", "wrong_outcomes"]


def finding_rows(summary: Summary) -> list[FindingRow]:
    """Every finding of a cell by task, whichever Summary shape the engine has."""
    rows: list[FindingRow] = []
    tallies = getattr(summary, "findings", None)
    if isinstance(tallies, dict):  # the findings registry: runs per finding and per task
        from racesim.sim.findings import BY_NAME  # type: ignore[import-not-found,unused-ignore]

        for name, tally in tallies.items():
            if not tally.runs:
                continue
            safety = BY_NAME[name].kind == "safety"
            by_task = {t: x for t, x in tally.by_task.items() if x.runs}
            if not by_task:
                rows.append(FindingRow(name, "(workflow)", tally.runs, summary.runs, tally.first_seed, safety, tally.occurrences))
            for task, t in by_task.items():
                rows.append(FindingRow(name, task, t.runs, summary.runs, t.first_seed, safety, t.occurrences))
        return rows
    for task, t in summary.by_task.items():
        if t.runs_with_duplicates:
            rows.append(
                FindingRow(
                    "duplicates", task, t.runs_with_duplicates, summary.runs, t.first_failing_seed, True, t.duplicate_dispatches
                )
            )
    counts = summary.finding_counts()
    for name in ("missed", "stuck", "lost_updates", "wrong_outcomes"):
        if counts[name]:
            # this Summary keeps occurrences, not runs, for these (stuck is at most one per run)
            known = name == "stuck"
            rows.append(
                FindingRow(
                    name,
                    "(workflow)",
                    counts[name] if known else 1,
                    summary.runs,
                    summary.first_seed.get(name),
                    name in LEGACY_SAFETY,
                    counts[name],
                    runs_known=known,
                )
            )
    return rows


def clean_bound(runs: int) -> float:
    """95% upper bound on P(finding) when none was seen in ``runs`` runs."""
    return wilson_interval(0, runs)[1]
