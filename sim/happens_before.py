"""Happens-before analysis of one run's trace, and the race window behind each duplicate.

Nodes are record indexes. Edges (attribute ``kind``):

- ``po``  program order: consecutive records of one actor;
- ``msg`` a publish and the consume that received that message;
- ``wr``  a DB write and a later read by another actor of the same row or task predicate
  (the read observed the write: Elle's write-read dependency);
- ``rw``  a read and the next write by another actor of what it read (the read missed the
  write: Elle's anti-dependency). Not a happens-before edge; kept for the race window.

A *race window* is, for one task key dispatched more than once, the deciding actors, the
reads whose results let each of them dispatch, the writes those reads observed, and the
writes they missed. Everything here is a pure function of the trace and the final DB, so
reports built from it are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
from racesim.models import ops
from racesim.sim.trace import Event, events

HB_KINDS = ("po", "msg", "wr")

# Reads whose results feed the decision to dispatch a successor (spec 4.1 P2/P6e, 4.2 F2,
# 2.4 dispatch key) or to release an item (P6d): the op catalogue's ``decisive`` flag.
DECISIVE_OPS = frozenset(kind.name for kind in ops.CATALOGUE.values() if kind.decisive)

Key = tuple


@dataclass(frozen=True, slots=True)
class Access:
    mode: str  # "r" or "w"
    key: Key


def _is_error(result: object) -> bool:
    return isinstance(result, tuple) and len(result) == 2 and result[0] == "error"


def task_of(db, eid: int) -> tuple[str, int | None] | None:
    row = db.executions.get(eid) if db is not None else None
    wt = row.workflow_task if row is not None else None
    return None if wt is None else (wt.task_name, wt.task_index)


def task_label(task: tuple[str, int | None] | None, eid: int | None = None) -> str:
    if task is None:
        return f"row {eid}"
    name, index = task
    return name if index is None else f"{name}[{index}]"


def accesses(ev: Event, db) -> list[Access]:
    """The shared resources an event read or wrote, from the op catalogue (``models.ops``
    documents the resource keys); ``db`` is the run's final simulated database."""
    reads, writes = ops.observed(ev.op, ev.args, ev.result, db)
    return [Access("r", k) for k in sorted(reads, key=repr)] + [Access("w", k) for k in sorted(writes, key=repr)]


def message_of(ev: Event) -> tuple[str, int] | None:
    """(kind, execution id) of a Publish's message or a Consume's delivery."""
    if ev.op == "Publish" and len(ev.args) >= 4:
        return (str(ev.args[2]), int(ev.args[3]))
    if ev.op == "Consume" and isinstance(ev.result, tuple) and len(ev.result) >= 4 and ev.result[0] == "msg":
        return (str(ev.result[2]), int(ev.result[3]))
    return None


def message_links(evs: list[Event]) -> list[tuple[int, int]]:
    """(publish index, consume index) pairs. Queues are FIFO, so a consume takes the oldest
    unconsumed publish of the same message on its queue; a redelivery links to the publish
    its first delivery came from."""
    pending: dict[tuple, list[int]] = {}
    delivered: dict[tuple, int] = {}
    links: list[tuple[int, int]] = []
    for i, ev in enumerate(evs):
        msg = message_of(ev)
        if msg is None:
            continue
        if ev.op == "Publish":
            pending.setdefault((str(ev.args[0]), msg), []).append(i)
            continue
        queue = str(ev.args[1]) if len(ev.args) > 1 else None  # Consume records (consumer, queue)
        key = (queue, msg)
        redelivered = bool(ev.result[4]) if len(ev.result) > 4 else False
        src: int | None = None
        if redelivered and key in delivered:
            src = delivered[key]
        elif pending.get(key):
            src = pending[key].pop(0)
        if src is not None:
            delivered[key] = src
            links.append((src, i))
    return links


