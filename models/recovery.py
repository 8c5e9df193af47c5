"""HEAD's recovery actors (spec 3.4 and 10): the timeout monitor with its dead-worker
reconciliation, and the supervisor. Optional (the ``recovery`` switch): they add periodic
actors to a run. Thresholds come from the scenario's ``timing.recovery``.

Each pass is a scan, then per candidate a compare-and-set and a completion publish. An
actor stops once a pass finds nothing and no row or workflow is open any more, or at the
horizon (``stop_after`` seconds of simulated time since the run began, also for a monitor
restarted with its executor), so runs stay finite; a workflow still stuck then is reported
stuck.
"""

from __future__ import annotations

from dataclasses import dataclass

from racesim.models.ops import (
    CasExecutionStatus,
    Model,
    Publish,
    RecoveryScan,
    SetExecutionStatus,
    Sleep,
    StaleWorkflows,
    StoreError,
    UpdateWorkflowExecution,
)
from racesim.models.rows import COMPLETED_QUEUE, EXECUTION_COMPLETED, UNDECODABLE, Message
from racesim.models.statuses import ABANDONED, CANCELING, CANCELLED, FAILED, RUNNING, SCHEDULED


@dataclass(frozen=True, slots=True)
class RecoveryTiming:
    """attune's defaults (spec 10); a scenario may scale them to its own time base."""

    monitor_interval: float = 60.0  # timeout monitor pass, on every replica
    scheduled_timeout: float = 300.0  # a `scheduled` row not updated for this long -> failed
    monitor_limit: int = 100  # rows per timeout-monitor pass
    heartbeat_timeout: float = 90.0  # dead-worker reconciliation: worker silent this long
    supervisor_interval: float = 3600.0
    supervisor_age: float = 7200.0  # rows / workflows not updated for this long
    supervisor_limit: int = 25
    stop_after: float = 14_400.0  # horizon: no recovery pass starts later than this


FIELDS = tuple(RecoveryTiming.__dataclass_fields__)
Scan = tuple[tuple[tuple[int, str], ...], bool]  # RecoveryScan's answer: ((id, status), ...), still open


def timeout_monitor(timing: RecoveryTiming, modern: bool = True, cas: bool = True, started_at: float = 0.0) -> Model:
    """One replica's monitor: stale `scheduled` rows -> failed, and (HEAD since 3dcc3a9)
    `running` rows on a dead worker -> abandoned; each with an ExecutionCompleted.

    Before 3dcc3a9 (``modern`` off) the completion had a private payload the listener cannot
    decode (spec 3.4: nacked without requeue, no advance); before f93e922 (``cas`` off) the
    failed write had no status precondition. ``started_at``: the simulated time the monitor
    starts (its executor's restart), so the horizon stays where the run's is."""
    now = started_at
    while now + timing.monitor_interval <= timing.stop_after:
        yield Sleep("R0", timing.monitor_interval)
        now += timing.monitor_interval
        acted = False
        found: Scan = yield RecoveryScan("R1", "timeout", timing.scheduled_timeout, timing.monitor_limit)
        stale, open_ = found
        for eid, _status in stale:
            if cas:  # since f93e922: still scheduled and still older than the cutoff
                won = yield CasExecutionStatus("R1", eid, SCHEDULED, FAILED, None, timing.scheduled_timeout)
            else:
                yield SetExecutionStatus("R1", eid, FAILED)
                won = True
            if won:
                acted = True
                yield from _complete("R1", eid, FAILED if modern else UNDECODABLE)
        if not modern:
            if not acted and not open_:
                return
            continue
        found = yield RecoveryScan("R2", "dead_worker", 0.0, timing.monitor_limit, timing.heartbeat_timeout)
        dead = found[0]
        for eid, _status in dead:
            won = yield CasExecutionStatus("R2", eid, RUNNING, ABANDONED)
            if won:
                acted = True
                yield from _complete("R2", eid, ABANDONED)
        if not acted and not open_:
            return


def supervisor(timing: RecoveryTiming) -> Model:
    """The supervisor (one at a time): rows not updated for ``supervisor_age`` that are not
    terminal (or run on a dead worker) -> abandoned (canceling -> cancelled) + completion;
    then the workflow rule."""
    now = 0.0
    while now + timing.supervisor_interval <= timing.stop_after:
        yield Sleep("R3", timing.supervisor_interval)
        now += timing.supervisor_interval
        acted = False
        found: Scan = yield RecoveryScan(
            "R3", "supervisor", timing.supervisor_age, timing.supervisor_limit, timing.supervisor_age
        )
        rows, open_ = found
        for eid, status in rows:
            new = CANCELLED if status == CANCELING else ABANDONED
            won = yield CasExecutionStatus("R3", eid, status, new)
            if won:
                acted = True
                yield from _complete("R3", eid, new)
        workflows: tuple[tuple[int, int, str, bool], ...] = yield StaleWorkflows(
            "R4", timing.supervisor_age, timing.supervisor_limit
        )
        for w, execution, status, publish in workflows:
            acted = True
            yield UpdateWorkflowExecution("R4", w, (("status", status),))
            if publish:
                yield SetExecutionStatus("R4", execution, status)
                yield from _complete("R4", execution, status)
        if not acted and not open_:
            return


def _complete(step: str, eid: int, status: str) -> Model:
    try:
        yield Publish(step, COMPLETED_QUEUE, Message(EXECUTION_COMPLETED, eid, status))
    except StoreError:
        pass  # logged; the row stays as written
