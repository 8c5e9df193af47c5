"""Self-contained HTML report of a sweep and its first failing interleaving.

Rendering only: the analysis (happens-before graph, race windows, advances, explanations)
comes from ``racesim.analysis``; the words from ``reports.words``. The page is one file with
inline CSS, JS and SVG, rendered by Jinja2 with autoescape on, and a pure function of its inputs (no wall-clock time), so the same
runs give byte-identical HTML.
"""

from __future__ import annotations

import importlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from racesim.analysis import windows as aw
from racesim.analysis.accesses import message_links, worker_dispatches
from racesim.analysis.cases import Case, finding_seeds
from racesim.analysis.explain import GuardStop, explanations, guard_stops
from racesim.engine.headlines import Headline, headlines, verdict_word
from racesim.engine.runner import DEFAULT_FAIL_ON, FailOn, RunResult, Summary
from racesim.models import ops
from racesim.reports import reproduce, words
from racesim.reports.perfetto import actor_order
from racesim.reports.terminal import duplicate_marks
from racesim.sim import output
from racesim.sim.findings import BY_NAME, NAMES
from racesim.sim.stats import wilson_interval
from racesim.sim.trace import Event

import racesim

MAX_EVENTS = 1500  # events drawn per run; the rest are summarised on the page
MAX_WINDOWS = 4  # race windows explained in full; the others are listed in one line each
LANE_H = 22
LABEL_W = 190
GAP = 0.05  # idle stretches longer than this (s) are drawn compressed, with a break mark
DB_OPS = frozenset(k.name for k in ops.CATALOGUE.values() if k.lane == "db")
MQ_OPS = frozenset(k.name for k in ops.CATALOGUE.values() if k.lane == "mq")
WRITE_OPS = frozenset(k.name for k in ops.CATALOGUE.values() if k.writes and k.lane == "db")


# ---- view models -------------------------------------------------------------------------------
@dataclass(slots=True)
class Mark:
    i: int
    x: float
    y: float
    cls: str
    title: str
    label: str = ""


@dataclass(slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    cls: str


@dataclass(slots=True)
class Lane:
    name: str
    y: float
    store: bool = False


@dataclass(slots=True)
class RunView:
    rid: str  # unique in the page
    role: str  # "failing" or "contrast"
    heading: str
    guards: str
    seed: int
    digest: str
    verdict: list[tuple[str, str]]
    lanes: list[Lane]
    marks: list[Mark]
    store_marks: list[Mark]
    lines: list[Line]
    gaps: list[tuple[float, str]]
    ticks: list[tuple[float, str]]
    window_boxes: list[tuple[float, float, str]]
    width: float
    height: float
    data: list[list]
    total_events: int
    drawn: tuple[int, int]
    omitted: list[str]
    actors: int
    duplicates: list[str]
    windows: list[dict] = field(default_factory=list)
    more_windows: list[str] = field(default_factory=list)
    advances: list[dict] = field(default_factory=list)
    dispatch_counts: list[tuple[str, int]] = field(default_factory=list)
    involved: int = 0  # lanes of actors involved in the highlighted windows (drawn first)


def _fmt_event(ev: Event) -> str:
    args = ", ".join(map(str, ev.args))
    result = "" if ev.result is None else f" -> {ev.result}"
    return f"t={ev.time:.6f}  {ev.actor}  {ev.step}  {ev.op}({args}){result}"


def _kind(ev: Event) -> str:
    if ev.op in ("Crash", "Expire"):  # a process died, or the broker dropped a message
        return "crash"
    if isinstance(ev.result, tuple) and len(ev.result) == 2 and ev.result[0] == "error":
        return "error"
    if ev.op in MQ_OPS:
        return {"Publish": "pub", "Consume": "con"}.get(ev.op, "ack")
    if ev.op in WRITE_OPS:
        return "dbw"
    if ev.op in DB_OPS:
        return "dbr"
    return "other"


def _window_range(n: int, focus: int | None) -> tuple[int, int]:
    """Indexes [lo, hi) of the events to draw: everything when under the cap, else a
    MAX_EVENTS slice that starts a little before the race (or at the start)."""
    if n <= MAX_EVENTS:
        return 0, n
    lo = 0 if focus is None else max(0, min(focus - MAX_EVENTS // 5, n - MAX_EVENTS))
    return lo, lo + MAX_EVENTS


def _omitted(evs: list[Event], lo: int, hi: int) -> list[str]:
    out: list[str] = []
    for part, rng in (("before", range(0, lo)), ("after", range(hi, len(evs)))):
        if not rng:
            continue
        ops = Counter(evs[i].op for i in rng)
        groups = Counter(evs[i].actor.split(".")[0] for i in rng)
        top_ops = ", ".join(f"{op} {c}" for op, c in sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))[:8])
        top_groups = ", ".join(f"{g} {c}" for g, c in sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))[:8])
        out.append(
            f"{len(rng)} events {part} the drawn slice (t={evs[rng[0]].time:.6f} to {evs[rng[-1]].time:.6f}); "
            f"by op: {top_ops}; by process: {top_groups}"
        )
    return out


