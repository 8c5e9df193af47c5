"""Advances and race windows: who decided what, reading which writes.

A *race window* is, for one task key handed to workers more than once, the deciding actors,
the reads whose results let each of them dispatch, the writes those reads observed, and
the writes they missed. Everything is a pure function of the trace and the final DB.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
from racesim.analysis.accesses import (
    DECISIVE_OPS,
    Key,
    TaskKey,
    accesses,
    is_error,
    message_links,
    message_of,
    task_of,
    worker_dispatches,
)
from racesim.analysis.graph import build_graph, hb_graph, order_among, segments
from racesim.sim.config import RunConfig
from racesim.sim.trace import Event, events


def task_label(task: TaskKey | None, eid: int | None = None) -> str:
    if task is None:
        return f"row {eid}"
    name, index = task
    return name if index is None else f"{name}[{index}]"


# ---- advances: one completion handled by one listener ----------------------------------------
# Outcome codes of an advance, most decisive first (the report words them).
DISPATCHED, COMPLETED_WORKFLOW, SKIPPED_F2, WAITING, RETURNED_F1, FINISHED, NO_DISPATCH = (
    "dispatched",
    "completed-workflow",
    "skipped-f2",
    "waiting",
    "returned-f1",
    "workflow-finished",
    "no-dispatch",
)


@dataclass(slots=True)
class Advance:
    actor: str
    start: int  # record index of the Consume that opened it
    end: int
    message: tuple[str, int] | None  # (kind, execution id) it consumed
    subject: str  # task label of that execution
    task: str | None  # its task name
    remaining: int | None = None  # P6e result
    dispatched: list[str] = field(default_factory=list)  # tasks it inserted (D5/H17)
    released: list[str] = field(default_factory=list)  # items it requested (P6d)
    skipped: list[str] = field(default_factory=list)  # F2 hits
    outcome: str = NO_DISPATCH


def advances(evs: list[Event], db) -> list[Advance]:
    """Every completion-listener advance of the run, with what it read and decided."""
    seg = segments(evs)
    found: dict[int, Advance] = {}
    for i, ev in enumerate(evs):
        s = seg[i]
        head = evs[s]
        if head.op != "Consume" or ".listener" not in head.actor:
            continue
        adv = found.get(s)
        if adv is None:
            msg = message_of(head)
            t = task_of(db, msg[1]) if msg is not None else None
            subject = "?" if msg is None else task_label(t, msg[1])
            adv = found[s] = Advance(head.actor, s, s, msg, subject, t[0] if t else None)
        adv.end = i
        if ev.op == "CountRemaining" and isinstance(ev.result, int):
            adv.remaining = ev.result
        elif ev.op == "InsertExecution" and isinstance(ev.result, int) and ev.step != "E4":
            adv.dispatched.append(task_label(task_of(db, ev.result), ev.result))
        elif ev.op == "Publish" and ev.step == "P6d":
            msg = message_of(ev)
            if msg is not None:
                adv.released.append(task_label(task_of(db, msg[1]), msg[1]))
        elif ev.op == "CountTaskRows" and isinstance(ev.result, int) and ev.result > 0:
            adv.skipped.append(str(ev.args[1]))
    out = sorted(found.values(), key=lambda a: a.start)
    for adv in out:
        adv.outcome = _outcome(evs, adv)
    return out


def _outcome(evs: list[Event], adv: Advance) -> str:
    mine = [evs[i] for i in range(adv.start, adv.end + 1) if evs[i].actor == adv.actor]
    steps = {e.step for e in mine}
    if adv.dispatched:
        return DISPATCHED
    if "P15" in steps:
        return COMPLETED_WORKFLOW
    if adv.skipped:
        return SKIPPED_F2
    if adv.remaining is not None and adv.remaining > 0:
        return WAITING
    if adv.remaining == 0 and "P6f" not in steps:
        return RETURNED_F1
    if any(e.op == "ReadWorkflowExecution" for e in mine) and not steps & {"P4", "H8"}:
        return FINISHED
    return NO_DISPATCH


# ---- race windows ---------------------------------------------------------------------------
@dataclass(slots=True)
class Decision:
    """One actor's decision that produced a dispatch of the duplicated key."""

    actor: str
    act: int  # the insert of a new row, or the publish that requested the row again
    reads: list[int]  # the decisive reads before the act, in its segment
    saw: list[tuple[int, int]]  # (read, the write it observed)
    missed: list[tuple[int, int]]  # (read, a competing write it did not observe)


@dataclass(slots=True)
class RaceWindow:
    task: str
    index: int | None
    kind: str  # "rows": several rows for one key; "rerun": one row handed to workers again
    executions: list[int]
    dispatches: list[int]  # record indexes of the worker hand-overs of this key
    decisions: list[Decision]
    start: float
    end: float

    @property
    def label(self) -> str:
        return task_label((self.task, self.index))

    @property
    def reads(self) -> list[int]:
        return sorted({r for d in self.decisions for r in d.reads})

    @property
    def missed_writes(self) -> list[int]:
        return sorted({w for d in self.decisions for _, w in d.missed})

    @property
    def observed_writes(self) -> list[int]:
        return sorted({w for d in self.decisions for _, w in d.saw})

    @property
    def members(self) -> list[int]:
        acts = [d.act for d in self.decisions]
        return sorted({*self.reads, *self.missed_writes, *self.observed_writes, *self.dispatches, *acts})


