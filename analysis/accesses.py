"""What each trace event read or wrote, and which message it carried.

Access keys: ``("exec", id)`` one execution row; ``("task", name)`` a predicate over one
task's rows; ``("children",)`` a predicate over all of the workflow's rows; ``("wf", id)``
a workflow_execution row; ``("dkey", name, index)`` a dispatch key.
"""

from __future__ import annotations

from dataclasses import dataclass

from racesim.models.rows import WORKER_DISPATCH
from racesim.sim.trace import Event

Key = tuple
TaskKey = tuple[str, int | None]

# Ops whose reads feed the decision to dispatch a successor (spec 4.1 P2/P6e, 4.2 F2,
# 2.4 dispatch key) or to release an item (P6d).
DECISIVE_OPS = frozenset(
    {"ReadWorkflowExecution", "CountRemaining", "CountTaskRows", "InsertDispatchKey", "ReadDispatchKey", "SelectPending"}
)
# Predicates over the rows of one task (its name is the op's second argument).
TASK_PREDICATES = frozenset(
    {"CountInFlight", "SelectPending", "CountRemaining", "AnyItemFailed", "CountTaskRows", "ReadItemRows"}
)
EXEC_WRITES = frozenset({"SetExecutionStatus", "WriteExecutionRow"})


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


def _dkey(args: tuple) -> Key:
    # (workflow, task, index[, execution]) since the op catalogue; (task, index[, ...]) before.
    if len(args) >= 3 and isinstance(args[0], int) and isinstance(args[1], str):
        return ("dkey", args[1], args[2])
    return ("dkey", args[0], args[1])


def accesses(ev: Event, db) -> list[Access]:
    """The DB rows and predicates an event read or wrote (nothing for a failed op)."""
    op, args, result = ev.op, ev.args, ev.result
    if is_error(result):
        return []
    out: list[Access] = []

    def exec_write(eid: int) -> None:
        out.append(Access("w", ("exec", eid)))
        task = task_of(db, eid)
        if task is not None:
            out.append(Access("w", ("task", task[0])))
            out.append(Access("w", ("children",)))

    if op == "ReadExecution":
        out.append(Access("r", ("exec", args[0])))
    elif op == "InsertExecution" and isinstance(result, int):
        exec_write(result)
    elif op in EXEC_WRITES:
        exec_write(args[0])
    elif op == "CasExecutionStatus":
        if result is True:
            exec_write(args[0])
        else:
            out.append(Access("r", ("exec", args[0])))
    elif op in TASK_PREDICATES:
        out.append(Access("r", ("task", args[1])))
        if op == "SelectPending" and isinstance(result, tuple):
            out.extend(Access("r", ("exec", e)) for e in result)  # it saw these rows `requested`
    elif op in ("CountRunning", "ReadChildren"):
        out.append(Access("r", ("children",)))
    elif op == "InsertWorkflowExecution" and isinstance(result, int):
        out.append(Access("w", ("wf", result)))
    elif op == "ReadWorkflowExecution":
        out.append(Access("r", ("wf", args[0])))
    elif op == "UpdateWorkflowExecution":
        out.append(Access("w", ("wf", args[0])))
    elif op in ("InsertDispatchKey", "ReadDispatchKey"):
        out.append(Access("r", _dkey(args)))
        if op == "InsertDispatchKey" and result is True:
            out.append(Access("w", _dkey(args)))
    elif op == "SetDispatchKeyExecution":
        out.append(Access("w", _dkey(args)))
    return out


# ---- messages ------------------------------------------------------------------------------
def message_of(ev: Event) -> tuple[str, int] | None:
    """(kind, execution id) of a Publish's message or a Consume's delivery. A published
    message is traced as ``Message.summary()``: ``Kind#id`` or ``Kind#id:status``."""
    if ev.op == "Publish" and len(ev.args) >= 2:
        kind, sep, rest = str(ev.args[1]).partition("#")
        number = rest.split(":", 1)[0]
        return (kind, int(number)) if sep and number.isdigit() else None
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
        redelivered = bool(ev.result[4]) if len(ev.result) > 4 else False
        src: int | None = None
        if redelivered and key in delivered:
            src = delivered[key]
        elif pending.get(key):
            src = pending[key].pop(0)
        else:  # a trace without the consumed queue: any queue carrying this message
            for k in sorted((k for k in pending if k[1] == msg and pending[k]), key=lambda k: pending[k][0]):
                src = pending[k].pop(0)
                break
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
