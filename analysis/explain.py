"""Explanations as data: the causal chain behind a duplicate, and what stopped it elsewhere.

An ``Explanation`` lists, for one duplicated task key, each deciding actor's decisive reads
with the write each read observed and the competing writes it missed, then the act (an
insert or a re-request) that produced the extra hand-over. ``GuardStop`` names the guard step
that, in a contrast run of the same seed under other guards, decided against a dispatch of
the same task. Sentences are made by ``racesim.reports.words``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from racesim.analysis.accesses import message_of, task_of
from racesim.analysis.windows import RETURNED_F1, SKIPPED_F2, RaceWindow, RunAnalysis, task_label
from racesim.sim.trace import Event


@dataclass(frozen=True, slots=True)
class Fact:
    """One trace event, with the task it concerns resolved from the final DB."""

    index: int
    time: float
    actor: str
    step: str
    op: str
    args: tuple
    result: object
    subject: str | None  # task label of the row the event is about, if any


def fact(analysis: RunAnalysis, i: int) -> Fact:
    ev = analysis.events[i]
    return Fact(i, ev.time, ev.actor, ev.step, ev.op, ev.args, ev.result, _subject(ev, analysis.db))


def _subject(ev: Event, db) -> str | None:
    eid: object = None
    if ev.op == "InsertExecution":
        eid = ev.result
    elif ev.op in ("ReadExecution", "SetExecutionStatus", "WriteExecutionRow", "CasExecutionStatus"):
        eid = ev.args[0] if ev.args else None
    elif ev.op in ("Publish", "Consume"):
        msg = message_of(ev)
        eid = msg[1] if msg else None
    if isinstance(eid, int) and not isinstance(eid, bool):
        return task_label(task_of(db, eid), eid)
    return None


@dataclass(slots=True)
class ReadLink:
    read: Fact
    saw: Fact | None  # the last write by another actor this read observed
    missed: list[Fact]  # competing writes it did not observe


@dataclass(slots=True)
class Chain:
    """One actor's path to a dispatch of the duplicated key."""

    actor: str
    reads: list[ReadLink]
    act: Fact


@dataclass(slots=True)
class Explanation:
    finding: str  # the finding kind explained ("duplicates")
    task: str
    key: str  # task label of the key, e.g. "validate" or "process_items[3]"
    kind: str  # "rows" (several rows) or "rerun" (one row handed over again)
    executions: list[int]
    handovers: list[Fact]
    chains: list[Chain]
    window: RaceWindow
    steps: list[str] = field(default_factory=list)  # step labels in the chain, first use order
    missed_any: bool = False  # did a later chain miss an earlier one's write?
    guards: tuple[str, ...] = ()  # the guard switches the run had on


def explain(analysis: RunAnalysis, window: RaceWindow) -> Explanation:
    chains: list[Chain] = []
    for d in window.decisions:
        links = []
        for r in d.reads:
            seen = [w for rr, w in d.saw if rr == r]
            missed = [w for rr, w in d.missed if rr == r]
            links.append(
                ReadLink(fact(analysis, r), fact(analysis, seen[-1]) if seen else None, [fact(analysis, w) for w in missed])
            )
        chains.append(Chain(d.actor, links, fact(analysis, d.act)))
    handovers = [fact(analysis, i) for i in window.dispatches]
    steps: list[str] = []
    for c in chains:
        for link in c.reads:
            for f in (link.saw, link.read, *link.missed):
                if f is not None and f.step not in steps:
                    steps.append(f.step)
        if c.act.step not in steps:
            steps.append(c.act.step)
    for h in handovers:
        if h.step not in steps:
            steps.append(h.step)
    return Explanation(
        "duplicates",
        window.task,
        window.label,
        window.kind,
        list(window.executions),
        handovers,
        chains,
        window,
        steps,
        any(link.missed for c in chains[1:] for link in c.reads),
        tuple(analysis.config.guards.switches),
    )


