"""Terminal rendering with rich: sweep summaries, the guard matrix, one run's interleaving."""

from __future__ import annotations

from racesim.analysis.accesses import message_of
from racesim.engine.headlines import headlines
from racesim.engine.runner import DEFAULT_FAIL_ON, FailOn, RunResult, Summary
from racesim.models.rows import WORKER_DISPATCH
from racesim.sim.findings import BY_NAME, NAMES, TRUE, describe_fail_on
from racesim.sim.trace import Event, events
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

# Short column headers, one per registry finding (a new checker gets its name as header).
SHORT = {
    "duplicate_dispatch": "successor dup",
    "item_rerun": "item re-run",
    "lost_update": "lost update",
    "wrong_outcome": "wrong outcome",
    "finished_overwritten": "finished again",
    "missed_dispatch": "missed",
    "stuck_workflow": "stuck",
}

# One-word summary-table headers: whole at 80 columns (the caption spells each out).
COLUMN = {
    "duplicate_dispatch": "dup",
    "item_rerun": "re-run",
    "lost_update": "lost",
    "wrong_outcome": "wrong",
    "finished_overwritten": "refinished",
    "missed_dispatch": "missed",
    "stuck_workflow": "stuck",
}


def _short(name: str) -> str:
    return SHORT.get(name, name)