def run_view(
    result: RunResult,
    role: str,
    heading: str,
    an: aw.RunAnalysis | None = None,
    windows: list[aw.RaceWindow] | None = None,
    rid: str = "",
) -> RunView:
    """One run's swimlanes. ``windows``: the race windows to highlight (default: all); the
    lanes of the actors they involve come first."""
    an = an if an is not None else aw.analyse(result)
    evs = an.events
    db = an.db
    windows = an.windows if windows is None else windows
    marks_dup = duplicate_marks(result)
    focus = min((min([*w.reads, *w.dispatches]) for w in windows), default=None)
    lo, hi = _window_range(len(evs), focus)
    involved = actor_order([evs[i].actor for w in windows for i in w.members])
    actors = involved + [a for a in actor_order([e.actor for e in evs]) if a not in involved]
    lanes = [Lane(a, 30 + k * LANE_H) for k, a in enumerate(actors)]
    db_y = 30 + len(actors) * LANE_H + 8
    mq_y = db_y + LANE_H
    lanes += [Lane("DB", db_y, True), Lane("broker", mq_y, True)]
    lane_y = {lane.name: lane.y for lane in lanes}

    # x: simulated time, with short steps stretched to stay readable and long idle gaps cut.
    xs: dict[int, float] = {}
    gaps: list[tuple[float, str]] = []
    ticks: list[tuple[float, str]] = []
    x = LABEL_W + 20.0
    prev_t: float | None = None
    last_tick = -1e9
    for i in range(lo, hi):
        t = evs[i].time
        if prev_t is not None:
            dt = t - prev_t
            if dt > GAP:
                gaps.append((x + 30, f"+{dt:.3f} s"))
                x += 60
            else:
                x += 3 + min(dt * 3000, 50)
        xs[i] = round(x, 1)
        if x - last_tick >= 140:
            ticks.append((xs[i], f"{t:.4f}"))
            last_tick = x
        prev_t = t
    width = round(x + 60, 1)
    height = mq_y + 40

    race_reads = {r for w in windows for r in w.reads}
    missed = {m for w in windows for m in w.missed_writes}
    acts = {d.act for w in windows for d in w.decisions}
    marks: list[Mark] = []
    store_marks: list[Mark] = []
    for i in range(lo, hi):
        ev = evs[i]
        kind = _kind(ev)
        cls = f"ev k-{kind}"
        label = ""
        if i in marks_dup:
            cls += " dup"
            label = marks_dup[i]
        if i in race_reads:
            cls += " race-read"
        if i in missed:
            cls += " missed-write"
        if i in acts:
            cls += " race-act"
        title = _fmt_event(ev) + (f"  <-- {marks_dup[i]}" if i in marks_dup else "")
        marks.append(Mark(i, xs[i], lane_y[ev.actor], cls, title, label))
        if ev.op in DB_OPS or ev.op in MQ_OPS:
            store = "DB" if ev.op in DB_OPS else "broker"
            store_marks.append(Mark(i, xs[i], lane_y[store], f"st k-{kind}", title))

    lines: list[Line] = []
    for p, c in message_links(evs):
        if p in xs and c in xs:
            lines.append(Line(xs[p], lane_y[evs[p].actor], xs[c], lane_y[evs[c].actor], "msg"))
    for w in windows:
        for d in w.decisions:
            for r, wr in d.saw:
                if r in xs and wr in xs:
                    lines.append(Line(xs[wr], lane_y[evs[wr].actor], xs[r], lane_y[evs[r].actor], "saw"))
            for r, wr in d.missed:
                if r in xs and wr in xs:
                    lines.append(Line(xs[r], lane_y[evs[r].actor], xs[wr], lane_y[evs[wr].actor], "missed"))

    boxes: list[tuple[float, float, str]] = []
    for w in windows:
        idx = [i for i in [*w.reads, *w.missed_writes, *w.dispatches, *(d.act for d in w.decisions)] if i in xs]
        if idx:
            boxes.append((min(xs[i] for i in idx) - 6, max(xs[i] for i in idx) + 6, f"race window: {w.label}"))

    v = result.verdict
    verdict = [
        ("workflow status", str(v.workflow_status)),
        ("duplicate dispatches", str(v.duplicate_dispatches)),
        ("missed dispatches", str(v.missed_dispatches)),
        ("stuck workflows", str(v.stuck_workflows)),
        ("lost updates", str(v.lost_updates)),
        ("wrong outcomes", str(v.wrong_outcomes)),
        ("events", str(len(evs))),
        ("end time", f"{result.output.end_time:.6f} s"),
        *(("duplicate mechanism", m) for m in v.duplicate_mechanisms),
    ]
    data = [
        [i, round(evs[i].time, 9), evs[i].actor, evs[i].step, evs[i].op, [str(a) for a in evs[i].args], _result_text(evs[i])]
        for i in range(lo, hi)
    ]
    counts = worker_dispatches(evs, db)
    view = RunView(
        rid=rid or role,
        role=role,
        heading=heading,
        guards=result.output.config.guards.name,
        seed=result.seed,
        digest=result.digest,
        verdict=verdict,
        lanes=lanes,
        marks=marks,
        store_marks=store_marks,
        lines=lines,
        gaps=gaps,
        ticks=ticks,
        window_boxes=boxes,
        width=width,
        height=height,
        data=data,
        total_events=len(evs),
        drawn=(lo, hi),
        omitted=_omitted(evs, lo, hi),
        actors=len(actors),
        duplicates=[marks_dup[i] for i in sorted(marks_dup)],
        advances=[_advance_row(a, evs) for a in an.advances],
        dispatch_counts=[(aw.task_label(k), len(v)) for k, v in counts.items()],
    )
    view.windows = [_window_view(an, w) for w in windows[:MAX_WINDOWS]]
    view.involved = len(involved)
    view.more_windows = [
        f"{w.label} ({len(w.dispatches)} hand-overs, t={w.start:.6f} to {w.end:.6f})" for w in windows[MAX_WINDOWS:]
    ]
    return view