def explanations(analysis: RunAnalysis, task: str | None = None, kind: str | None = None) -> list[Explanation]:
    """Explanations of the run's duplicates: of one task's keys when ``task`` is given, of
    one kind ("rows" or "rerun") when ``kind`` is."""
    return [
        explain(analysis, w) for w in analysis.windows if (task is None or w.task == task) and (kind is None or w.kind == kind)
    ]


# ---- what stopped it in the contrast run -----------------------------------------------------
@dataclass(frozen=True, slots=True)
class GuardStop:
    step: str  # the guard step that decided (F1, F2, D5', S2, P6d)
    guard: str  # the guard switch behind it
    fact: Fact  # the event at which it decided (for F1: the P6e read it acted on)
    subject: str  # the task it kept from being dispatched (again)


def guard_stops(analysis: RunAnalysis, task: str) -> list[GuardStop]:
    """Every guard decision in a run that kept ``task`` from a dispatch: Layer 1 returning
    after a predecessor's last item (F1), Layer 2 finding a row (F2), the dispatch key
    already taken (D5'), the claim dropping a row that is no longer requested (S1) or losing
    its compare-and-set (S2), a re-check of a pending row under the lock (P6d)."""
    out: list[GuardStop] = []
    evs, db = analysis.events, analysis.db
    node = analysis.config.graph.nodes.get(task)
    predecessors = tuple(node.inbound) if node is not None else ()
    rechecks = analysis.config.guards.lock  # only the serialized advance re-checks a pending row
    for adv in analysis.advances:
        if adv.outcome == RETURNED_F1 and adv.task in predecessors:
            p6e = next((i for i in range(adv.start, adv.end + 1) if evs[i].actor == adv.actor and evs[i].step == "P6e"), None)
            if p6e is not None:
                out.append(GuardStop("F1", "layer1", fact(analysis, p6e), task))
        elif adv.outcome == SKIPPED_F2 and task in adv.skipped:
            f2 = next(i for i in range(adv.start, adv.end + 1) if evs[i].actor == adv.actor and evs[i].step == "F2")
            out.append(GuardStop("F2", "layer2", fact(analysis, f2), task))
    last_s1: dict[str, int] = {}  # actor -> its last S1 read
    for i, ev in enumerate(evs):
        if ev.step == "S1" and ev.op == "ReadExecution":
            last_s1[ev.actor] = i
        elif ev.op == "Ack" and ev.step == "S1" and ev.actor in last_s1:
            # The claim's in-memory drop: S1 read a row neither requested nor scheduling.
            r = last_s1.pop(ev.actor)
            t = task_of(db, evs[r].args[0])
            if t is not None and t[0] == task:
                out.append(GuardStop("S1", "claim", fact(analysis, r), task_label(t)))
        elif ev.op == "SelectPending" and ev.step == "P6d" and len(ev.args) > 1 and ev.args[1] == task:
            # A release that found fewer pending rows because a claim had already moved one
            # out of requested: the claim's write is the write this select observed.
            for w, _, data in analysis.graph.in_edges(i, data=True):
                cas = evs[w]
                if data["kind"] == "wr" and cas.op == "CasExecutionStatus" and cas.step == "S2" and cas.result is True:
                    t = task_of(db, cas.args[0])
                    if t is not None and t[0] == task:
                        out.append(GuardStop("S2", "claim", fact(analysis, w), task_label(t)))
        elif ev.op == "InsertDispatchKey" and ev.result is False and task in ev.args:
            out.append(GuardStop(ev.step, "dedupe", fact(analysis, i), task))
        elif ev.op == "CasExecutionStatus" and ev.result is False and ev.step == "S2":
            t = task_of(db, ev.args[0])
            if t is not None and t[0] == task:
                out.append(GuardStop("S2", "claim", fact(analysis, i), task_label(t)))
        elif ev.op == "ReadExecution" and ev.step == "P6d" and isinstance(ev.result, tuple) and len(ev.result) == 3:
            t = task_of(db, ev.args[0])
            if rechecks and t is not None and t[0] == task and ev.result[2] != "requested":
                out.append(GuardStop("P6d", "lock", fact(analysis, i), task_label(t)))
    return sorted(out, key=lambda s: s.fact.index)
