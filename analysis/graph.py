"""The happens-before graph of one run.

Nodes are record indexes. Edges (attribute ``kind``):

- ``po``  program order: consecutive records of one actor;
- ``msg`` a publish and the consume that received that message;
- ``wr``  a DB write and a later read by another actor of the same row or task predicate
  (the read observed the write: Elle's write-read dependency);
- ``rw``  a read and the next write by another actor of what it read (the read missed the
  write: Elle's anti-dependency). Not a happens-before edge; kept for race windows.
"""

from __future__ import annotations

import networkx as nx
from racesim.analysis.accesses import Key, accesses, message_links
from racesim.sim.trace import Event

HB_KINDS = ("po", "msg", "wr")


def build_graph(evs: list[Event], db) -> nx.DiGraph:
    """The happens-before graph of a run's events (plus ``rw`` anti-dependency edges)."""
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


def hb_graph(g: nx.DiGraph) -> nx.DiGraph:
    """A plain copy holding only the happens-before edges (fast to traverse repeatedly)."""
    out = nx.DiGraph()
    out.add_nodes_from(g.nodes)
    out.add_edges_from((u, v) for u, v, k in g.edges(data="kind") if k in HB_KINDS)
    return out


def order_among(g: nx.DiGraph, nodes: list[int], hb: nx.DiGraph | None = None) -> nx.DiGraph:
    """The happens-before order among ``nodes`` (transitive reduction of reachability in the
    full graph). Nodes with no path between them in either direction were concurrent."""
    nodes = sorted(set(nodes))
    hb = hb if hb is not None else hb_graph(g)
    members = set(nodes)
    last = nodes[-1] if nodes else -1
    order = nx.DiGraph()
    order.add_nodes_from(nodes)
    for u in nodes:
        # Every edge goes from a lower record index to a higher one, so the search can stop
        # at the last node.
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
    return out


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