def _advance_row(a: aw.Advance, evs: list[Event]) -> dict:
    return {
        "t": f"{evs[a.start].time:.6f}",
        "actor": a.actor,
        "handled": words.handled(a),
        "remaining": "-" if a.remaining is None else str(a.remaining),
        "released": ", ".join(a.released),
        "outcome": words.advance_outcome(a),
        "dispatched": bool(a.dispatched),
    }


def _result_text(ev: Event) -> str:
    return "" if ev.result is None else str(ev.result)


def _window_view(an: aw.RunAnalysis, w: aw.RaceWindow) -> dict:
    """The race window's happens-before subgraph as an SVG-ready layout."""
    evs = an.events
    sub = an.window_graph(w)
    nodes = sorted(sub.nodes)
    actors = actor_order([evs[n].actor for n in nodes])
    col_w, row_h, left = 130, 52, 170
    pos = {n: (left + k * col_w + 55, 30 + actors.index(evs[n].actor) * row_h) for k, n in enumerate(nodes)}
    reads, missed, acts = set(w.reads), set(w.missed_writes), {d.act for d in w.decisions}
    node_views = []
    for n in nodes:
        ev = evs[n]
        cls = "hb-node"
        if n in w.dispatches:
            cls += " dup" if n != w.dispatches[0] else " first"
        if n in reads:
            cls += " race-read"
        if n in missed:
            cls += " missed-write"
        if n in acts:
            cls += " race-act"
        node_views.append(
            {"i": n, "x": pos[n][0], "y": pos[n][1], "cls": cls, "step": ev.step, "op": ev.op, "title": _fmt_event(ev)}
        )
    edges = [
        {"x1": pos[u][0], "y1": pos[u][1], "x2": pos[v][0], "y2": pos[v][1], "cls": sub.edges[u, v]["kind"]}
        for u, v in sorted(sub.edges)
    ]
    return {
        "label": w.label,
        "kind": w.kind,
        "start": f"{w.start:.6f}",
        "end": f"{w.end:.6f}",
        "nodes": node_views,
        "edges": edges,
        "rows": [{"name": a, "y": 30 + k * row_h} for k, a in enumerate(actors)],
        "width": left + len(nodes) * col_w + 40,
        "height": 30 + len(actors) * row_h,
    }


