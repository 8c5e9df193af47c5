"""The trace (one record per executed op, kept only for recorded runs) and the digests.

A record is ``(time, actor, step, op, args, result)`` built only from primitives (str,
int, float, bool, None, tuples of them).

``run_digest`` fingerprints a run from what every run produces, traced or not: its
schedule (the actor id of every step, in order), its step count, its final clock and
livelock flag, and its verdict. Same configuration + same choices => same schedule and
clock, so the digest is the determinism contract of a run; a recorded, a lean and a
replayed run of the same seed share it. ``sweep_step`` chains run digests into a sweep's
digest in constant memory.

``digest(records)`` (a trace's own digest, when one is kept) is SHA-256 over
``marshal.dumps(records, 2)``. Format version 2 is chosen
because it has no back-references (those arrived in version 3, keyed on object identity)
and no interned-string flags, so equal values always serialize to equal bytes, whatever
the process, PYTHONHASHSEED or object identity: tuples and lists as a type byte, a length
and their items; str as UTF-8 with its length; int as 32-bit or base-2**15 digits; float
as its 8 IEEE-754 bytes (exact, and about six times cheaper than ``repr``'s shortest
decimal); True, False and None as one byte each. A record holding anything else (which
``marshal`` refuses) falls back to SHA-256 over ``repr``, tagged so the two never collide.
"""

from __future__ import annotations

import hashlib
import marshal
from typing import NamedTuple

from racesim.models.rows import ChildRows, Delivery, ExecRow, WorkflowRow

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
    ChildRows: lambda c: tuple(r.id for r in c),
    Delivery: lambda d: ("msg", d.tag, d.message.kind, d.message.execution_id, d.redelivered),
}


def digest(records: list[Record]) -> str:
    try:
        data = marshal.dumps(records, 2)
    except ValueError:  # a non-primitive in a record: repr is canonical only if its repr is
        data = b"repr:" + repr(records).encode()
    return hashlib.sha256(data).hexdigest()


RUN_DIGEST_FORMAT = "racesim-run-v2"
SWEEP_DIGEST_START = hashlib.sha256(b"racesim-sweep-v2").digest()


def run_digest(schedule: list[int], end_time: float, livelock: bool, verdict: tuple) -> str:
    """SHA-256 over the marshal-2 bytes of (format, steps, end time, livelock, schedule,
    verdict); ``verdict`` is a tuple of primitives. The seed is not in it: a replay of the
    run's choices under any seed is the same run."""
    data = marshal.dumps((RUN_DIGEST_FORMAT, len(schedule), end_time, livelock, schedule, verdict), 2)
    return hashlib.sha256(data).hexdigest()


def sweep_step(chain: bytes, run_digest_hex: str) -> bytes:
    """One link of a sweep's digest: ``sha256(chain || run digest)``, runs in seed order
    (start from ``SWEEP_DIGEST_START``; the sweep digest is the last link, in hex)."""
    return hashlib.sha256(chain + bytes.fromhex(run_digest_hex)).digest()


def events(records: list[Record]) -> list[Event]:
    return [Event(*r) for r in records]