def summary_table(summaries: list[Summary], title: str, fail_on: FailOn = DEFAULT_FAIL_ON) -> Table:
    """One row per sweep; per finding, the runs showing it (runs only: occurrences are in
    the by-task table). Headers never narrower than their longest word, so they stay whole
    at 80 columns."""
    table = Table(
        title=f"{title}: runs showing each finding",
        caption="; ".join(f"{COLUMN.get(n, n)}: {BY_NAME[n].title}" for n in NAMES),
        caption_justify="left",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    headers = ["guards", "runs", *(COLUMN.get(n, n) for n in NAMES), "first failing"]
    for i, col in enumerate(headers):
        width = max(len(word) for word in col.split())
        if i == 0:
            table.add_column(col, min_width=max(width, 8), overflow="fold")
        else:
            table.add_column(col, justify="right", min_width=width)
    for s in summaries:
        first = s.first_failing(fail_on)
        style = "bold red" if first is not None else "green"
        cells = []
        for name in NAMES:
            t = s.findings[name]
            text = str(t.runs) + (f" +{t.unknown_runs}?" if t.unknown_runs else "")
            cells.append(Text(text, style="bold red" if t.runs and BY_NAME[name].kind == "safety" else ""))
        table.add_row(Text(s.guards, style=style), str(s.runs), *cells, "-" if first is None else str(first))
    return table


def matrix_table(summaries: list[Summary], title: str, fail_on: FailOn = DEFAULT_FAIL_ON) -> Table:
    """Rows = guard sets, columns = deployments; a cell: one line per finding some run shows
    (runs over runs, then occurrences per task), the successor's duplicates always."""
    from racesim.sim.stats import wilson_interval

    deployments: list = []
    for s in summaries:
        if s.deployment not in deployments:
            deployments.append(s.deployment)
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("guards")
    for d in deployments:
        table.add_column(f"replicas={d.replicas} listeners={d.listeners}")
    guards: list[str] = []
    for s in summaries:
        if s.guards not in guards:
            guards.append(s.guards)
    for g in guards:
        cells: list[Text | str] = []
        for d in deployments:
            found = next((x for x in summaries if x.guards == g and x.deployment == d), None)
            if found is None:
                cells.append("")
                continue
            s = found
            text = Text()
            for h in headlines(s, fail_on):
                if not h.runs and not h.unknown_runs and h.finding != "duplicate_dispatch":
                    continue
                if text.plain:
                    text.append("\n")
                low, high = wilson_interval(h.runs, s.runs)
                style = "bold red" if h.runs and h.kind == "safety" else "yellow" if h.runs else "green"
                line = f"{_short(h.finding)}: {h.runs}/{s.runs} runs"
                if h.runs:
                    line += f" P in [{low:.3f}, {high:.3f}]"
                if h.unknown_runs:
                    line += f", undecided {h.unknown_runs}"
                text.append(line, style=style)
                per = " ".join(f"{t.task}:{t.occurrences}" for t in h.by_task)
                if per:
                    text.append(f"\n  {h.unit}: {per}", style="dim")
            first = s.first_failing(fail_on)
            if first is not None:
                text.append(f"\nfirst failing seed {first}", style="dim")
            cells.append(text)
        table.add_row(g, *cells)
    return table


def by_task_table(summary: Summary) -> Table:
    """Per task, each finding's occurrences in its own unit (runs are in the summary table)."""
    per_task = [n for n in NAMES if BY_NAME[n].per == "task"]
    units = "; ".join(f"{_short(n)}: {BY_NAME[n].unit}" for n in per_task)
    table = Table(title=f"by task ({summary.guards}), occurrences ({units})", title_justify="left")
    table.add_column("task", justify="left")
    for name in per_task:
        table.add_column(_short(name), justify="right")
    table.add_column("max dispatches", justify="right")
    for task, t in summary.by_task.items():
        row = []
        for name in per_task:
            tt = summary.findings[name].by_task.get(task)
            row.append(str(tt.occurrences) if tt else "0")
        table.add_row(task, *row, str(t.max_dispatches))
    return table


def print_headlines(console: Console, summary: Summary, fail_on: FailOn = DEFAULT_FAIL_ON) -> None:
    """One sentence per finding; FAIL marks those --fail-on selects and some run shows."""
    console.print(f"findings (fail on: {describe_fail_on(fail_on)}):", highlight=False)
    for h in headlines(summary, fail_on):
        mark = "FAIL " if h.failing else "     "
        style = "bold red" if h.failing else "yellow" if h.runs else ""
        console.print(Text(f"  {mark}[{h.kind}] {h.sentence}", style=style), soft_wrap=True, highlight=False)


def duplicate_marks(result: RunResult) -> dict[int, str]:
    """Record index -> mark for every hand-over to a worker beyond the first of its key."""
    db = result.output.db
    seen: dict[tuple, int] = {}
    marks: dict[int, str] = {}
    several = len(db.workflow_by_execution) > 1  # under load: name the workflow execution
    for i, ev in enumerate(events(result.output.records)):
        msg = message_of(ev) if ev.op == "Publish" else None
        if msg is None or msg[0] != WORKER_DISPATCH:
            continue
        wt = db.executions[msg[1]].workflow_task
        if wt is None:
            continue
        key = (wt.workflow_execution, wt.task_name, wt.task_index, wt.retry_count)  # per execution, per attempt
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            label = wt.task_name if wt.task_index is None else f"{wt.task_name}[{wt.task_index}]"
            where = f"W{wt.workflow_execution} " if several else ""
            marks[i] = f"DUPLICATE #{seen[key]} of {where}{label}"
    return marks


def format_event(ev: Event) -> str:
    args = ", ".join(map(str, ev.args))
    result = "" if ev.result is None else f" -> {ev.result}"
    return f"{ev.time:10.6f}  {ev.actor:<22} {ev.step:<6} {ev.op}({args}){result}"


def print_trace(console: Console, result: RunResult) -> None:
    marks = duplicate_marks(result)
    for i, ev in enumerate(events(result.output.records)):
        line = Text(format_event(ev))
        if i in marks:
            line.stylize("bold red")
            line.append(f"   <-- {marks[i]}", style="bold red")
        elif ev.op in ("Crash", "Expire"):
            line.stylize("bold magenta")
        console.print(line, soft_wrap=True, highlight=False)
    v = result.verdict
    counts = " ".join(f"{name}={f.count if f.verdict != 'unknown' else '?'}" for name, f in v.results.items())
    console.print(f"digest {result.digest}  status={v.workflow_status} {counts}", highlight=False)
    for name, f in v.results.items():
        if f.verdict == TRUE or f.details:
            console.print(f"  {name} ({f.verdict}):", highlight=False)
            for detail in f.details:
                console.print(f"    {detail}", highlight=False)
            for detail in f.consequences:
                console.print(f"    consequence: {detail}", highlight=False)
    for mechanism in v.duplicate_mechanisms:
        console.print(f"  duplicate: {mechanism}", highlight=False)
