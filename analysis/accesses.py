"""What each trace event read or wrote, and which message it carried.

Access keys are the op catalogue's resources (``models.ops``: ``("exec", id)``,
``("task", W, name)``, ``("rows", W)``, ``("children", parent)``, ``("wf", W)``,
``("key", W, name, index)``, ...); what each op kind touches is read from the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from racesim.models import ops
from racesim.models.rows import WORKER_DISPATCH
from racesim.sim.trace import Event

Key = tuple
TaskKey = tuple[str, int | None]

# Ops whose reads feed the decision to dispatch a successor (spec 4.1 P2/P6e, 4.2 F2,
# 2.4 dispatch key) or to release an item (P6d): the catalogue's ``decisive`` flag.
DECISIVE_OPS = frozenset(kind.name for kind in ops.CATALOGUE.values() if kind.decisive)


@dataclass(frozen=True, slots=True)
class Access:
    mode: str  # "r" or "w"
    key: Key


def is_error(result: object) -> bool:
    return isinstance(result, tuple) and len(result) == 2 and result[0] == "error"


def task_of(db, eid: int | None) -> TaskKey | None:
    """(task name, item index) of execution ``eid``, from the run's final database."""
    row = db.executions.get(eid) if db is not None and eid is not None else None
    wt = row.workflow_task if row is not None else None
    return None if wt is None else (wt.task_name, wt.task_index)


def accesses(ev: Event, db) -> list[Access]:
    """The shared resources an event read or wrote (nothing for a failed op); ``db`` is the
    run's final simulated database, which resolves a row to its workflow and task."""
    reads, writes = ops.observed(ev.op, ev.args, ev.result, db)
    return [Access("r", k) for k in sorted(reads, key=repr)] + [Access("w", k) for k in sorted(writes, key=repr)]


# ---- messages ------------------------------------------------------------------------------
def message_of(ev: Event) -> tuple[str, int] | None:
    """(kind, execution id) of a Publish's message (traced as queue, summary, kind, id) or a
    Consume's delivery."""
    if ev.op == "Publish" and len(ev.args) >= 4:
        return (str(ev.args[2]), int(ev.args[3]))
    if ev.op == "Consume" and isinstance(ev.result, tuple) and len(ev.result) >= 4 and ev.result[0] == "msg":
        return (str(ev.result[2]), int(ev.result[3]))
    return None


def queue_of(ev: Event) -> str | None:
    """The queue a Publish wrote to or a Consume read from, as recorded in the trace."""
    if ev.op == "Publish" and ev.args:
        return str(ev.args[0])
    if ev.op == "Consume" and len(ev.args) >= 2:
        return str(ev.args[1])
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
            pending.setdefault((queue_of(ev), msg), []).append(i)
            continue
        key = (queue_of(ev), msg)
        res = ev.result
        redelivered = bool(res[4]) if isinstance(res, tuple) and len(res) > 4 else False
        src: int | None = None
        if redelivered and key in delivered:
            src = delivered[key]
        elif pending.get(key):
            src = pending[key].pop(0)
        if src is not None:
            delivered[key] = src
            links.append((src, i))
    return links


def worker_dispatches(evs: list[Event], db) -> dict[TaskKey, list[int]]:
    """Task key -> record indexes of every publish of a WorkerDispatch (a hand-over to a worker)."""
    out: dict[TaskKey, list[int]] = {}
    for i, ev in enumerate(evs):
        msg = message_of(ev) if ev.op == "Publish" else None
        if msg is None or msg[0] != WORKER_DISPATCH:
            continue
        task = task_of(db, msg[1])
        if task is not None:
            out.setdefault(task, []).append(i)
    return out
