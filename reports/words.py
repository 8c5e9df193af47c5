"""Words for the analysis stage's data: clauses for events, sentences for explanations.

The analysis (``racesim.analysis``) returns facts and chains; this module alone decides how
they read. Plain strings: the HTML template escapes them, the terminal prints them.
"""

from __future__ import annotations

from racesim.analysis import windows as w
from racesim.analysis.explain import Explanation, Fact, GuardStop

GUARD_NAMES = {
    "layer1": "Layer 1",
    "layer2": "Layer 2",
    "dedupe": "the dispatch key",
    "claim": "the scheduler's claim",
    "lock": "the advisory lock",
}


# A step label inside a sentence is wrapped in these two characters, so a renderer can link it
# to the step map (``parts``) or drop the marks (``plain``).
OPEN, CLOSE = "\x02", "\x03"


def mark(step: str) -> str:
    return f"{OPEN}{step}{CLOSE}"


def plain(text: str) -> str:
    return text.replace(OPEN, "").replace(CLOSE, "")


def parts(text: str) -> list[tuple[str, str | None]]:
    """``text`` as (piece, step label or None) pairs, in order."""
    out: list[tuple[str, str | None]] = []
    rest = text
    while OPEN in rest:
        before, _, tail = rest.partition(OPEN)
        label, sep, rest = tail.partition(CLOSE)
        if before:
            out.append((before, None))
        out.append((label, label if sep else None))
    if rest:
        out.append((rest, None))
    return out


def when(f: Fact) -> str:
    return f"at {mark(f.step)} (t={f.time:.6f})"


def clause(f: Fact) -> str:
    """One event as a clause: who did what, at which step, when."""
    a, r, who, subject = f.args, f.result, f.actor, f.subject or "a row"
    at = when(f)
    if f.op == "ReadWorkflowExecution" and isinstance(r, tuple) and len(r) == 4:
        return f"{who} read workflow_execution with completed_tasks=[{', '.join(map(str, r[2]))}] {at}"
    if f.op == "CountRemaining":
        return f"{who} read remaining={r} for {a[1]} {at}"
    if f.op == "CountTaskRows":
        return f"{who} counted {r} existing {a[1]} row(s) {at}"
    if f.op == "SelectPending":
        return f"{who} selected pending rows {', '.join(map(str, r)) if isinstance(r, tuple) and r else 'none'} of {a[1]} {at}"
    if f.op in ("InsertDispatchKey", "ReadDispatchKey"):
        key = a[1:3] if len(a) >= 3 and isinstance(a[0], int) else a[:2]
        return f"{who} checked the dispatch key of {w.task_label((str(key[0]), key[1]))} (result {r}) {at}"
    if f.op == "InsertExecution" and isinstance(r, int):
        return f"{who} inserted {subject} as row {r} {at}"
    if f.op in ("SetExecutionStatus", "WriteExecutionRow"):
        return f"{who} wrote {subject} {a[1]} {at}"
    if f.op == "CasExecutionStatus":
        return f"{who} tried to claim {subject} {a[1]}->{a[2]} ({'won' if r is True else 'lost'}) {at}"
    if f.op == "UpdateWorkflowExecution":
        cols = [str(c) for c in a[1] if str(c).startswith(("completed_tasks", "status"))]
        return f"{who} wrote {', '.join(cols) or 'workflow_execution'} {at}"
    if f.op == "ReadChildren":
        return f"{who} read the workflow's child rows {at}"
    if f.op == "ReadExecution" and isinstance(r, tuple) and len(r) == 3:
        return f"{who} read {subject} as {r[2]} {at}"
    if f.op == "Publish":
        kind = str(a[1]).partition("#")[0] if len(a) > 1 else "a message"
        return f"{who} published {kind} for {subject} to {a[0]} {at}"
    return f"{who} did {f.op}({', '.join(map(str, a))}) {at}"