def _cell_line(h: Headline) -> str:
    """One finding in a matrix cell: runs and occurrences as two figures, each with its unit."""
    text = f"{h.title}: {h.runs}/{h.total_runs} runs, {h.occurrences} {h.unit}"
    tasks = ", ".join(f"{t.task} {t.occurrences}" for t in h.by_task if t.occurrences)
    if tasks:
        text += f" ({tasks})"
    if h.unknown_runs:
        text += f"; unknown in {h.unknown_runs} runs"
    return text


def findings_view(summaries: list[Summary], fail_on: FailOn = DEFAULT_FAIL_ON) -> list[dict]:
    """Per summary: the registry's headlines, one row per finding in registry order, so a
    finding added to the registry appears here without a change to this module."""
    out = []
    for s in summaries:
        rows = [
            {
                "name": h.finding,
                "title": h.title,
                "kind": h.kind,
                "unit": h.unit,
                "verdict": verdict_word(h.verdict),
                "runs": h.runs,
                "total": h.total_runs,
                "unknown": h.unknown_runs,
                "occurrences": h.occurrences,
                "by_task": [
                    f"{t.task}: {t.occurrences} {h.unit} in {t.runs} runs" if t.runs else f"{t.task}: 0" for t in h.by_task
                ],
                "failing": h.failing,
                "sentence": h.sentence,
            }
            for h in headlines(s, fail_on)
        ]
        label = f"{s.guards}; {s.deployment.label()}; faults {s.faults.label()}"
        out.append({"label": label, "runs": s.runs, "rows": rows})
    return out


def matrix_view(summaries: list[Summary], links: dict[int, str] | None = None, fail_on: FailOn = DEFAULT_FAIL_ON) -> dict | None:
    """The guard matrix; ``links`` maps a summary's index to the file of its own report."""
    if not summaries:
        return None
    deployments: list = []
    faults: list = []
    guards: list[str] = []
    for s in summaries:
        if s.deployment not in deployments:
            deployments.append(s.deployment)
        if s.faults not in faults:
            faults.append(s.faults)
        if s.guards not in guards:
            guards.append(s.guards)
    tables = []
    for f in faults:
        rows = []
        for gname in guards:
            cells: list[dict | None] = []
            for d in deployments:
                cell = next((x for x in summaries if x.guards == gname and x.deployment == d and x.faults == f), None)
                if cell is None:
                    cells.append(None)
                    continue
                heads = headlines(cell, fail_on)
                lead = heads[0]  # the registry's first finding carries the rate and its interval
                low, high = wilson_interval(lead.runs, cell.runs)
                p = lead.runs / cell.runs if cell.runs else 0.0
                cells.append(
                    {
                        "lead": lead.title,
                        "lead_runs": lead.runs,
                        "runs": cell.runs,
                        "low": f"{low:.3f}",
                        "high": f"{high:.3f}",
                        "p": f"{p:.3f}",
                        "bar": (round(low * 100, 2), round(max(high - low, 0.004) * 100, 2), round(p * 100, 2)),
                        "bad": any(h.failing for h in heads),
                        "lines": [_cell_line(h) for h in heads if h.runs or h.unknown_runs],
                        "first": cell.first_failing_seed,
                        "digest": cell.digest[:16],
                        "href": (links or {}).get(next(i for i, x in enumerate(summaries) if x is cell)),
                    }
                )
            rows.append({"guards": gname, "cells": cells})
        tables.append({"faults": f.label(), "columns": [d.label() for d in deployments], "rows": rows})
    hists = []
    for s in summaries:
        charts = []
        for task, hist in s.dispatch_histogram.items():
            total = sum(hist.values()) or 1
            top = max(hist.values(), default=1) or 1
            keys = list(range(min(hist), max(hist) + 1)) if hist else []
            bars = [
                {
                    "k": k,
                    "n": hist.get(k, 0),
                    "h": round(60 * hist.get(k, 0) / top, 1),
                    "pct": f"{100 * hist.get(k, 0) / total:.1f}",
                    "bad": k > 1,
                }
                for k in keys
            ]
            charts.append({"task": task, "bars": bars, "width": max(30 + 34 * len(bars), 20 + 7 * len(task))})
        hists.append({"guards": s.guards, "deployment": s.deployment.label(), "faults": s.faults.label(), "charts": charts})
    return {"tables": tables, "hists": hists, "lead": BY_NAME[NAMES[0]].title}


