"""Workflow start: the workflow's own execution, its workflow_execution row, entry tasks."""

from __future__ import annotations

from racesim.models.dispatch import dispatch
from racesim.models.graph import Graph
from racesim.models.guards import Guards
from racesim.models.ops import (
    InsertExecution,
    InsertWorkflowExecution,
    Model,
    SetExecutionStatus,
    Sleep,
    StoreError,
    UpdateWorkflowExecution,
)
from racesim.models.statuses import COMPLETED, RUNNING


def start_workflow(guards: Guards, workflow_ref: str, graph: Graph) -> Model:
    """Entry tasks are dispatched one by one, outside any lock (spec 7(f)11)."""
    parent = yield InsertExecution("start", workflow_ref, None, None, RUNNING)
    w = yield InsertWorkflowExecution("start", parent, graph)
    entries = graph.entry_points
    if not entries:  # every task has an inbound edge: completed at once, nothing run
        yield UpdateWorkflowExecution("start", w, (("status", COMPLETED),))
        yield SetExecutionStatus("start", parent, COMPLETED)
        return
    for name in entries:
        try:
            yield from dispatch(guards, w, parent, graph.nodes[name], None, None)
        except StoreError:
            pass


def start_after(delay: float, guards: Guards, workflow_ref: str, graph: Graph) -> Model:
    """A workflow start that arrives ``delay`` seconds into the run (load, live mode)."""
    if delay > 0:
        yield Sleep("start", delay)
    yield from start_workflow(guards, workflow_ref, graph)
