"""Audit output: the terminal table, the JSON document and the HTML index page."""

from __future__ import annotations

import shlex

import jinja2
from racesim.engine.audit import FindingRow, WorkflowAudit, clean_bound, finding_rows
from racesim.engine.runner import Summary
from racesim.reports import reproduce
from racesim.sim.config import Deployment
from rich.table import Table
from rich.text import Text


def deployment_label(d: Deployment) -> str:
    return f"{d.replicas} executor{'s' if d.replicas != 1 else ''}" + (f", {d.listeners} listeners" if d.listeners != 1 else "")


def scenario_file(audit: WorkflowAudit) -> str:
    return f"{audit.name}.yaml"


def import_command(audit: WorkflowAudit, scenario_path: str | None = None) -> str:
    items = [x for t, n in audit.items.items() for x in ("--items", f"{t}={n}")]
    parts = ["racesim", "import", audit.path, *(["--lenient"] if audit.lenient else []), *items]
    return shlex.join([*parts, "-o", scenario_path or scenario_file(audit)])


def replay_command(audit: WorkflowAudit, version: str, d: Deployment, seed: int, scenario_path: str | None = None) -> str:
    listeners: dict[str, str | int] = {"listeners": d.listeners} if d.listeners != 1 else {}
    return reproduce.run_command(scenario_path or scenario_file(audit), seed, version=version, replicas=d.replicas, **listeners)


def loads_text(audit: WorkflowAudit) -> str:
    if audit.loads_in_head:
        return "yes"
    reason = audit.head_reason or audit.refused or ""
    return f"no: {reason}" + ("\n(imported leniently)" if audit.lenient and audit.refused is None else "")


def table(audits: list[WorkflowAudit], runs: int, seed: int, looked_for: list[str], scenario_paths: dict[str, str]) -> Table:
    bound = clean_bound(runs)
    title = (
        f"audit: {runs} random-schedule runs per cell from seed {seed}; every cell checked for {', '.join(looked_for)}. "
        f"A clean cell means none seen: P < {bound:.1%} at 95% confidence, not a proof."
    )
    t = Table(title=title, title_justify="left", show_lines=True)
    for column in ("workflow", "loads in attune HEAD?", "version", "deployment", "finding", "P (95% interval)", "replay"):
        t.add_column(column, overflow="fold")
    for audit in audits:
        head = Text(audit.path, style="bold")
        if audit.shapes:
            head.append("\nshapes: " + ", ".join(audit.shapes), style="dim")
        if audit.scenario is None:
            t.add_row(head, loads_text(audit), "", "", Text("not audited: " + (audit.refused or ""), style="yellow"), "", "")
            continue
        first = True
        for cell in audit.cells:
            assert cell.summary is not None
            rows: list[FindingRow | None] = [*finding_rows(cell.summary)] or [None]
            for row in rows:
                t.add_row(
                    head if first else "",
                    loads_text(audit) if first else "",
                    cell.version,
                    deployment_label(cell.deployment),
                    *_finding_cells(audit, cell.version, cell.deployment, row, runs, bound, seed, scenario_paths),
                )
                first = False
    return t


def _finding_cells(
    audit: WorkflowAudit,
    version: str,
    d: Deployment,
    row: FindingRow | None,
    runs: int,
    bound: float,
    seed: int,
    paths: dict[str, str],
) -> tuple[Text, str, str]:
    if row is None:
        return Text("none seen", style="green"), f"< {bound:.1%}", ""
    low, high = row.interval
    text = Text(f"{row.finding} @ {row.task}", style="bold red" if row.safety else "yellow")
    replay = "" if row.first_seed is None else replay_command(audit, version, d, row.first_seed, paths.get(audit.path))
    if not row.runs_known:
        text.append(f"\n{row.occurrences} occurrences", style="dim")
        return text, "runs not counted", replay
    text.append(f"\n{row.runs}/{row.total} runs", style="dim")
    return text, f"{row.runs / row.total:.3f} [{low:.3f}, {high:.3f}]", replay


def scenario_legend(audits: list[WorkflowAudit], scenario_paths: dict[str, str]) -> list[str]:
    """How to get the scenario file each replay command names."""
    if scenario_paths:
        directory = {p.rsplit("/", 1)[0] for p in scenario_paths.values()}
        return [f"scenario files for the replay commands: written to {', '.join(sorted(directory))}"]
    lines = ["scenario files for the replay commands:"]
    lines += [f"  {import_command(a)}" for a in audits if a.scenario is not None]
    return lines


