"""Execution status values and the status sets the advance uses (spec 2.2)."""

REQUESTED = "requested"
SCHEDULING = "scheduling"
SCHEDULED = "scheduled"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELING = "canceling"
CANCELLED = "cancelled"
TIMEOUT = "timeout"
ABANDONED = "abandoned"

ALL = (REQUESTED, SCHEDULING, SCHEDULED, RUNNING, COMPLETED, FAILED, CANCELING, CANCELLED, TIMEOUT, ABANDONED)

# Tuples, not sets: membership on a handful of strings is as fast, and nothing here is
# ever iterated in hash order.
IN_FLIGHT = (SCHEDULING, SCHEDULED, RUNNING)
# NOT abandoned, NOT canceling (spec 2.2).
FINISHED = (COMPLETED, FAILED, TIMEOUT, CANCELLED)
ITEM_FAILED = (FAILED, TIMEOUT)
HAS_RESULT = (COMPLETED, FAILED, TIMEOUT)
# Workflow-execution statuses at which an advance returns at once (P3; H5 omits cancelled).
WORKFLOW_TERMINAL = (COMPLETED, FAILED, CANCELLED)
# HEAD's cancellation checks (H7, worker pre-check).
CANCELED_OR_CANCELING = (CANCELING, CANCELLED)
# What HEAD's reconciliation and recovery loops count as terminal (abandoned included).
RECOVERY_TERMINAL = (COMPLETED, FAILED, TIMEOUT, CANCELLED, ABANDONED)