def _version(guards) -> str:
    """The attune version a guard set models, for step-map links (ablations count as FIX)."""
    if guards.lock:
        return "head" if guards.release_one else "f93"
    return "fix" if guards.layer1 or guards.layer2 else "pre"


def _step_map():
    """The step map (models/step_map.py), or None while it is not there."""
    try:
        return importlib.import_module("racesim.models.step_map")
    except ImportError:
        return None


def _step_rows(labels: list[str], guards, case_id: str) -> list[dict]:
    """One row per step label: what it does, racesim's model line, attune's file:line."""
    sm = _step_map()
    version = _version(guards)
    rows = []
    for label in labels:
        row = {
            "label": label,
            "anchor": f"{case_id}-step-{label}",
            "summary": "",
            "racesim": "",
            "racesim_url": "",
            "attune": "",
            "url": "",
        }
        if sm is not None:
            try:
                ref = sm.lookup(label, version)
            except (KeyError, ValueError):
                ref = None
            if ref is not None:
                row.update(
                    summary=ref.summary,
                    racesim=ref.racesim_ref or "",
                    racesim_url=ref.racesim.url if ref.racesim is not None else "",
                    attune=(f"{ref.attune_ref} @ {ref.attune.commit[:7]}" if ref.attune is not None else "not in this version"),
                    url=ref.attune_url or "",
                )
        rows.append(row)
    return rows


_KIND_OF = {"duplicate_dispatch": "rows", "item_rerun": "rerun"}


def _reasons(result: RunResult, finding: str) -> list[str]:
    """What the checker said about a finding with no race window to explain."""
    v = result.verdict
    results = getattr(v, "results", None)
    if isinstance(results, dict) and finding in results:
        return list(results[finding].details)
    return {
        "missed": [f"never dispatched: {m}" for m in v.missed],
        "stuck": list(v.stuck_reasons),
        "lost_updates": [f"lost from completed/failed_tasks: {t}" for t in v.lost_tasks],
        "wrong_outcomes": list(v.wrong_reasons),
    }.get(finding, [])


def case_view(case: Case, k: int) -> dict:
    """One tab of the report: a (finding, task) pair, its explanation and its two runs."""
    cid = f"case{k}"
    an = aw.analyse(case.failing)
    guards = case.failing.output.config.guards
    is_dup = case.finding in _KIND_OF or case.finding == "duplicates"
    exps = explanations(an, case.task, _KIND_OF.get(case.finding)) if is_dup else []
    stops: list[GuardStop] = []
    contrast_an = aw.analyse(case.contrast) if case.contrast is not None else None
    if contrast_an is not None:
        seen: set[tuple[str, str, str]] = set()
        tasks = [case.task] if case.task is not None else list(dict.fromkeys(e.task for e in exps))
        for task in tasks:
            for stop in guard_stops(contrast_an, task):
                if (task, stop.step, stop.guard) not in seen:
                    seen.add((task, stop.step, stop.guard))
                    stops.append(stop)
    labels: list[str] = []
    for e in exps[:MAX_WINDOWS]:
        labels += [x for x in e.steps if x not in labels]
    contrast_labels = [s.step for s in stops if s.step not in labels]
    windows = [e.window for e in exps]
    failing = run_view(
        case.failing, "failing", f"failing run: guards {guards.name}, seed {case.seed}", an, windows or None, f"{cid}-failing"
    )
    contrast = None
    if case.contrast is not None and contrast_an is not None:
        cg = case.contrast.output.config.guards
        contrast = run_view(
            case.contrast,
            "contrast",
            ("the failing run's schedule replayed" if case.contrast_replayed else "the same seed")
            + f" under guards {cg.name} (no {case.finding.replace('_', ' ')}"
            + (f" of {case.task})" if case.task else ")"),
            contrast_an,
            None,
            f"{cid}-contrast",
        )
    return {
        "id": cid,
        "title": case.title,
        "finding": case.finding,
        "task": case.task,
        "summary": f"{case.runs} run(s), {case.occurrences} occurrence(s); first seed {case.seed}",
        "explanations": [
            {
                "key": e.key,
                "kind": e.kind,
                "sentences": [words.parts(x) for x in words.explanation_sentences(e)],
                "graph": _window_view(an, e.window),
            }
            for e in exps[:MAX_WINDOWS]
        ],
        "more": [e.key for e in exps[MAX_WINDOWS:]],
        "reasons": [] if exps else _reasons(case.failing, case.finding),
        "stops": [words.parts(words.stop_sentence(s)) for s in stops],
        "contrast_guards": case.contrast.output.config.guards.name if case.contrast is not None else None,
        "contrast_how": "the failing run's schedule replayed" if case.contrast_replayed else "the same seed",
        "steps": _step_rows(labels, guards, cid),
        "contrast_steps": _step_rows(contrast_labels, case.contrast.output.config.guards, cid) if case.contrast else [],
        "version": _version(guards),
        "runs": [v for v in (failing, contrast) if v is not None],
    }


