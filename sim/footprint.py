"""Footprints: which shared resources an op reads and writes, for partial-order reduction.

Two steps of different actors commute (are independent) when neither writes a resource the
other reads or writes. The mapping is by op type and deliberately conservative:

- a predicate query over the rows of (W, task) reads ``("task", W, name)``; every write to a
  row of that task (status write, CAS, whole-row write, insert) writes that resource too, so
  queries and writes of one task never commute;
- queries over all rows of W (P9, P12) read ``("rows", W)``, which every row write of W writes;
- inserts also write ``("seq", table)``: ids are handed out in insert order, so two inserts do
  not commute (their ids would swap);
- Publish / Consume / Ack / Nack on one queue all write ``("queue", name)`` (delivery order,
  prefetch credit and round-robin turn are queue state);
- ``("all",)`` conflicts with everything: Rollback (it undoes whatever the session wrote), the
  workflow's creation, and any op at a step where an active fault may strike (a coin flip
  consumes the shared random stream, and a crash kills other actors).

Time is not a resource: under controlled strategies each op takes its mean latency and the
clock only follows the chosen op. The one reader of the clock, the stale-claim CAS (30 s),
writes the row it reads, so it conflicts with every other access to that row anyway.
"""

from __future__ import annotations

from collections.abc import Callable

from racesim.models import ops
from racesim.models.ops import Op

Resource = tuple
Footprint = tuple[frozenset[Resource], frozenset[Resource]]  # (reads, writes)

ALL: Resource = ("all",)
_EMPTY: frozenset[Resource] = frozenset()


class Context:
    """What the mapping needs from the world: row -> (W, task), consumer -> queue, faults."""

    def __init__(
        self,
        row_task: Callable[[int], tuple[int, str] | None],
        row_known: Callable[[int], bool],
        consumer_queue: Callable[[str], str | None],
        workflow_of_execution: Callable[[int], int | None],
        fault_steps: frozenset[str] = frozenset(),
        random_outcomes: bool = False,
    ) -> None:
        self.row_task = row_task
        self.row_known = row_known
        self.consumer_queue = consumer_queue
        self.workflow_of_execution = workflow_of_execution
        self.fault_steps = fault_steps
        self.random_outcomes = random_outcomes

    @classmethod
    def of_world(cls, world) -> Context:
        db, broker = world.db, world.broker

        def row_task(eid: int) -> tuple[int, str] | None:
            row = db.executions.get(eid)
            wt = row.workflow_task if row is not None else None
            return (wt.workflow_execution, wt.task_name) if wt is not None else None

        def consumer_queue(name: str) -> str | None:
            consumer = broker.consumers.get(name)
            return consumer.queue if consumer is not None else None

        fault_steps: frozenset[str] = frozenset()
        if world.faults is not None:
            fault_steps = frozenset(world.faults.by_step)
        random_outcomes = any(o.fail_probability > 0 for _, o in world.config.outcomes)
        return cls(
            row_task,
            lambda eid: eid in db.executions,
            consumer_queue,
            db.workflow_by_execution.get,
            fault_steps,
            random_outcomes,
        )


def _row_write(ctx: Context, eid: int) -> frozenset[Resource]:
    if not ctx.row_known(eid):
        return frozenset({ALL})  # unknown row: an error path; assume the worst
    wt = ctx.row_task(eid)
    if wt is None:
        return frozenset({("exec", eid)})  # the workflow's own execution row
    w, task = wt
    return frozenset({("exec", eid), ("task", w, task), ("rows", w)})


def _queue(ctx: Context, consumer: str) -> frozenset[Resource]:
    queue = ctx.consumer_queue(consumer)
    return frozenset({ALL}) if queue is None else frozenset({("queue", queue)})


def footprint(op: Op, ctx: Context) -> Footprint:
    """(reads, writes) of ``op`` when executed now."""
    if op.step in ctx.fault_steps:
        return _EMPTY, frozenset({ALL})
    kind = type(op)
    if kind is ops.ReadExecution:
        return frozenset({("exec", op.execution_id)}), _EMPTY
    if kind in (ops.SetExecutionStatus, ops.CasExecutionStatus):
        return _EMPTY, _row_write(ctx, op.execution_id)
    if kind is ops.WriteExecutionRow:
        return _EMPTY, _row_write(ctx, op.snapshot.id)
    if kind is ops.InsertExecution:
        writes: set[Resource] = {("seq", "execution")}
        wt = op.workflow_task
        if wt is not None:
            writes |= {("task", wt.workflow_execution, wt.task_name), ("rows", wt.workflow_execution)}
        if op.parent is not None:
            writes.add(("children", op.parent))
        return _EMPTY, frozenset(writes)
    if kind in (ops.CountInFlight, ops.SelectPending, ops.CountRemaining, ops.AnyItemFailed, ops.CountTaskRows, ops.ReadItemRows):
        return frozenset({("task", op.workflow_execution, op.task_name)}), _EMPTY
    if kind is ops.CountRunning:
        return frozenset({("rows", op.workflow_execution)}), _EMPTY
    if kind is ops.ReadChildren:
        return frozenset({("children", op.parent)}), _EMPTY
    if kind in (ops.ReadAction, ops.ReadDefinition, ops.ReadWorkers, ops.Begin, ops.Commit, ops.Sleep):
        return _EMPTY, _EMPTY  # static data, or session-local (the undo log)
    if kind is ops.ReadWorkflowExecution:
        return frozenset({("wf", op.workflow_execution)}), _EMPTY
    if kind is ops.UpdateWorkflowExecution:
        return _EMPTY, frozenset({("wf", op.workflow_execution)})
    if kind is ops.ReadDispatchKey:
        return frozenset({("key", op.workflow_execution, op.task_name, op.task_index)}), _EMPTY
    if kind in (ops.InsertDispatchKey, ops.SetDispatchKeyExecution):
        return _EMPTY, frozenset({("key", op.workflow_execution, op.task_name, op.task_index)})
    if kind in (ops.AdvisoryLock, ops.AdvisoryUnlock):
        return _EMPTY, frozenset({("lock", op.key)})
    if kind is ops.Publish:
        return _EMPTY, frozenset({("queue", op.queue)})
    if kind in (ops.Consume, ops.Ack, ops.Nack):
        return _EMPTY, _queue(ctx, op.consumer)
    if kind is ops.RunAction:
        # the outcome reads only immutable row fields, unless it is a coin flip
        return (_EMPTY, frozenset({("rng",)})) if ctx.random_outcomes else (_EMPTY, _EMPTY)
    # InsertWorkflowExecution, Rollback and any op type added later: conflicts with everything
    return _EMPTY, frozenset({ALL})


def dependent(a: Footprint, b: Footprint) -> bool:
    """True when two steps may not commute."""
    ra, wa = a
    rb, wb = b
    if ALL in wa or ALL in wb:
        return True
    return not (wa.isdisjoint(wb) and wa.isdisjoint(rb) and ra.isdisjoint(wb))
