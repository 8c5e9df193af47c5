"""The trace: one record per executed op, and the run's digest over it.

A record is ``(time, actor, step, op, args, result)`` built only from primitives (str,
int, float, bool, None, tuples of them), so ``repr`` of the whole list is a canonical
serialization that no hash seed or process can change.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from models.rows import Delivery, ExecRow, WorkflowRow

Record = tuple  # (time, actor, step, op, args, result)


class Event(NamedTuple):
    time: float
    actor: str
    step: str
    op: str
    args: tuple
    result: object


# Result type -> a primitive, canonical stand-in (anything else is already primitive).
SUMMARIES = {
    ExecRow: lambda r: ("exec", r.id, r.status),
    WorkflowRow: lambda r: ("wf", r.status, r.completed_tasks, r.failed_tasks),
    Delivery: lambda d: ("msg", d.tag, d.message.kind, d.message.execution_id, d.redelivered),
}


def summarize(result: object) -> object:
    """A primitive, canonical stand-in for an op's result."""
    f = SUMMARIES.get(type(result))
    return result if f is None else f(result)


def digest(records: list[Record]) -> str:
    return hashlib.sha256(repr(records).encode()).hexdigest()


def events(records: list[Record]) -> list[Event]:
    return [Event(*r) for r in records]
