"""Simulated database: the execution, workflow_execution and workflow_task_dispatch tables.

Each operation is atomic and none spans a yield: the world executes one op at a time.
Predicates follow the spec exactly (status sets, self-exclusion, whole-array overwrites).
Rows are immutable snapshots, so a read hands out the stored object without copying.
Every predicate over one (workflow, task) reads counters kept per status for that group and
a sorted list of its ``requested`` rows, maintained on each write, so an advance costs the
same whatever the number of items (a scan made a with_items task quadratic in its items).
Transactions keep an undo log (rolled back on ROLLBACK or when the session dies); writes
are visible to other sessions at once, which is exact here because every concurrent
advance waits on the advisory lock and no other actor reads the rows a transaction writes
before its messages are published after COMMIT.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable
from itertools import repeat
from typing import Any, NamedTuple, Protocol

from racesim.models import ops
from racesim.models.ops import StoreError
from racesim.models.rows import WORKER_STALE_SECONDS, ChildRows, ExecRow, WorkflowRow
from racesim.models.statuses import (
    CANCELING,
    COMPLETED,
    FAILED,
    FINISHED,
    IN_FLIGHT,
    ITEM_FAILED,
    RECOVERY_TERMINAL,
    REQUESTED,
    RUNNING,
    SCHEDULED,
    SCHEDULING,
    WORKFLOW_TERMINAL,
)
from racesim.sim.timing import transaction_channel

BLOCKED = object()  # an op that cannot complete yet; the actor waits to be woken


class TaskRows:
    """The execution rows of one (W, task): ids in insert order, how many rows are in each
    status, and the ``requested`` rows in the order P6d selects them."""

    __slots__ = ("ids", "counts", "requested")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.counts: dict[str, int] = {}
        self.requested: list[tuple[bool, int, int]] = []  # _pending_key of each requested row

    def enter(self, row: ExecRow) -> None:
        counts = self.counts
        counts[row.status] = counts.get(row.status, 0) + 1
        if row.status == REQUESTED:
            insort(self.requested, _pending_key(row))

    def leave(self, row: ExecRow) -> None:
        self.counts[row.status] -= 1
        if row.status == REQUESTED:
            requested = self.requested
            del requested[bisect_left(requested, _pending_key(row))]

    def count(self, statuses: tuple[str, ...]) -> int:
        counts = self.counts
        return sum(counts.get(s, 0) for s in statuses)


_NO_ROWS = TaskRows()


class Clock(Protocol):
    """Where the store reads the time of the op it executes (a simpy Environment)."""

    @property
    def now(self) -> float: ...


class ManualClock:
    """A clock set by hand, for a store driven outside the simulator."""

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = 0.0


class SimDB:
    def __init__(self, worker_ids: tuple[int, ...], clock: Clock | None = None) -> None:
        """``clock``: read at each op that stamps or ages a row (the world passes simpy's
        environment, so no step has to copy the time into the store)."""
        self.worker_heartbeat: dict[int, float] = {}  # last beat of a worker that stopped beating
        self.executions: dict[int, ExecRow] = {}
        self.tasks: dict[tuple[int, str], TaskRows] = {}  # (W, task) -> its rows
        self.workflow_tasks: dict[int, dict[str, TaskRows]] = {}  # W -> task -> its rows
        self.by_parent: dict[int, list[int]] = {}
        self.by_workflow: dict[int, list[int]] = {}  # workflow_task.workflow_execution -> ids
        self.workflows: dict[int, WorkflowRow] = {}
        self.workflow_by_execution: dict[int, int] = {}
        self.dispatch_keys: dict[tuple[int, str, int], int | None] = {}
        self.worker_ids = worker_ids
        self.next_execution_id = 1
        self.next_workflow_id = 1
        self.clock: Clock = clock if clock is not None else ManualClock()
        self._undo: dict[int, list[tuple[str, Any, Any]]] = {}  # session -> undo log
        self.lock_holder: dict[int, int] = {}  # advisory key -> session
        self.lock_waiters: dict[int, deque[int]] = {}
        # Lost-update evidence (checkers.lost_update): the workflow row each session read last,
        # and every name or value a whole-array write dropped that another writer had added
        # after this writer's read. Cheap: a few writes per run.
        self.workflow_reads: dict[tuple[int, int], WorkflowRow] = {}
        self.lost_writes: list[LostWrite] = []
        # Finished rows written again (checkers: finished_overwritten): a workflow child whose
        # status was finished (completed, failed, timeout, cancelled, abandoned) and that a
        # later write gave another status. Rare: a few writes in the runs that have any.
        self.finished_rewrites: list[FinishedRewrite] = []
        self._finished_by: dict[int, tuple[str, float]] = {}  # row -> (step, time) of its finishing write

    @property
    def now(self) -> float:
        return self.clock.now

    @now.setter
    def now(self, value: float) -> None:
        clock = self.clock
        if not isinstance(clock, ManualClock):
            raise TypeError("this store reads the simulator's clock; it cannot be set")
        clock.now = value

    @property
    def handlers(self) -> dict[type, Callable[[int, Any], object]]:
        """Op type -> this store's method for it (built on each call: a stored table of
        bound methods would make every store a reference cycle)."""
        return dict(zip(_HANDLED, map(getattr, repeat(self), _HANDLER_NAMES), strict=True))

    # ---- writes go through here so a transaction can undo them ---------------------------
    def _put_execution(self, session: int, row: ExecRow, step: str = "") -> None:
        old = self.executions.get(row.id)
        undo = self._undo.get(session)
        if undo is not None:
            undo.append(("execution", row.id, old))
        if row.workflow_task is not None and (old is None or old.status != row.status):
            if old is not None and old.status in RECOVERY_TERMINAL:  # it had finished: a rewrite
                by, at = self._finished_by.get(old.id, ("", 0.0))
                rewrite = FinishedRewrite(old.id, old.status, by, at, row.status, step, session, self.now)
                self.finished_rewrites.append(rewrite)
                if undo is not None:
                    undo.append(("rewrite", rewrite, None))  # rolled back: the row never left its end
            if row.status in RECOVERY_TERMINAL:  # it finishes now: remember who finished it
                if undo is not None:
                    undo.append(("finished_by", row.id, self._finished_by.get(row.id)))
                self._finished_by[row.id] = (step, self.now)
        self._store(row.id, old, row)

    def _store(self, eid: int, old: ExecRow | None, new: ExecRow | None) -> None:
        """Replace row ``eid`` (``None``: absent) and keep every index in step. A row's
        workflow_task and parent never change, only its status."""
        if new is None:
            del self.executions[eid]
        else:
            self.executions[eid] = new
        row = new if new is not None else old
        assert row is not None
        wt = row.workflow_task
        if wt is not None:
            key = (wt.workflow_execution, wt.task_name)
            group = self.tasks.get(key)
            if group is None:
                group = self.tasks[key] = TaskRows()
                self.workflow_tasks.setdefault(key[0], {})[key[1]] = group
            if old is not None:
                group.leave(old)
            else:
                group.ids.append(eid)
                self.by_workflow.setdefault(key[0], []).append(eid)
            if new is not None:
                group.enter(new)
            else:
                _discard(self.tasks, key, eid, lambda g: g.ids)
                _discard(self.by_workflow, key[0], eid)
        if old is None and row.parent is not None:
            self.by_parent.setdefault(row.parent, []).append(eid)
        elif new is None:
            _discard(self.by_parent, row.parent, eid)

    def _put_workflow(self, session: int, row: WorkflowRow) -> None:
        undo = self._undo.get(session)
        if undo is not None:
            undo.append(("workflow", row.id, self.workflows.get(row.id)))
        self.workflows[row.id] = row

    def _put_key(self, session: int, key: tuple[int, str, int], value: int | None) -> None:
        undo = self._undo.get(session)
        if undo is not None:
            undo.append(("key", key, self.dispatch_keys.get(key, _ABSENT)))
        self.dispatch_keys[key] = value

    def _row(self, eid: int) -> ExecRow:
        row = self.executions.get(eid)
        if row is None:
            raise StoreError(f"execution {eid} not found")
        return row

    # ---- execution table ---------------------------------------------------------------
    def read_execution(self, session: int, op: ops.ReadExecution) -> ExecRow:
        row = self.executions.get(op.execution_id)  # _row inlined: the most frequent op
        if row is None:
            raise StoreError(f"execution {op.execution_id} not found")
        return row

    def insert_execution(self, session: int, op: ops.InsertExecution) -> int:
        eid = self.next_execution_id
        self.next_execution_id = eid + 1
        row = ExecRow(eid, op.action_ref, op.parent, op.status, op.workflow_task, None, None, self.now)
        self._put_execution(session, row)
        return eid

    def set_execution_status(self, session: int, op: ops.SetExecutionStatus) -> None:
        r = self._row(op.execution_id)
        result = op.result if op.result is not None else r.result
        self._put_execution(
            session, ExecRow(r.id, r.action_ref, r.parent, op.status, r.workflow_task, result, r.worker, self.now), op.step
        )

    def write_execution_row(self, session: int, op: ops.WriteExecutionRow) -> None:
        # attune's update writes back the snapshot's non-null fields (status among them)
        # with no precondition on the current status: it can un-finish a row.
        snap = op.snapshot
        cur = self._row(snap.id)
        result = snap.result if snap.result is not None else cur.result
        self._put_execution(
            session,
            ExecRow(cur.id, cur.action_ref, cur.parent, op.status, cur.workflow_task, result, op.worker, self.now),
            op.step,
        )

    def cas_execution_status(self, session: int, op: ops.CasExecutionStatus) -> bool:
        r = self._row(op.execution_id)
        if r.status != op.expect:
            return False
        if op.stale_after is not None and self.now - r.updated < op.stale_after:
            return False
        worker = op.worker if op.worker is not None else r.worker
        self._put_execution(
            session, ExecRow(r.id, r.action_ref, r.parent, op.new, r.workflow_task, r.result, worker, self.now), op.step
        )
        return True

    def _task_rows(self, w: int, task: str) -> list[ExecRow]:
        ex = self.executions
        return [ex[i] for i in self.tasks.get((w, task), _NO_ROWS).ids]

    def _own_status(self, me: int, w: int, task: str) -> str | None:
        """The status of row ``me`` if it belongs to (w, task): what the self-exclusion
        (``id <> me``) takes out of a count."""
        row = self.executions.get(me)
        if row is None:
            return None
        wt = row.workflow_task
        return row.status if wt is not None and wt.workflow_execution == w and wt.task_name == task else None

    def count_in_flight(self, session: int, op: ops.CountInFlight) -> int:
        w, t = op.workflow_execution, op.task_name
        group = self.tasks.get((w, t))
        if group is None:
            return 0
        own = self._own_status(op.exclude_id, w, t)
        return group.count(IN_FLIGHT) - (own is not None and own in IN_FLIGHT)

    def select_pending(self, session: int, op: ops.SelectPending) -> tuple[int, ...]:
        group = self.tasks.get((op.workflow_execution, op.task_name))
        if group is None or op.limit <= 0:
            return ()
        return tuple(key[2] for key in group.requested[: op.limit])

    def count_remaining(self, session: int, op: ops.CountRemaining) -> int:
        w, t = op.workflow_execution, op.task_name
        group = self.tasks.get((w, t))
        if group is None:
            return 0
        own = self._own_status(op.exclude_id, w, t)
        return len(group.ids) - group.count(FINISHED) - (own is not None and own not in FINISHED)

    def any_item_failed(self, session: int, op: ops.AnyItemFailed) -> bool:
        group = self.tasks.get((op.workflow_execution, op.task_name))
        return group is not None and group.count(ITEM_FAILED) > 0

    def count_task_rows(self, session: int, op: ops.CountTaskRows) -> int:
        group = self.tasks.get((op.workflow_execution, op.task_name))
        return 0 if group is None else len(group.ids)

    def count_running(self, session: int, op: ops.CountRunning) -> int:
        # attune filters on workflow_task.workflow_execution (not on parent), then drops
        # names already in C or F in memory.
        decided = (*op.completed, *op.failed)
        return sum(
            len(g.ids) - g.count(FINISHED)
            for name, g in self.workflow_tasks.get(op.workflow_execution, {}).items()
            if name not in decided
        )

    def read_children(self, session: int, op: ops.ReadChildren) -> ChildRows:
        ex = self.executions
        return ChildRows(ex[i] for i in self.by_parent.get(op.parent, ()))

    def read_item_rows(self, session: int, op: ops.ReadItemRows) -> tuple[int | None, ...]:
        ex = self.executions
        ids = self.tasks.get((op.workflow_execution, op.task_name), _NO_ROWS).ids
        return tuple(ex[i].workflow_task.task_index for i in ids)  # type: ignore[union-attr]

    def read_action(self, session: int, op: ops.ReadAction) -> None:
        return None  # a round trip whose answer the race does not depend on

    def read_definition(self, session: int, op: ops.ReadDefinition) -> None:
        return None

    def read_workers(self, session: int, op: ops.ReadWorkers) -> tuple[int, ...]:
        """The workers the scheduler may pick: those whose heartbeat is fresh (a running
        worker beats; one that stopped counts until its last beat is too old)."""
        beats = self.worker_heartbeat
        if not beats:
            return self.worker_ids
        now = self.now
        return tuple(w for w in self.worker_ids if w not in beats or now - beats[w] <= WORKER_STALE_SECONDS)

    # ---- workflow_execution --------------------------------------------------------------
    def insert_workflow_execution(self, session: int, op: ops.InsertWorkflowExecution) -> int:
        w = self.next_workflow_id
        self.next_workflow_id = w + 1
        self._put_workflow(session, WorkflowRow(w, op.execution, "running", task_graph=op.task_graph, updated=self.now))
        self.workflow_by_execution[op.execution] = w
        return w

    def read_workflow_execution(self, session: int, op: ops.ReadWorkflowExecution) -> WorkflowRow:
        # FOR UPDATE adds nothing here: every other writer of this row is an advance, and
        # advances of one workflow already wait on its advisory lock.
        row = self.workflows[op.workflow_execution]
        self.workflow_reads[(session, row.id)] = row
        return row

    def update_workflow_execution(self, session: int, op: ops.UpdateWorkflowExecution) -> None:
        row = self.workflows[op.workflow_execution]
        fields: dict[str, Any] = {
            "id": row.id,
            "execution": row.execution,
            "status": row.status,
            "completed_tasks": row.completed_tasks,
            "failed_tasks": row.failed_tasks,
            "current_tasks": row.current_tasks,
            "variables": row.variables,
            "error_message": row.error_message,
            "task_graph": row.task_graph,
            "updated": self.now,
        }
        fields.update(op.changes)  # each column a complete new value: last writer wins
        new = WorkflowRow(**fields)
        self._record_losses(session, op.step, row, new)
        self._put_workflow(session, new)

    def _record_losses(self, session: int, step: str, old: WorkflowRow, new: WorkflowRow) -> None:
        """A name in a list column (or a variable's value) that the overwritten row holds, this
        writer's read did not, and this write drops: another advance's update, lost here."""
        read = self.workflows_read(session, old.id)
        lost: list[LostWrite] = []
        for column in ("completed_tasks", "failed_tasks"):
            before, after = getattr(old, column), getattr(new, column)
            if before is after:
                continue
            seen = getattr(read, column) if read is not None else ()
            lost.extend(LostWrite(old.id, step, session, column, n) for n in before if n not in seen and n not in after)
        if old.variables is not new.variables:
            seen_vars = set(read.variables) if read is not None else set()
            kept = set(new.variables)
            lost.extend(
                LostWrite(old.id, step, session, "variables", name)
                for name, value in old.variables
                if (name, value) not in seen_vars and (name, value) not in kept
            )
        if not lost:
            return
        undo = self._undo.get(session)
        for loss in lost:
            self.lost_writes.append(loss)
            if undo is not None:
                undo.append(("lost", loss, None))  # rolled back: the loss never happened

    def workflows_read(self, session: int, w: int) -> WorkflowRow | None:
        return self.workflow_reads.get((session, w))

    # ---- HEAD recovery scans (models/recovery.py) ------------------------------------------
    def _worker_dead(self, worker: int | None, heartbeat_age: float) -> bool:
        """Missing, or silent for longer than ``heartbeat_age``. A worker heartbeats while
        its process lives; ``worker_heartbeat`` holds the last beat of one that stopped."""
        if worker is None or worker not in self.worker_ids:
            return True
        last = self.worker_heartbeat.get(worker)
        return last is not None and self.now - last > heartbeat_age

    def recovery_scan(self, session: int, op: ops.RecoveryScan) -> tuple[tuple[tuple[int, str], ...], bool]:
        found: list[tuple[int, str]] = []
        still_open = any(w.status not in WORKFLOW_TERMINAL for w in self.workflows.values())
        for eid in sorted(self.executions):
            row = self.executions[eid]
            status = row.status
            if status in RECOVERY_TERMINAL:
                continue
            if row.workflow_task is not None:
                still_open = True
            if len(found) >= op.limit:
                continue
            old = self.now - row.updated > op.age
            if op.rule == "timeout":
                hit = status == SCHEDULED and old
            elif op.rule == "dead_worker":
                hit = status == RUNNING and row.worker is not None and self._worker_dead(row.worker, op.heartbeat_age)
            else:  # supervisor
                hit = old and (
                    status in (REQUESTED, SCHEDULING, SCHEDULED, CANCELING)
                    or (status == RUNNING and self._worker_dead(row.worker, op.heartbeat_age))
                )
            if hit:
                found.append((eid, status))
        return tuple(found), still_open

    def stale_workflows(self, session: int, op: ops.StaleWorkflows) -> tuple[tuple[int, int, str, bool], ...]:
        out: list[tuple[int, int, str, bool]] = []
        for w in sorted(self.workflows):
            we = self.workflows[w]
            if we.status in WORKFLOW_TERMINAL or len(out) >= op.limit:
                continue
            if self.now - we.updated <= op.age:  # both rules key on WE.updated
                continue
            own = self.executions.get(we.execution)
            if own is not None and own.status in RECOVERY_TERMINAL:
                out.append((w, we.execution, own.status, False))  # align WE, publish nothing
                continue
            children = [self.executions[i] for i in self.by_parent.get(we.execution, ())]
            if children and all(c.status in RECOVERY_TERMINAL for c in children):
                if any(c.status != COMPLETED for c in children):
                    out.append((w, we.execution, FAILED, True))
        return tuple(out)

    # ---- workflow_task_dispatch ----------------------------------------------------------
    def insert_dispatch_key(self, session: int, op: ops.InsertDispatchKey) -> bool:
        key = (op.workflow_execution, op.task_name, -1 if op.task_index is None else op.task_index)
        if key in self.dispatch_keys:
            return False
        self._put_key(session, key, None)
        return True

    def read_dispatch_key(self, session: int, op: ops.ReadDispatchKey) -> tuple[bool, int | None]:
        key = (op.workflow_execution, op.task_name, -1 if op.task_index is None else op.task_index)
        if key not in self.dispatch_keys:
            return (False, None)
        return (True, self.dispatch_keys[key])

    def set_dispatch_key_execution(self, session: int, op: ops.SetDispatchKeyExecution) -> None:
        key = (op.workflow_execution, op.task_name, -1 if op.task_index is None else op.task_index)
        self._put_key(session, key, op.execution_id)

    # ---- transactions and advisory locks ------------------------------------------------
    def latency_channel(self, session: int, channel: str) -> str:
        """The channel that times ``session``'s next op of ``channel``, from the session's
        transaction state (``sim.timing.transaction_channel``)."""
        undo = self._undo.get(session)
        return transaction_channel(channel, undo is not None, bool(undo))

    def begin(self, session: int, op: ops.Begin) -> None:
        self._undo[session] = []

    def commit(self, session: int, op: ops.Commit) -> None:
        self._undo.pop(session, None)

    def rollback(self, session: int, op: ops.Rollback | None = None) -> None:
        for table, key, old in reversed(self._undo.pop(session, [])):
            if table == "execution":
                self._store(key, self.executions.get(key), old)
            elif table == "workflow":
                self.workflows[key] = old
            elif table == "lost":
                self.lost_writes.remove(key)
            elif table == "rewrite":
                self.finished_rewrites.remove(key)
            elif table == "finished_by":
                if old is None:
                    del self._finished_by[key]
                else:
                    self._finished_by[key] = old
            elif old is _ABSENT:
                self.dispatch_keys.pop(key, None)
            else:
                self.dispatch_keys[key] = old

    def try_lock(self, session: int, key: int) -> bool:
        holder = self.lock_holder.get(key)
        if holder is None or holder == session:
            self.lock_holder[key] = session
            return True
        self.lock_waiters.setdefault(key, deque()).append(session)
        return False

    def unlock(self, session: int, key: int) -> int | None:
        """Release ``key``; returns the waiting session that now holds it, if any."""
        if self.lock_holder.get(key) != session:
            return None
        waiters = self.lock_waiters.get(key)
        if waiters:
            nxt = waiters.popleft()
            self.lock_holder[key] = nxt
            return nxt
        del self.lock_holder[key]
        return None

    def end_session(self, session: int) -> list[tuple[int, int]]:
        """The connection died: roll back, drop its waits, release its locks.
        Returns (key, new holder) for every lock handed on."""
        self.rollback(session)
        for waiters in self.lock_waiters.values():
            while session in waiters:
                waiters.remove(session)
        handed: list[tuple[int, int]] = []
        for key in [k for k, s in self.lock_holder.items() if s == session]:
            nxt = self.unlock(session, key)
            if nxt is not None:
                handed.append((key, nxt))
        return handed

    # ---- read-only views for checkers and the op catalogue's resource mapping -------------
    def row_known(self, execution_id: int) -> bool:
        return execution_id in self.executions

    def row_task(self, execution_id: int) -> tuple[int, str] | None:
        row = self.executions.get(execution_id)
        wt = row.workflow_task if row is not None else None
        return (wt.workflow_execution, wt.task_name) if wt is not None else None

    def row_parent(self, execution_id: int) -> int | None:
        row = self.executions.get(execution_id)
        return row.parent if row is not None else None

    def workflow_children(self, w: int) -> list[ExecRow]:
        ex = self.executions
        return [ex[i] for i in self.by_workflow.get(w, ())]


class LostWrite(NamedTuple):
    """One name or variable dropped by a whole-array write of workflow ``workflow``."""

    workflow: int
    step: str  # the writing step (P14, H18, ...)
    session: int  # the writer
    column: str  # completed_tasks, failed_tasks or variables
    name: str  # the task name dropped, or the variable's name


class FinishedRewrite(NamedTuple):
    """A workflow child row that had finished, written with another status."""

    execution_id: int
    before: str  # the finished status it had
    finished_by: str  # the step that wrote that status (R1, W6, ...)
    finished_at: float  # and when
    after: str  # the status the later write gave it
    step: str  # the later writing step (W4, S4, ...)
    session: int  # the later writer
    at: float  # simulated time of the later write


_ABSENT = object()
# Op classes and the names of the SimDB methods that execute them: every run builds a SimDB,
# and binding by name in a C-level map is cheaper than a comprehension (still by name, so a
# method patched on the class is honoured).
_HANDLED: tuple[type, ...] = tuple(ops.DB_OPS)
_HANDLER_NAMES: tuple[str, ...] = tuple(ops.DB_OPS.values())


def _pending_key(row: ExecRow) -> tuple[bool, int, int]:
    # ORDER BY (task_index)::int ASC in PostgreSQL puts a NULL index last; equal indexes
    # keep insert order, which is id order (ids only grow).
    idx = row.workflow_task.task_index  # type: ignore[union-attr]
    return (idx is None, 0 if idx is None else idx, row.id)


def _discard(index: dict, key: object, value: int, ids_of: Callable[[Any], list[int]] | None = None) -> None:
    entry = index.get(key)
    ids = entry if ids_of is None or entry is None else ids_of(entry)
    if ids and value in ids:
        ids.remove(value)
