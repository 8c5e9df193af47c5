"""Checkers: turn a finished run into a verdict (duplicates, misses, stuck, lost updates,
wrong outcomes). They read the final stores and what the world observed, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field

from racesim.models.graph import Graph, fires
from racesim.models.rows import ExecRow, WorkflowRow
from racesim.models.statuses import COMPLETED, FINISHED, ITEM_FAILED, REQUESTED, RUNNING, SCHEDULED, WORKFLOW_TERMINAL


@dataclass(slots=True)
class TaskDispatches:
    duplicate_dispatches: int = 0
    max_dispatches: int = 0


@dataclass(slots=True)
class Verdict:
    duplicate_dispatches: int = 0
    by_task: dict[str, TaskDispatches] = field(default_factory=dict)
    duplicate_keys: list[tuple[str, int | None, int]] = field(default_factory=list)
    missed_dispatches: int = 0
    missed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    stuck_workflows: int = 0
    stuck_reasons: list[str] = field(default_factory=list)
    lost_updates: int = 0
    lost_tasks: list[str] = field(default_factory=list)
    wrong_outcomes: int = 0
    wrong_reasons: list[str] = field(default_factory=list)
    workflow_status: str = ""
    # per duplicated key: how it came about (distinct rows created again, or one row run again)
    duplicate_mechanisms: list[str] = field(default_factory=list)
    # under load: each workflow execution's own verdict, by workflow_execution id
    executions: dict[int, Verdict] = field(default_factory=dict)

    @property
    def failing(self) -> bool:
        return self.duplicate_dispatches > 0

    def findings(self) -> list[str]:
        """Kinds of finding present, in a fixed order."""
        out = []
        for name, value in (
            ("duplicates", self.duplicate_dispatches),
            ("missed", self.missed_dispatches),
            ("stuck", self.stuck_workflows),
            ("lost_updates", self.lost_updates),
            ("wrong_outcomes", self.wrong_outcomes),
        ):
            if value:
                out.append(name)
        return out


def _label(task: str, index: int | None) -> str:
    return task if index is None else f"{task}[{index}]"


def check(
    graph: Graph,
    workflow: WorkflowRow,
    children: list[ExecRow],
    dispatched: list[int],
    completions_published: list[int],
    livelock: bool = False,
    faults_fired: list[tuple[str, str]] | None = None,
    failure_handled: bool = False,
) -> Verdict:
    """``children``: the workflow's child rows at quiescence; ``dispatched``: execution ids
    handed to a worker, one entry per hand-over."""
    v = Verdict(workflow_status=workflow.status)
    by_id = {r.id: r for r in children}

    # -- duplicates: count hand-overs per (task, item index, attempt) ------------------------
    # A HEAD retry (H0) is a new attempt (retry_count + 1), not a duplicate of the old one.
    attempts: dict[tuple[str, int | None, int], int] = {}
    for eid in dispatched:
        row = by_id.get(eid)
        if row is None:
            continue
        wt = row.workflow_task
        assert wt is not None  # children of a workflow all carry one
        key = (wt.task_name, wt.task_index, wt.retry_count)
        attempts[key] = attempts.get(key, 0) + 1
    counts: dict[tuple[str, int | None], int] = {}  # hand-overs per (task, index), attempts summed
    for name in graph.nodes:
        v.by_task[name] = TaskDispatches()
    handed: dict[tuple[str, int | None, int], list[int]] = {}
    for eid in dispatched:
        row = by_id.get(eid)
        if row is not None and (wt := row.workflow_task) is not None:
            handed.setdefault((wt.task_name, wt.task_index, wt.retry_count), []).append(eid)
    for (task, index, attempt), n in attempts.items():
        counts[(task, index)] = counts.get((task, index), 0) + n
        stats = v.by_task.setdefault(task, TaskDispatches())
        stats.max_dispatches = max(stats.max_dispatches, n)
        if n > 1:
            stats.duplicate_dispatches += n - 1
            v.duplicate_dispatches += n - 1
            v.duplicate_keys.append((task, index, n))
            v.duplicate_mechanisms.append(_mechanism(_label(task, index), handed[(task, index, attempt)]))
    rerun_items = sorted({task for task, index, _n in v.duplicate_keys if index is not None})
    if rerun_items:  # extra runs of items publish extra completions, and so extra advances
        note = f" (item rows of {', '.join(rerun_items)} also ran again here: their extra completions add advances, spec 8)"
        v.duplicate_mechanisms = [m + note if "rows created" in m else m for m in v.duplicate_mechanisms]

    # -- what the workflow should have run, from how its tasks really ended --------------------
    rows_of: dict[str, list[ExecRow]] = {}
    for r in children:
        rows_of.setdefault(r.workflow_task.task_name, []).append(r)

    def ended(name: str) -> tuple[bool, bool]:
        """(finished, succeeded) by the intended semantics: a with_items task finishes when
        every item has finished, and succeeds only if every item succeeded."""
        node = graph.nodes[name]
        rows = rows_of.get(name, [])
        if node.with_items == 0:
            return True, True  # an empty list has nothing to wait for
        if not rows or any(r.status not in FINISHED for r in rows):
            return False, False
        if node.with_items is not None and len({r.workflow_task.task_index for r in rows}) < node.with_items:
            return False, False
        return True, all(r.status == COMPLETED for r in rows)

    expected: list[str] = []
    queue = list(graph.entry_points)
    while queue:
        name = queue.pop(0)
        if name in expected:
            continue
        expected.append(name)
        done, ok = ended(name)
        if not done:
            continue
        for tr in graph.nodes[name].transitions:
            if not fires(tr.kind, ok, False):
                continue
            for target in tr.do:
                node = graph.nodes[target]
                if node.join is not None:
                    met = sum(1 for p in node.inbound if ended(p) == (True, True))
                    if met < node.join:
                        continue
                queue.append(target)

    dispatched_keys = set(counts)
    for name in expected:
        node = graph.nodes[name]
        if not node.action:
            continue
        indexes = [None] if node.with_items is None else list(range(node.with_items))
        for index in indexes:
            if (name, index) not in dispatched_keys:
                v.missed.append(_label(name, index))
    v.missed_dispatches = len(v.missed)
    v.unexpected = sorted({task for task, _ in counts if task not in expected})

    # -- stuck: not terminal at quiescence, and why -------------------------------------------
    published = set(completions_published)
    if workflow.status not in WORKFLOW_TERMINAL:
        v.stuck_workflows = 1
        reasons = v.stuck_reasons
        if livelock:
            reasons.append("livelock: the step limit was reached with actors still busy")
        for r in children:
            wt = r.workflow_task
            label = _label(wt.task_name, wt.task_index)
            if r.status in FINISHED and r.id not in published:
                reasons.append(f"lost completion: {label} finished but its completion was never published")
            elif r.status == RUNNING:
                reasons.append(f"slot held forever: {label} stays running")
            elif r.status == SCHEDULED:
                reasons.append(f"{label} stays scheduled, never run")
            elif r.status == REQUESTED:
                reasons.append(f"successor left requested: {label} never scheduled")
        for name in _starved_joins(graph, expected, rows_of):
            reasons.append(f"unmet join: {name} never admitted")
        for name, node in graph.nodes.items():
            if node.with_items == 0 and name in expected:
                reasons.append(f"empty with_items: {name} has no item to finish it")
        fired = sorted({name for name, _ in faults_fired or ()})
        if fired and not reasons:
            reasons.append(f"fault: {', '.join(fired)} aborted the work that would have completed the workflow")
        if not reasons:
            reasons.append("no advance completed the workflow (a completion was processed without effect)")

    # -- lost updates: finished, every completion published, yet absent from both lists --------
    recorded = set(workflow.completed_tasks) | set(workflow.failed_tasks)
    for name, rows in rows_of.items():
        done, _ = ended(name)
        if done and name not in recorded and all(r.id in published for r in rows):
            v.lost_tasks.append(name)
    v.lost_updates = len(v.lost_tasks)

    # -- wrong outcome: completed although a task failed or a join never ran -------------------
    if workflow.status == COMPLETED:
        failed_tasks = sorted({r.workflow_task.task_name for r in children if r.status in ITEM_FAILED})
        if failure_handled:
            # HEAD (H13/H15, spec 6.4): a failure whose own failure edge dispatched a task is
            # handled, and the workflow succeeds by design. A failure "handled" only because
            # a success edge fired (the with_items finishing item succeeded) stays a finding.
            failed_tasks = [name for name in failed_tasks if not _handled_by_failure_edge(graph, name, children)]
        if failed_tasks:
            v.wrong_reasons.append(f"completed although {', '.join(failed_tasks)} failed")
        for name in _starved_joins(graph, expected, rows_of):
            v.wrong_reasons.append(f"completed although join {name} never ran")
    if workflow.status == "failed":
        # A name in failed_tasks whose rows all completed: e.g. the PRE/FIX scheduler's
        # unconditional write-back moved a finished row back to scheduled before its advance.
        wrongly_failed = [
            name for name in workflow.failed_tasks if rows_of.get(name) and all(r.status == COMPLETED for r in rows_of[name])
        ]
        if wrongly_failed:
            v.wrong_reasons.append(f"failed although {', '.join(wrongly_failed)} completed")
    v.wrong_outcomes = 1 if v.wrong_reasons else 0
    return v


def _mechanism(label: str, ids: list[int]) -> str:
    """Which of the two ways a key got more than one hand-over."""
    rows = sorted(set(ids))
    parts = []
    if len(rows) > 1:
        parts.append(
            f"{len(rows)} rows created for {label} by separate advances (each passed its checks and dispatched it: spec 7(a)/(b))"
        )
    again = len(ids) - len(rows)
    if again:
        parts.append(
            f"a row of {label} handed to a worker {again} more time(s): re-requested while still requested and "
            "scheduled again without a claim (spec 5, 7(f)4)"
        )
    return "; ".join(parts)


def merge(verdicts: dict[int, Verdict]) -> Verdict:
    """One run's verdict over several workflow executions (load): counts add up, every
    listed finding names its execution (``W3: ...``), and each execution's own verdict is
    kept in ``executions``."""
    if len(verdicts) == 1:
        return next(iter(verdicts.values()))
    out = Verdict(workflow_status=",".join(sorted({v.workflow_status for v in verdicts.values()})))
    for w, v in sorted(verdicts.items()):
        out.executions[w] = v
        out.duplicate_dispatches += v.duplicate_dispatches
        out.missed_dispatches += v.missed_dispatches
        out.stuck_workflows += v.stuck_workflows
        out.lost_updates += v.lost_updates
        out.wrong_outcomes += v.wrong_outcomes
        for task, stats in v.by_task.items():
            agg = out.by_task.setdefault(task, TaskDispatches())
            agg.duplicate_dispatches += stats.duplicate_dispatches
            agg.max_dispatches = max(agg.max_dispatches, stats.max_dispatches)
        out.duplicate_keys.extend((f"W{w}: {task}", index, n) for task, index, n in v.duplicate_keys)
        out.duplicate_mechanisms.extend(f"W{w}: {m}" for m in v.duplicate_mechanisms)
        out.missed.extend(f"W{w}: {m}" for m in v.missed)
        out.unexpected.extend(f"W{w}: {m}" for m in v.unexpected)
        out.stuck_reasons.extend(f"W{w}: {m}" for m in v.stuck_reasons)
        out.lost_tasks.extend(f"W{w}: {m}" for m in v.lost_tasks)
        out.wrong_reasons.extend(f"W{w}: {m}" for m in v.wrong_reasons)
    return out


def _handled_by_failure_edge(graph: Graph, name: str, children: list[ExecRow]) -> bool:
    on_failure = {t for tr in graph.nodes[name].transitions if fires(tr.kind, False, False) for t in tr.do}
    return any(r.workflow_task.triggered_by == name and r.workflow_task.task_name in on_failure for r in children)


def _starved_joins(graph: Graph, expected: list[str], rows_of: dict[str, list[ExecRow]]) -> list[str]:
    """Join tasks whose edges fired with enough succeeded predecessors, yet never got a row."""
    return [name for name, node in graph.nodes.items() if node.join is not None and name in expected and name not in rows_of]
