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


def summarize(result: object) -> object:
    """A primitive, canonical stand-in for an op's result."""
    kind = type(result)
    if kind is ExecRow:
        return ("exec", result.id, result.status)
    if kind is WorkflowRow:
        return ("wf", result.status, result.completed_tasks, result.failed_tasks)
    if kind is Delivery:
        m = result.message
        return ("msg", result.tag, m.kind, m.execution_id, result.redelivered)
    return result


def digest(records: list[Record]) -> str:
    return hashlib.sha256(repr(records).encode()).hexdigest()


def events(records: list[Record]) -> list[Event]:
    return [Event(*r) for r in records]
