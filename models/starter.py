"""Workflow start (spec 3.3 S2). The API creates the workflow's own execution, `requested`,
and requests it like any execution; the executor scheduler that takes the request sees a
workflow and starts it in its handler: the workflow_execution row, the execution marked
running, then the entry tasks one by one, outside any lock (spec 7(f)11). So that scheduler
takes no other request until every entry task is requested."""

from __future__ import annotations

from racesim.models.dispatch import dispatch
from racesim.models.graph import Graph
from racesim.models.guards import Guards
from racesim.models.ops import (
    InsertExecution,
    InsertWorkflowExecution,
    Model,
    Publish,
    SetExecutionStatus,
    Sleep,
    StoreError,
    UpdateWorkflowExecution,
)
from racesim.models.rows import EXECUTION_REQUESTED, REQUESTS_QUEUE, Message
from racesim.models.statuses import COMPLETED, REQUESTED, RUNNING


def request_workflow(workflow_ref: str, delay: float = 0.0) -> Model:
    """The API call (``delay`` seconds into the run, for load and live mode): the workflow's
    own execution row and its ExecutionRequested."""
    if delay > 0:
        yield Sleep("start", delay)
    parent = yield InsertExecution("start", workflow_ref, None, None, REQUESTED)
    yield Publish("start", REQUESTS_QUEUE, Message(EXECUTION_REQUESTED, parent))


def start_workflow(guards: Guards, parent: int, graph: Graph) -> Model:
    """Run by the scheduler that took the request for ``parent``, the workflow's execution."""
    w = yield InsertWorkflowExecution("start", parent, graph)
    yield SetExecutionStatus("start", parent, RUNNING)
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
