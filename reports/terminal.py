"""Terminal rendering with rich: sweep summaries, the guard matrix, one run's interleaving."""

from __future__ import annotations

from racesim.engine.runner import RunResult, Summary
from racesim.sim.trace import Event, events
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text


def summary_table(summaries: list[Summary], title: str) -> Table:
    # Eight short columns, none narrower than its header's longest word, the checkers other
    # than duplicates in one "other" cell: at 80 columns eleven columns collapsed to "gua...".
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for col in ("guards", "runs", "runs w/ dup", "dups", "dups by task", "max per task", "other", "1st failing seed"):
        width = max(len(word) for word in col.split())
        if col in ("guards", "dups by task", "other"):  # long values fold; the headers stay whole
            table.add_column(col, min_width=max(width, 8), overflow="fold")
        else:
            table.add_column(col, justify="right", min_width=width)
    for s in summaries:
        style = "bold red" if s.runs_with_duplicates else "green"
        others = ", ".join(f"{k} {v}" for k, v in s.other_findings())
        table.add_row(
            Text(s.guards, style=style),
            str(s.runs),
            Text(str(s.runs_with_duplicates), style=style),
            str(s.duplicate_dispatches),
            " ".join(f"{name}:{t.duplicate_dispatches}" for name, t in s.by_task.items()),
            str(s.max_dispatches_per_task),
            Text(others or "-", style="yellow" if others else "dim"),
            "-" if s.first_failing_seed is None else str(s.first_failing_seed),
        )
    return table


def matrix_table(summaries: list[Summary], title: str) -> Table:
    """Rows = guard sets, columns = deployments; a cell: dup runs / runs, 95% CI, other counts."""
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
        cells = []
        for d in deployments:
            s = next((x for x in summaries if x.guards == g and x.deployment == d), None)
            if s is None:
                cells.append("")
                continue
            low, high = wilson_interval(s.runs_with_duplicates, s.runs)
            style = "bold red" if s.runs_with_duplicates else "green"
            text = Text(f"dup {s.runs_with_duplicates}/{s.runs}  P in [{low:.3f}, {high:.3f}]", style=style)
            others = [f"{k} {v}" for k, v in s.other_findings()]
            # every task, zeros included: "validate:0" is the answer a reviewer of the fix looks for
            text.append("\ndup dispatches " + " ".join(f"{name}:{t.duplicate_dispatches}" for name, t in s.by_task.items()))
            text.append("\n" + (", ".join(others) if others else "no other finding"), style="yellow" if others else "dim")
            if s.first_failing_seed is not None:
                text.append(f"\nfirst seed {s.first_failing_seed}", style="dim")
            cells.append(text)
        table.add_row(g, *cells)
    return table


def by_task_table(summary: Summary) -> Table:
    table = Table(title=f"by task ({summary.guards})", title_justify="left")
    for col in ("task", "dup dispatches", "max dispatches", "runs w/ dup", "first failing seed"):
        table.add_column(col, justify="left" if col == "task" else "right")
    for name, t in summary.by_task.items():
        table.add_row(
            name,
            str(t.duplicate_dispatches),
            str(t.max_dispatches),
            str(t.runs_with_duplicates),
            "-" if t.first_failing_seed is None else str(t.first_failing_seed),
        )
    return table


def duplicate_marks(result: RunResult) -> dict[int, str]:
    """Record index -> mark for every hand-over to a worker beyond the first of its key."""
    db = result.output.db
    seen: dict[tuple, int] = {}
    marks: dict[int, str] = {}
    for i, ev in enumerate(events(result.output.records)):
        if ev.op != "Publish" or not str(ev.args[0]).startswith("worker."):
            continue
        eid = int(str(ev.args[1]).split("#")[1].split(":")[0])
        wt = db.executions[eid].workflow_task
        if wt is None:
            continue
        key = (wt.workflow_execution, wt.task_name, wt.task_index, wt.retry_count)  # per execution, per attempt
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            label = wt.task_name if wt.task_index is None else f"{wt.task_name}[{wt.task_index}]"
            marks[i] = f"DUPLICATE #{seen[key]} of {label}"
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
        elif ev.op == "Crash":
            line.stylize("bold magenta")
        console.print(line, soft_wrap=True, highlight=False)
    v = result.verdict
    console.print(
        f"digest {result.digest}  status={v.workflow_status} duplicates={v.duplicate_dispatches} "
        f"missed={v.missed_dispatches} stuck={v.stuck_workflows} lost_updates={v.lost_updates} "
        f"wrong_outcomes={v.wrong_outcomes}",
        highlight=False,
    )
    for reason in v.stuck_reasons + v.wrong_reasons:
        console.print(f"  {reason}", highlight=False)
    for mechanism in v.duplicate_mechanisms:
        console.print(f"  duplicate: {mechanism}", highlight=False)