def build_graph(result) -> nx.DiGraph:
    """The happens-before graph of a run (plus ``rw`` anti-dependency edges, see module doc)."""
    evs = events(result.output.records)
    db = result.output.db
    g = nx.DiGraph()
    last_of_actor: dict[str, int] = {}
    last_write: dict[Key, int] = {}
    open_reads: dict[Key, list[int]] = {}  # reads since the key's last write
    for i, ev in enumerate(evs):
        g.add_node(i, time=ev.time, actor=ev.actor, step=ev.step, op=ev.op)
        prev = last_of_actor.get(ev.actor)
        if prev is not None:
            g.add_edge(prev, i, kind="po")
        last_of_actor[ev.actor] = i
        for acc in accesses(ev, db):
            if acc.mode == "r":
                w = last_write.get(acc.key)
                if w is not None and evs[w].actor != ev.actor and not g.has_edge(w, i):
                    g.add_edge(w, i, kind="wr", key=acc.key)
                open_reads.setdefault(acc.key, []).append(i)
            else:
                for r in open_reads.pop(acc.key, []):
                    if evs[r].actor != ev.actor and r != i and not g.has_edge(r, i):
                        g.add_edge(r, i, kind="rw", key=acc.key)
                last_write[acc.key] = i
    for p, c in message_links(evs):
        if not g.has_edge(p, c):
            g.add_edge(p, c, kind="msg")
    return g


def hb_view(g: nx.DiGraph) -> nx.DiGraph:
    """Only the happens-before edges (po, msg, wr)."""
    return nx.subgraph_view(g, filter_edge=lambda u, v: g.edges[u, v]["kind"] in HB_KINDS)


# ---- segments: one handling of one message by one actor --------------------------------------
def segments(evs: list[Event]) -> dict[int, int]:
    """Record index -> index of the record that opened its segment (the actor's last Consume,
    or its first record): one segment is one advance of a listener, one hand-over of the
    scheduler, one run of a worker slot."""
    start: dict[str, int] = {}
    out: dict[int, int] = {}
    for i, ev in enumerate(evs):
        if ev.op == "Consume" or ev.actor not in start:
            start[ev.actor] = i
        out[i] = start[ev.actor]
    return out


@dataclass(slots=True)
class Advance:
    """One completion handled by one listener (or one hand-over by the scheduler)."""

    actor: str
    start: int
    end: int
    handled: str  # what it consumed, e.g. "ExecutionCompleted#6 (process_items[4])"
    remaining: int | None = None  # P6e result
    dispatched: list[str] = field(default_factory=list)  # tasks it inserted (D5/H17)
    released: list[str] = field(default_factory=list)  # items it requested (P6d)
    skipped: list[str] = field(default_factory=list)  # F2 hits
    outcome: str = ""


def advances(result) -> list[Advance]:
    """Every completion-listener advance of the run, with what it read and decided."""
    evs = events(result.output.records)
    db = result.output.db
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
            what = "?" if msg is None else f"{msg[0]}#{msg[1]} ({task_label(task_of(db, msg[1]), msg[1])})"
            adv = found[s] = Advance(head.actor, s, s, what)
        adv.end = i
        if ev.op == "CountRemaining" and isinstance(ev.result, int):
            adv.remaining = ev.result
        elif ev.op == "InsertExecution" and isinstance(ev.result, int) and ev.step not in ("E4",):
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
    steps = [evs[i].step for i in range(adv.start, adv.end + 1) if evs[i].actor == adv.actor]
    ops = [evs[i].op for i in range(adv.start, adv.end + 1) if evs[i].actor == adv.actor]
    if adv.dispatched:
        return "dispatched " + ", ".join(adv.dispatched)
    if "P15" in steps:
        return "completed the workflow"
    if adv.skipped:
        return "skipped " + ", ".join(adv.skipped) + " at F2 (a row exists)"
    if adv.remaining is not None and adv.remaining > 0:
        return f"returned at P6e ({adv.remaining} remaining)"
    if adv.remaining == 0 and "P6f" not in steps:
        return "returned at F1 (task already in completed/failed_tasks)"
    if "ReadWorkflowExecution" in ops and "P4" not in steps and "H8" not in steps:
        return "returned at P3/H5 (workflow finished)"
    return "no dispatch"


# ---- the race window ------------------------------------------------------------------------
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
    sentences: list[str]

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


def worker_dispatches(evs: list[Event], db) -> dict[tuple[str, int | None], list[int]]:
    """Task key -> record indexes of every publish of a WorkerDispatch to a worker queue."""
    out: dict[tuple[str, int | None], list[int]] = {}
    for i, ev in enumerate(evs):
        if ev.op != "Publish" or not str(ev.args[0]).startswith("worker."):
            continue
        msg = message_of(ev)
        task = task_of(db, msg[1]) if msg else None
        if task is not None:
            out.setdefault(task, []).append(i)
    return out


