"""Headlines: one sentence per registry finding of a sweep, for the terminal and the HTML report.

Each figure carries its own unit: runs showing a finding are never added to the dispatches,
re-runs or names it counts, and the successor's duplicates ("successor dispatched twice")
are never mixed with item re-runs ("item handed to workers twice").
"""

from __future__ import annotations

from dataclasses import dataclass

from racesim.engine.runner import DEFAULT_FAIL_ON, FailOn, Summary
from racesim.sim.findings import BY_NAME, NAMES, TRUE, UNKNOWN, Checker


@dataclass(frozen=True, slots=True)
class TaskLine:
    task: str
    runs: int  # runs in which this task shows the finding
    occurrences: int  # in the finding's unit


@dataclass(frozen=True, slots=True)
class Headline:
    finding: str  # registry name
    title: str
    kind: str  # safety | liveness
    verdict: str  # true | false | unknown, over the sweep
    runs: int  # runs showing it
    total_runs: int
    unknown_runs: int
    occurrences: int
    unit: str
    by_task: tuple[TaskLine, ...]  # every task the finding is counted for, zeros included
    failing: bool  # selected by --fail-on and shown by some run
    consequences: int  # wrong outcomes it caused (counted here, not under wrong_outcome)
    sentence: str


def headlines(summary: Summary, fail_on: FailOn = DEFAULT_FAIL_ON) -> list[Headline]:
    """One headline per registry finding, in registry order."""
    out = []
    for name in NAMES:
        c, t = BY_NAME[name], summary.findings[name]
        tasks = tuple(TaskLine(task, tt.runs, tt.occurrences) for task, tt in t.by_task.items())
        selected = [task for n, task in fail_on if n == name]
        failing = t.verdict == TRUE and any(task is None or (task in t.by_task and t.by_task[task].runs) for task in selected)
        out.append(
            Headline(
                name,
                c.title,
                c.kind,
                t.verdict,
                t.runs,
                summary.runs,
                t.unknown_runs,
                t.occurrences,
                c.unit,
                tasks,
                failing,
                t.consequences,
                _sentence(c, t.runs, summary.runs, t.unknown_runs, t.occurrences, tasks, t.consequences),
            )
        )
    return out


def _sentence(c: Checker, runs: int, total: int, unknown: int, occurrences: int, tasks: tuple[TaskLine, ...], caused: int) -> str:
    why = f" ({c.undecided})" if c.undecided else ""
    if runs:
        head = f"{c.title}: in {runs} of {total} runs ({occurrences} {c.unit}"
        per = "; ".join(f"{t.task} {t.occurrences} in {t.runs} runs" if t.runs else f"{t.task} 0" for t in tasks)
        head += f": {per})" if per else ")"
    elif unknown == total:  # nothing decided: "in no run" would claim what was not checked
        return f"{c.title}: undecided in {'the one run' if total == 1 else f'all {total} runs'}{why}"
    else:
        head = f"{c.title}: in no run of {total}"
        if tasks:
            head += " (" + ", ".join(f"{t.task} 0" for t in tasks) + ")"
    if unknown:
        head += f"; undecided in {unknown} runs{why}"
    if caused:
        head += f"; caused {caused} wrong outcome(s), counted here only"
    return head


def verdict_word(verdict: str) -> str:
    return {TRUE: "found", UNKNOWN: "unknown"}.get(verdict, "not found")