def explanation_sentences(e: Explanation) -> list[str]:
    """Elle-style sentences: why this key was handed to workers more than once."""
    out: list[str] = []
    n = len(e.handovers)
    if e.kind == "rows":
        out.append(
            f"{e.key} was handed to workers {n} times from {len(e.executions)} separate rows "
            f"(rows {', '.join(map(str, e.executions))}): {len(e.chains)} advances each decided to dispatch it."
        )
    else:
        out.append(
            f"{e.key} (row {e.executions[0]}) was handed to workers {n} times: "
            f"its ExecutionRequested was published {len(e.chains)} times and the scheduler served each one."
        )
    for k, c in enumerate(e.chains):
        parts: list[str] = []
        for link in c.reads:
            text = clause(link.read)
            if link.saw is not None:
                text += ", because " + clause(link.saw)
            if link.missed:
                text += ", before " + " and ".join(clause(m) for m in link.missed)
            parts.append(text)
        head = "; ".join(parts) if parts else f"{c.actor} read nothing decisive"
        out.append(f"{'First' if k == 0 else 'Then'}: {head}; so {clause(c.act)}.")
    if e.kind == "rows" and len(e.chains) > 1 and not e.missed_any and "layer1" not in e.guards:
        out.append(
            "No later advance missed an earlier one's writes: each saw the task already in completed_tasks, "
            "but without Layer 1 nothing checks that list after remaining=0, and the successor was in neither "
            "completed_tasks nor failed_tasks because no copy of it had finished yet."
        )
    if e.kind == "rerun":
        for k, h in enumerate(e.handovers[1:], start=2):
            out.append(f"Hand-over {k}: {clause(h)}.")
    if e.kind == "rerun" and "claim" not in e.guards:
        out.append(
            "Without a claim (compare-and-set on the status), the scheduler writes the row back as scheduled "
            "whatever status it read, so every request for the row becomes another hand-over to a worker."
        )
    return out


def stop_sentence(s: GuardStop) -> str:
    guard = GUARD_NAMES.get(s.guard, s.guard)
    f = s.fact
    if s.step == "F1":
        return (
            f"{guard} stopped it at {mark('F1')}: {f.actor} read remaining=0 {when(f)} and returned, "
            f"because {f.args[1] if len(f.args) > 1 else 'the task'} was already in completed_tasks, "
            f"so {s.subject} was not dispatched again."
        )
    if s.step == "F2":
        return f"{guard} stopped it at {mark('F2')}: {clause(f)}, so {f.actor} skipped {s.subject}."
    if s.guard == "dedupe":
        return f"{guard} stopped it at {mark(s.step)}: {clause(f)}: the key existed, so no second row of {s.subject}."
    if s.guard == "claim" and s.step == "S1":
        return f"{guard} stopped it at {mark('S1')}: {clause(f)}, not requested, so the scheduler dropped the request."
    if s.guard == "claim" and f.result is True:
        return (
            f"{guard} stopped it at {mark('S2')}: {clause(f)}, moving it out of requested before the next "
            f"release at P6d looked for pending rows, so {s.subject} was not requested again."
        )
    if s.guard == "claim":
        return f"{guard} stopped it at {mark('S2')}: {clause(f)}, so {s.subject} was not handed over again."
    return f"{guard} stopped it at {mark(s.step)}: {clause(f)}, so {s.subject} was not requested again."


ADVANCE_OUTCOMES = {
    w.COMPLETED_WORKFLOW: "completed the workflow",
    w.FINISHED: "returned at P3/H5 (workflow finished)",
    w.RETURNED_F1: "returned at F1 (task already in completed/failed_tasks)",
    w.NO_DISPATCH: "no dispatch",
}


def advance_outcome(a: w.Advance) -> str:
    if a.outcome == w.DISPATCHED:
        return "dispatched " + ", ".join(a.dispatched)
    if a.outcome == w.SKIPPED_F2:
        return "skipped " + ", ".join(a.skipped) + " at F2 (a row exists)"
    if a.outcome == w.WAITING:
        return f"returned at P6e ({a.remaining} remaining)"
    return ADVANCE_OUTCOMES[a.outcome]


def handled(a: w.Advance) -> str:
    return "?" if a.message is None else f"{a.message[0]}#{a.message[1]} ({a.subject})"