def race_windows(evs: list[Event], db, g: nx.DiGraph) -> list[RaceWindow]:
    """One window per task key handed to workers more than once, in order of the first
    duplicate hand-over."""
    seg = segments(evs)
    links = {c: p for p, c in message_links(evs)}
    windows: list[RaceWindow] = []
    by_key = worker_dispatches(evs, db)
    for key, disp in sorted(by_key.items(), key=lambda kv: kv[1][1] if len(kv[1]) > 1 else len(evs)):
        if len(disp) < 2:
            continue
        eids: list[int] = []
        for i in disp:
            msg = message_of(evs[i])
            if msg is not None and msg[1] not in eids:
                eids.append(msg[1])
        if len(eids) > 1:
            acts = [a for a in (_insert_of(evs, e) for e in eids) if a is not None]
            kind = "rows"
        else:
            acts = _release_publishes(disp, seg, links)
            kind = "rerun"
        decisions = _decisions(evs, db, g, seg, acts, kind, eids[0] if kind == "rerun" else None)
        involved = [i for d in decisions for i in (d.act, *d.reads, *(w for _, w in d.missed))] + disp
        windows.append(
            RaceWindow(
                key[0],
                key[1],
                kind,
                eids,
                disp,
                decisions,
                min(evs[i].time for i in involved),
                max(evs[i].time for i in involved),
            )
        )
    return windows


def _insert_of(evs: list[Event], eid: int) -> int | None:
    for i, ev in enumerate(evs):
        if ev.op == "InsertExecution" and ev.result == eid:
            return i
    return None


def _release_publishes(disp: list[int], seg: dict[int, int], links: dict[int, int]) -> list[int]:
    """For a row handed over more than once: the publishes of the requests each hand-over
    served (scheduler segment head -> the publish it consumed)."""
    out: list[int] = []
    for d in disp:
        src = links.get(seg[d])
        if src is not None and src not in out:
            out.append(src)
    return out


def _decisions(
    evs: list[Event], db, g: nx.DiGraph, seg: dict[int, int], acts: list[int], kind: str, eid: int | None
) -> list[Decision]:
    act_segments = {seg[a] for a in acts}
    out: list[Decision] = []
    for act in acts:
        actor = evs[act].actor
        s = seg[act]
        mine = [i for i in range(s, act) if evs[i].actor == actor and not is_error(evs[i].result)]
        if kind == "rows":
            reads = [i for i in mine if evs[i].op in DECISIVE_OPS and evs[i].op != "SelectPending"]
        else:  # the release: the pending-row select that returned this row
            reads = [i for i in mine if evs[i].op == "SelectPending" and eid in _ids(evs[i].result)]
        saw: list[tuple[int, int]] = []
        missed: list[tuple[int, int]] = []
        for r in reads:
            for w, _, data in g.in_edges(r, data=True):
                if data["kind"] == "wr" and evs[w].op != "InsertWorkflowExecution":
                    saw.append((r, w))
        if kind == "rows":
            # Competing advances' writes to what this advance read, landing between the read
            # and this advance's own insert: had they come first, the read would have said no.
            keys = {r: _keys(evs, db, r, "r") for r in reads}
            for w in range(reads[0] if reads else act, act):
                if seg[w] in act_segments and seg[w] != s and evs[w].actor != actor:
                    for r in reads:
                        if r < w and keys[r] & _keys(evs, db, w, "w"):
                            missed.append((r, w))
        else:
            for r in reads:
                for _, w, data in g.out_edges(r, data=True):
                    if data["kind"] == "rw" and data["key"] == ("exec", eid):
                        missed.append((r, w))  # the claim of the row it saw `requested`
        out.append(Decision(actor, act, reads, sorted(set(saw)), sorted(set(missed))))
    return out


def _keys(evs: list[Event], db, i: int, mode: str) -> set[Key]:
    return {a.key for a in accesses(evs[i], db) if a.mode == mode}


# ---- one run, analysed once ------------------------------------------------------------------
@dataclass(slots=True)
class RunAnalysis:
    """Everything the reports need from one run, computed once."""

    events: list[Event]
    db: object
    config: RunConfig  # the run's configuration (graph, guards)
    graph: nx.DiGraph
    windows: list[RaceWindow]
    advances: list[Advance]
    hb: nx.DiGraph

    def window_graph(self, window: RaceWindow) -> nx.DiGraph:
        """The window's events in happens-before order, plus each missed write as ``rw``."""
        out = order_among(self.graph, window.members, self.hb)
        for d in window.decisions:
            for r, w in d.missed:
                out.add_edge(r, w, kind="rw")
        return out


def analyse(result) -> RunAnalysis:
    """Analyse one ``RunResult`` (records and final DB)."""
    evs = events(result.output.records)
    db = result.output.db
    g = build_graph(evs, db)
    return RunAnalysis(evs, db, result.output.config, g, race_windows(evs, db, g), advances(evs, db), hb_graph(g))


def _ids(result: object) -> tuple:
    """The row ids a SelectPending returned (nothing when it failed)."""
    return result if isinstance(result, tuple) else ()
