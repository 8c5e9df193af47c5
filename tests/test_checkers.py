"""The checker reports planted findings, and only those."""

from racesim.models.graph import Graph, Node, Transition, classify_when
from racesim.models.rows import ExecRow, WorkflowRow, WorkflowTask
from racesim.models.statuses import COMPLETED, RUNNING
from racesim.sim.checkers import check


def graph():
    return Graph.build(
        [
            Node("items", "a", 2, 2, None, (Transition(classify_when("{{ succeeded() }}"), ("validate",)),)),
            Node("validate", "b"),
        ]
    )


def row(eid, task, index, status=COMPLETED):
    return ExecRow(eid, "a", 100, status, WorkflowTask(1, task, index))


def test_planted_duplicate_is_reported_by_task():
    children = [row(1, "items", 0), row(2, "items", 1), row(3, "validate", None), row(4, "validate", None)]
    wf = WorkflowRow(1, 100, COMPLETED, ("items", "validate"))
    v = check(graph(), wf, children, [1, 2, 3, 4], [1, 2, 3, 4])
    assert v.duplicate_dispatches == 1  # two rows of validate, each handed over once: same key
    v = check(graph(), wf, children, [1, 2, 3, 3, 3], [1, 2, 3])
    assert v.duplicate_dispatches == 2
    assert v.by_task["validate"].max_dispatches == 3
    assert v.by_task["items"].duplicate_dispatches == 0


def test_planted_stuck_workflow_has_a_reason():
    children = [row(1, "items", 0), row(2, "items", 1, RUNNING)]
    wf = WorkflowRow(1, 100, "running")
    v = check(graph(), wf, children, [1, 2], [1])
    assert v.stuck_workflows == 1
    assert any("slot held forever" in r for r in v.stuck_reasons)


def test_lost_completion_is_a_stuck_reason_and_a_missed_dispatch():
    children = [row(1, "items", 0), row(2, "items", 1)]
    wf = WorkflowRow(1, 100, "running")
    v = check(graph(), wf, children, [1, 2], [1])  # item 1's completion never published
    assert any(r.startswith("lost completion") for r in v.stuck_reasons)
    assert v.missed == ["validate"]


def test_clean_run_has_no_findings():
    children = [row(1, "items", 0), row(2, "items", 1), row(3, "validate", None)]
    wf = WorkflowRow(1, 100, COMPLETED, ("items", "validate"))
    v = check(graph(), wf, children, [1, 2, 3], [1, 2, 3])
    assert v.findings() == []


def test_an_early_completion_without_the_successor_says_so():
    """The workflow ended while the task calling for validate had finished and no row of
    validate exists: the missed dispatch names that, from the final state alone."""
    children = [row(1, "items", 0), row(2, "items", 1)]
    wf = WorkflowRow(1, 100, COMPLETED, ("items",))
    v = check(graph(), wf, children, [1, 2], [1, 2])
    [detail] = v.results["missed_dispatch"].details
    assert detail == (
        "validate never handed to a worker: items finished, yet no row of validate was ever created "
        "and the workflow ended completed"
    )


def test_a_missed_dispatch_makes_no_early_completion_claim_the_state_does_not_prove():
    # still running (stuck): the workflow did not end
    children = [row(1, "items", 0), row(2, "items", 1)]
    v = check(graph(), WorkflowRow(1, 100, "running"), children, [1, 2], [1])
    assert v.results["missed_dispatch"].details == ["validate never handed to a worker"]
    # a row of validate exists but never reached a worker: not "never created"
    children.append(row(3, "validate", None, "requested"))
    v = check(graph(), WorkflowRow(1, 100, COMPLETED, ("items",)), children, [1, 2], [1, 2])
    assert v.results["missed_dispatch"].details == ["validate never handed to a worker"]