def to_json(
    audits: list[WorkflowAudit], runs: int, seed: int, looked_for: list[str], fail_on: str, failed: bool, paths: dict[str, str]
) -> dict:
    """One document: per workflow its load verdict, shapes and one result object per cell."""
    out = []
    for audit in audits:
        cells = []
        for cell in audit.cells:
            assert cell.summary is not None
            result = _result_json(cell.summary, fail_on)
            result["version"] = cell.version
            result["findings_by_task"] = [
                {
                    "finding": r.finding,
                    "task": r.task,
                    "runs": r.runs if r.runs_known else None,
                    "occurrences": r.occurrences,
                    "first_seed": r.first_seed,
                    "safety": r.safety,
                    "replay": None
                    if r.first_seed is None
                    else replay_command(audit, cell.version, cell.deployment, r.first_seed, paths.get(audit.path)),
                }
                for r in finding_rows(cell.summary)
            ]
            cells.append(result)
        out.append(
            {
                "workflow": audit.path,
                "scenario": audit.name,
                "loads_in_attune_head": audit.loads_in_head,
                "attune_head_reason": audit.head_reason,
                "imported_leniently": audit.lenient,
                "not_audited": audit.refused,
                "shapes": audit.shapes,
                "scenario_command": None if audit.scenario is None else import_command(audit, paths.get(audit.path)),
                "cells": cells,
            }
        )
    return {
        "command": "audit",
        "runs": runs,
        "seed": seed,
        "looked_for": looked_for,
        "clean_cell_upper_bound": clean_bound(runs),
        "fail_on": fail_on,
        "failed": failed,
        "workflows": out,
    }


def _result_json(summary: Summary, fail_on: str) -> dict:
    """The common result object of one cell (the findings registry's, when the engine has it)."""
    try:
        from racesim.sim.findings import parse_fail_on  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return summary.to_json()
    rules = () if fail_on.strip() in ("", "none") else parse_fail_on(fail_on)
    # an audit cell is a matrix cell (one version x deployment sweep); the schema names no "audit"
    return summary.to_json(rules, command="matrix")  # type: ignore[call-arg,unused-ignore]


INDEX = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>racesim audit</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}
.bad{color:#b00}.ok{color:#070}.dim{color:#666}</style></head><body>
<h1>racesim audit</h1>
<p>{{ runs }} random-schedule runs per cell from seed {{ seed }}. Every cell was checked for: {{ looked_for|join(", ") }}.
A clean cell means none was seen: P &lt; {{ "%.1f"|format(bound * 100) }}% at 95% confidence. It is not a proof.</p>
<table><tr><th>workflow</th><th>loads in attune HEAD?</th><th>shapes</th><th>findings</th><th>report</th></tr>
{% for w in workflows %}<tr><td>{{ w.path }}</td><td>{{ w.loads }}</td><td>{{ w.shapes|join(", ") }}</td>
<td>{% if w.refused %}<span class="dim">not audited: {{ w.refused }}</span>
{% elif w.findings %}{% for f in w.findings %}<div class="{{ 'bad' if f.safety else '' }}">{{ f.text }}</div>{% endfor %}
{% else %}<span class="ok">none seen</span>{% endif %}</td>
<td>{% if w.report %}<a href="{{ w.report }}">{{ w.report }}</a>{% endif %}</td></tr>
{% endfor %}</table></body></html>
"""
)


def index_html(audits: list[WorkflowAudit], reports: dict[str, str], runs: int, seed: int, looked_for: list[str]) -> str:
    workflows = []
    for audit in audits:
        findings = []
        for cell in audit.cells:
            assert cell.summary is not None
            for r in finding_rows(cell.summary):
                low, high = r.interval
                where = f"{cell.version}, {deployment_label(cell.deployment)}: {r.finding} @ {r.task}"
                text = f"{where} {r.runs}/{r.total} [{low:.3f}, {high:.3f}]" if r.runs_known else f"{where} ({r.occurrences}x)"
                findings.append({"text": text, "safety": r.safety})
        workflows.append(
            {
                "path": audit.path,
                "loads": loads_text(audit),
                "shapes": audit.shapes,
                "refused": audit.refused,
                "findings": findings,
                "report": reports.get(audit.path),
            }
        )
    return INDEX.render(workflows=workflows, runs=runs, seed=seed, looked_for=looked_for, bound=clean_bound(runs))