def _fallback_cases(failing: RunResult, contrast: RunResult | None) -> list[Case]:
    """One case for a report given one run (and its contrast) rather than a sweep: every
    duplicate of the run explained in one tab, so the run is drawn once."""
    config = failing.output.config
    found = finding_seeds(_summary_of(failing))
    finding = "duplicates" if any(f in _KIND_OF or f == "duplicates" for f, *_ in found) else "run"
    return [Case(finding, None, 1, sum(x[4] for x in found), failing.seed, config, failing, contrast, False)]


def _summary_of(result: RunResult) -> Summary:
    config = result.output.config
    summary = Summary(config.scenario, config.guards.name, 1, result.seed, config.deployment, config.faults)
    summary.add(result)
    return summary


def context(
    *,
    title: str,
    command: str,
    summaries: list[Summary],
    failing: RunResult | None,
    contrast: RunResult | None,
    cases: list[Case] | None = None,
    reproduce_with: dict[str, str | None] | None = None,
    scenario_ref: str | None = None,
    links: dict[int, str] | None = None,
    no_return: dict | None = None,
    fail_on: FailOn = DEFAULT_FAIL_ON,
) -> dict:
    """``cases``: one tab per (finding, task) (default: from the findings of ``failing``).
    ``reproduce_with`` maps "the failing run" / "the contrast run" to the command the caller
    made with racesim.reports.reproduce (None: no single command reproduces it);
    ``scenario_ref`` names the scenario as the cases' reproduce commands must; ``no_return``:
    a point of no return section (``no_return_view``); ``links``: a matrix index page."""
    explicit = cases is not None
    if links is not None:  # an index page: the matrix, each cell linking its own report
        cases = []
    if cases is None:
        cases = _fallback_cases(failing, contrast) if failing is not None else []
    header: list[tuple[str, str]] = []
    source = failing.output.config if failing is not None else None
    first = summaries[0] if summaries else None
    scenario = source.scenario if source else (first.scenario if first else "")
    header.append(("scenario", scenario))
    if failing is not None and source is not None:
        strategy = next((s.strategy for s in summaries if s.guards == source.guards.name), "random")
        header += [
            ("guards", source.guards.name),
            ("deployment", source.deployment.label()),
            ("faults", source.faults.label()),
            ("strategy", strategy),
            ("seed", str(failing.seed)),
            ("digest", failing.digest),
        ]
    elif first is not None:
        header += [
            ("guards", ", ".join(dict.fromkeys(s.guards for s in summaries))),
            ("deployment", "; ".join(dict.fromkeys(s.deployment.label() for s in summaries))),
            ("faults", ", ".join(dict.fromkeys(s.faults.label() for s in summaries))),
            ("strategy", ", ".join(dict.fromkeys(s.strategy for s in summaries))),
            ("seeds", f"{first.seed} .. {first.seed + first.runs - 1}"),
        ]
    if contrast is not None:
        header.append(("contrast digest", contrast.digest))
    if len(summaries) == 1:
        header.append(("sweep digest", summaries[0].digest))
    header.append(("racesim version", racesim.__version__))
    repro = [("this report", command)]
    given = reproduce_with or {}
    ref = scenario_ref or scenario
    for label, run in (("the failing run", failing), ("the contrast run", contrast)):
        if run is not None:
            line = given[label] if label in given else reproduce.for_run(run, ref)
            repro.append((label, line if line is not None else reproduce.SAVE_HINT))
    for c in cases if explicit else []:
        if failing is None or c.failing.digest != failing.digest:
            line = reproduce.for_run(c.failing, ref)
            repro.append((f"{c.title} (seed {c.seed})", line if line is not None else reproduce.SAVE_HINT))
        if c.contrast is not None:
            if c.contrast_replayed:
                line = "the failing run's schedule replayed under other guards: no single command"
            else:
                line = reproduce.for_run(c.contrast, ref) or reproduce.SAVE_HINT
            repro.append((f"{c.title}: the contrast run", line))
    order = {name: k for k, name in enumerate(NAMES)}  # tabs in the registry's order (stable within a finding)
    cases = sorted(cases, key=lambda c: order.get(c.finding, len(order)))
    views = [case_view(c, k) for k, c in enumerate(cases)]
    return {
        "title": title,
        "header": header,
        "repro": repro,
        "matrix": matrix_view(summaries, links, fail_on),
        "findings": findings_view(summaries, fail_on),
        "index": links is not None,
        "no_return": no_return,
        "cases": views,
        "runs": [r for v in views for r in v["runs"]],
        "max_events": MAX_EVENTS,
        "max_windows": MAX_WINDOWS,
        "label_w": LABEL_W,
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("racesim.reports", "templates"),
        autoescape=True,  # every name in the page comes from user scenario files
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(**report: Any) -> str:
    """The report page; the arguments are ``context``'s (one signature for all three)."""
    return _environment().get_template("report.html.j2").render(**context(**report))


def write_report(path: str | os.PathLike[str] | output.Target, **report: Any) -> output.Target:
    """Write ``render(**report)`` atomically to ``path``."""
    return output.write_text(path, render(**report))


def write_matrix(
    path: str | os.PathLike[str] | output.Target,
    *,
    title: str,
    command: str,
    summaries: list[Summary],
    cell_cases: list[list[Case]],
    scenario_ref: str | None = None,
    failing: RunResult | None = None,
    contrast: RunResult | None = None,
    reproduce_with: dict[str, str | None] | None = None,
    fail_on: FailOn = DEFAULT_FAIL_ON,
) -> output.Target:
    """A matrix report as an index page (the matrix, each cell linking its own report) and
    one report per cell beside it, named ``<index stem>.cell<k>.html``."""
    index = Path(path.path if isinstance(path, output.Target) else path)
    links: dict[int, str] = {}
    for k, (summary, found) in enumerate(zip(summaries, cell_cases, strict=True)):
        name = f"{index.stem}.cell{k}.html"
        page = render(
            title=f"{title} [{summary.guards}; {summary.deployment.label()}; faults {summary.faults.label()}]",
            command=command,
            summaries=[summary],
            failing=None,
            contrast=None,
            cases=found,
            scenario_ref=scenario_ref,
            fail_on=fail_on,
        )
        output.write_text(index.with_name(name), page)
        links[k] = name
    ctx = context(
        title=title,
        command=command,
        summaries=summaries,
        failing=failing,
        contrast=contrast,
        reproduce_with=reproduce_with,
        scenario_ref=scenario_ref,
        links=links,
        fail_on=fail_on,
    )
    return output.write_text(path, _environment().get_template("report.html.j2").render(**ctx))


def no_return_view(result, event: str, last_event: str) -> dict:
    """The point of no return (``analysis.no_return.NoReturn``) as an SVG-ready curve."""
    w, h, left, top = 900.0, 180.0, 40.0, 10.0
    total = max(1, result.total_steps)
    pts = [(round(left + w * p.steps / total, 1), round(top + h * (1 - p.p), 1), p) for p in result.points]
    certain = result.certain_from
    return {
        "total": result.total_steps,
        "k": result.k,
        "certain": certain,
        "last": result.last_avoidable,
        "event": event,
        "last_event": last_event,
        "polyline": " ".join(f"{x},{y}" for x, y, _ in pts),
        "dots": [{"x": x, "y": y, "title": f"j={p.steps}: {p.hits}/{p.trials}"} for x, y, p in pts],
        "mark_x": round(left + w * certain / total, 1) if certain is not None else None,
        "width": left + w + 20,
        "height": top + h + 30,
        "left": left,
        "top": top,
        "bottom": top + h,
    }