def race_windows(result, graph: nx.DiGraph | None = None) -> list[RaceWindow]:
    """One window per task key dispatched to workers more than once, in order of the
    first duplicate hand-over."""
    evs = events(result.output.records)
    db = result.output.db
    g = graph if graph is not None else build_graph(result)
    seg = segments(evs)
    links = {c: p for p, c in message_links(evs)}
    windows: list[RaceWindow] = []
    for key, disp in sorted(worker_dispatches(evs, db).items(), key=lambda kv: kv[1][1] if len(kv[1]) > 1 else len(evs)):
        if len(disp) < 2:
            continue
        eids: list[int] = []
        for i in disp:
            eid = message_of(evs[i])[1]
            if eid not in eids:
                eids.append(eid)
        if len(eids) > 1:
            acts = [_insert_of(evs, e) for e in eids]
            acts = [a for a in acts if a is not None]
            kind = "rows"
        else:
            acts = _release_publishes(evs, disp, seg, links)
            kind = "rerun"
        decisions = _decisions(evs, db, g, seg, acts, kind, eids[0] if kind == "rerun" else None)
        involved = [i for d in decisions for i in (d.act, *d.reads, *(w for _, w in d.missed))] + disp
        window = RaceWindow(
            key[0],
            key[1],
            kind,
            eids,
            disp,
            decisions,
            min(evs[i].time for i in involved),
            max(evs[i].time for i in involved),
            [],
        )
        window.sentences = explain(window, evs, db)
        windows.append(window)
    return windows


def _insert_of(evs: list[Event], eid: int) -> int | None:
    for i, ev in enumerate(evs):
        if ev.op == "InsertExecution" and ev.result == eid:
            return i
    return None


def _release_publishes(evs: list[Event], disp: list[int], seg: dict[int, int], links: dict[int, int]) -> list[int]:
    """For a row handed over more than once: the publishes of the requests each hand-over
    served (scheduler segment head -> the publish it consumed)."""
    out: list[int] = []
    for d in disp:
        head = seg[d]
        src = links.get(head)
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
        mine = [i for i in range(s, act) if evs[i].actor == actor and not _is_error(evs[i].result)]
        if kind == "rows":
            reads = [i for i in mine if evs[i].op in DECISIVE_OPS and evs[i].op != "SelectPending"]
        else:  # the release: the pending-row select that returned this row
            reads = [i for i in mine if evs[i].op == "SelectPending" and eid in (evs[i].result or ())]
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


# ---- words --------------------------------------------------------------------------------
def describe(ev: Event, db) -> str:
    """One event as a clause: who did what, at which step, when."""
    a, r = ev.args, ev.result
    when = f"at {ev.step} (t={ev.time:.6f})"
    if ev.op == "ReadWorkflowExecution" and isinstance(r, tuple) and len(r) == 4:
        return f"{ev.actor} read workflow_execution with completed_tasks=[{', '.join(r[2])}] {when}"
    if ev.op == "CountRemaining":
        return f"{ev.actor} read remaining={r} for {a[1]} {when}"
    if ev.op == "CountTaskRows":
        return f"{ev.actor} counted {r} existing {a[1]} row(s) {when}"
    if ev.op == "SelectPending":
        rows = ", ".join(task_label(task_of(db, e), e) for e in r) if isinstance(r, tuple) else str(r)
        return f"{ev.actor} selected pending {rows or 'nothing'} {when}"
    if ev.op in ("InsertDispatchKey", "ReadDispatchKey"):
        return f"{ev.actor} checked dispatch key {task_label((a[0], a[1]))} (result {r}) {when}"
    if ev.op == "InsertExecution" and isinstance(r, int):
        return f"{ev.actor} inserted {task_label(task_of(db, r), r)} as row {r} {when}"
    if ev.op in ("SetExecutionStatus", "WriteExecutionRow"):
        return f"{ev.actor} wrote {task_label(task_of(db, a[0]), a[0])} {a[1]} {when}"
    if ev.op == "CasExecutionStatus":
        return f"{ev.actor} claimed {task_label(task_of(db, a[0]), a[0])} {a[1]}->{a[2]} ({r}) {when}"
    if ev.op == "UpdateWorkflowExecution":
        cols = [c for c in a[1] if str(c).startswith(("completed_tasks", "status"))]
        return f"{ev.actor} wrote {', '.join(map(str, cols)) or 'workflow_execution'} {when}"
    if ev.op == "ReadExecution" and isinstance(r, tuple) and len(r) == 3:
        return f"{ev.actor} read {task_label(task_of(db, a[0]), a[0])} as {r[2]} {when}"
    if ev.op == "Publish":
        msg = message_of(ev)
        what = f"{msg[0]} for {task_label(task_of(db, msg[1]), msg[1])}" if msg else str(a[1])
        return f"{ev.actor} published {what} to {a[0]} {when}"
    return f"{ev.actor} did {ev.op}({', '.join(map(str, a))}) {when}"


def explain(window: RaceWindow, evs: list[Event], db) -> list[str]:
    """Elle-style sentences: why this key was dispatched more than once."""
    out: list[str] = []
    n = len(window.dispatches)
    if window.kind == "rows":
        out.append(
            f"{window.label} was handed to workers {n} times from {len(window.executions)} separate rows "
            f"(rows {', '.join(map(str, window.executions))}): {len(window.decisions)} advances each decided to dispatch it."
        )
    else:
        out.append(
            f"{window.label} (row {window.executions[0]}) was handed to workers {n} times: "
            f"its ExecutionRequested was published {len(window.decisions)} times and the scheduler served each one."
        )
    for k, d in enumerate(window.decisions):
        parts: list[str] = []
        for r in d.reads:
            clause = describe(evs[r], db)
            seen = [w for rr, w in d.saw if rr == r]
            if seen:
                clause += ", after " + describe(evs[seen[-1]], db)
            missed = [w for rr, w in d.missed if rr == r]
            if missed:
                clause += ", before " + " and ".join(describe(evs[w], db) for w in missed)
            parts.append(clause)
        head = "; ".join(parts) if parts else f"{d.actor} read nothing decisive"
        out.append(f"{'First' if k == 0 else 'Then'}: {head}; so {describe(evs[d.act], db)}.")
    if window.kind == "rows" and len(window.decisions) > 1 and not any(d.missed for d in window.decisions[1:]):
        out.append(
            "No later advance missed an earlier one's writes: each saw the task already in completed_tasks, "
            "but without Layer 1 nothing checks that list after remaining=0, and the successor was in neither "
            "completed_tasks nor failed_tasks because no copy of it had finished yet."
        )
    if window.kind == "rerun":
        for i in window.dispatches[1:]:
            out.append(f"Hand-over {window.dispatches.index(i) + 1}: " + describe(evs[i], db) + ".")
        out.append(
            "Without a claim (compare-and-set on the status), the scheduler writes the row back as scheduled "
            "whatever status it read, so every request for the row becomes another hand-over to a worker."
        )
    return out


def hb_graph(g: nx.DiGraph) -> nx.DiGraph:
    """A plain copy holding only the happens-before edges (fast to traverse repeatedly)."""
    out = nx.DiGraph()
    out.add_nodes_from(g.nodes)
    out.add_edges_from((u, v) for u, v, k in g.edges(data="kind") if k in HB_KINDS)
    return out


def window_graph(g: nx.DiGraph, window: RaceWindow, hb: nx.DiGraph | None = None) -> nx.DiGraph:
    """The race window's events with the happens-before order among them (transitive
    reduction of reachability in the full graph), plus each missed write as a ``rw`` edge.
    Events with no path between them in either direction were concurrent."""
    nodes = sorted(
        {*window.reads, *window.missed_writes, *window.observed_writes, *window.dispatches} | {d.act for d in window.decisions}
    )
    hb = hb if hb is not None else hb_graph(g)
    members = set(nodes)
    last = nodes[-1] if nodes else -1
    order = nx.DiGraph()
    order.add_nodes_from(nodes)
    for u in nodes:
        # Every edge goes from a lower record index to a higher one, so the search can stop
        # at the window's last event.
        seen = {u}
        stack = [u]
        while stack:
            x = stack.pop()
            for y in hb.successors(x):
                if y <= last and y not in seen:
                    seen.add(y)
                    stack.append(y)
                    if y in members:
                        order.add_edge(u, y)
    out = nx.transitive_reduction(order)
    out.add_nodes_from((n, g.nodes[n]) for n in nodes)
    for u, v in out.edges:
        out.edges[u, v]["kind"] = "hb"
    for d in window.decisions:
        for r, w in d.missed:
            out.add_edge(r, w, kind="rw")
    return out
