"""Checkers: turn a finished run into a verdict, one ``Found`` per finding of the registry
(``sim/findings.py``). They read the final stores, what the world observed (hand-overs,
published completions) and what the store recorded at the moment a write lost data."""

from __future__ import annotations

from dataclasses import dataclass, field

from racesim.models.graph import Graph, fires
from racesim.models.rows import ExecRow, WorkflowRow, WorkflowTask
from racesim.models.statuses import COMPLETED, FINISHED, ITEM_FAILED, REQUESTED, RUNNING, SCHEDULED, WORKFLOW_TERMINAL
from racesim.sim.config import LOOP_WINDOW
from racesim.sim.db import FinishedRewrite, LostWrite
from racesim.sim.findings import NAMES, SAFETY, TRUE, UNKNOWN, Found


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
    # One answer per checker of the registry, in registry order. The fields above are the
    # pre-registry view (duplicate_dispatches = successor duplicates + item re-runs).
    results: dict[str, Found] = field(default_factory=dict)
    # per duplicated key: how it came about (distinct rows created again, or one row run again)
    duplicate_mechanisms: list[str] = field(default_factory=list)
    # under load: each workflow execution's own verdict, by workflow_execution id
    executions: dict[int, Verdict] = field(default_factory=dict)

    @property
    def failing(self) -> bool:
        """Any safety finding (the default of --fail-on)."""
        return any(self.results[name].verdict == TRUE for name in SAFETY)

    def findings(self) -> list[str]:
        """Names of the findings this run shows, in registry order."""
        return [name for name in NAMES if self.results[name].verdict == TRUE]


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
    *,
    lost_writes: list[LostWrite] | None = None,
    expired: tuple[int, ...] = (),
    rewrites: list[FinishedRewrite] | None = None,
    looping: tuple[str, ...] = (),
) -> Verdict:
    """``children``: the workflow's child rows at quiescence; ``dispatched``: execution ids
    handed to a worker, one entry per hand-over; ``lost_writes``: what the store saw lost at
    each write (None: the store does not record it, and lost_update is unknown); ``expired``:
    execution ids whose dispatch the broker dropped at the worker queue's TTL; ``rewrites``:
    finished rows the store saw written again (None: not recorded, finished_overwritten is
    unknown); ``looping``: under a livelock, the busiest actors of its last steps."""
    v = Verdict(workflow_status=workflow.status)
    found = v.results
    for name in NAMES:
        found[name] = Found()
    by_id = {r.id: r for r in children}

    # -- duplicates: count hand-overs per (task, item index, attempt) ------------------------
    # A HEAD retry (H0) is a new attempt (retry_count + 1), not a duplicate of the old one.
    attempts: dict[tuple[str, int | None, int], int] = {}
    rows_handed: dict[tuple[str, int | None, int], set[int]] = {}
    for eid in dispatched:
        row = by_id.get(eid)
        if row is None:
            continue
        wt = row.workflow_task
        assert wt is not None  # children of a workflow all carry one
        key = (wt.task_name, wt.task_index, wt.retry_count)
        attempts[key] = attempts.get(key, 0) + 1
        rows_handed.setdefault(key, set()).add(eid)
    for (task, index, _attempt), ids in rows_handed.items():
        extra_rows = len(ids) - 1
        if extra_rows:
            found["duplicate_dispatch"].add(task, f"{_label(task, index)}: {len(ids)} rows handed to workers", extra_rows)
        rerun = attempts[(task, index, _attempt)] - len(ids)
        if rerun:
            found["item_rerun"].add(
                task, f"{_label(task, index)}: handed to workers {attempts[(task, index, _attempt)]} times", rerun
            )
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
        rows_of.setdefault(_wt(r).task_name, []).append(r)

    def ended(name: str) -> tuple[bool, bool]:
        """(finished, succeeded) by the intended semantics: a with_items task finishes when
        every item has finished, and succeeds only if every item succeeded."""
        node = graph.nodes[name]
        rows = rows_of.get(name, [])
        if node.with_items == 0:
            return True, True  # an empty list has nothing to wait for
        if not rows or any(r.status not in FINISHED for r in rows):
            return False, False
        if node.with_items is not None and len({_wt(r).task_index for r in rows}) < node.with_items:
            return False, False
        return True, all(r.status == COMPLETED for r in rows)

    expected: list[str] = []
    via: dict[str, str] = {}  # task -> the first finished task whose transition called for it
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
                via.setdefault(target, name)
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
    for label in v.missed:
        name = label.split("[")[0]
        found["missed_dispatch"].add(name, f"{label} never handed to a worker{_ended_without(name, via, rows_of, workflow)}")
    v.unexpected = sorted({task for task, _ in counts if task not in expected})

    # -- stuck: not terminal at quiescence, and why -------------------------------------------
    published = set(completions_published)
    if workflow.status not in WORKFLOW_TERMINAL:
        v.stuck_workflows = 1
        reasons = v.stuck_reasons
        if livelock:
            who = f" (busiest over the last {LOOP_WINDOW:,} steps: {_and(looping)})" if looping else ""
            reasons.append(f"livelock: the step limit was reached with actors still busy{who}")
        for r in children:
            wt = _wt(r)
            label = _label(wt.task_name, wt.task_index)
            if r.status in FINISHED and r.id not in published:
                reasons.append(f"lost completion: {label} finished but its completion was never published")
            elif r.status == RUNNING:
                reasons.append(f"slot held forever: {label} stays running")
            elif r.status == SCHEDULED and r.id in expired:
                reasons.append(f"dispatch expired: {label} stays scheduled (its message outlived the worker queue's TTL)")
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
        stuck = found["stuck_workflow"]
        if livelock:
            # cut short: whether it would have finished is not decided
            stuck.verdict = UNKNOWN
            stuck.details.extend(reasons)
        else:
            stuck.verdict = TRUE
            stuck.count = 1
            stuck.details.extend(reasons)
            for task in sorted({_wt(r).task_name for r in children if r.status not in FINISHED} or {"(workflow)"}):
                stuck.by_task[task] = 1
        missed = found["missed_dispatch"]
        if livelock and missed.verdict == TRUE:
            missed.verdict = UNKNOWN  # the cut run might still have dispatched them

    # -- lost updates: at the write that dropped another advance's name or value ------------------
    lost = found["lost_update"]
    if lost_writes is None:
        lost.verdict = UNKNOWN
    else:
        publishers = _variable_publishers(graph)
        for w in lost_writes:
            if w.workflow != workflow.id:
                continue
            task = publishers.get(w.name, w.name) if w.column == "variables" else w.name
            what = f"variable {w.name}" if w.column == "variables" else w.name
            lost.add(task, f"{w.step} write of {w.column} dropped {what}, added after the writer read the row")
        v.lost_tasks = list(lost.by_task)
        v.lost_updates = lost.count

    # -- finished rows written again: by a write other than a second hand-over's run -------------
    overwritten = found["finished_overwritten"]
    if rewrites is None:
        overwritten.verdict = UNKNOWN
    else:
        handed_times: dict[int, int] = {}
        for eid in dispatched:
            handed_times[eid] = handed_times.get(eid, 0) + 1
        counted: set[int] = set()
        for rw in rewrites:
            row = by_id.get(rw.execution_id)
            if row is None or rw.execution_id in counted:
                continue  # another workflow's row, or a row already counted (its first rewrite)
            counted.add(rw.execution_id)
            wt = _wt(row)
            # no times in the line: a sweep keeps distinct lines, and the mechanism is what recurs
            label = _label(wt.task_name, wt.task_index)
            line = f"{label}: {rw.before} by step {rw.finished_by}, then {rw.after} by step {rw.step}"
            if handed_times.get(rw.execution_id, 0) > 1:  # the re-run wrote it: reported there
                found["item_rerun"].consequences.append(f"finished row written again: {line}")
            else:
                once = "handed to workers once" if rw.execution_id in handed_times else "never handed to a worker"
                overwritten.add(wt.task_name, f"{line} ({once})")

    # -- wrong outcome: completed although a task failed or a join never ran, with its cause ---
    dropped = {(w.column, w.name) for w in lost_writes or () if w.workflow == workflow.id}
    duplicated = found["duplicate_dispatch"].by_task
    rerun_tasks = found["item_rerun"].by_task

    def duplicate_cause(task: str) -> str | None:
        if task in duplicated:
            return "duplicate_dispatch"
        if task in rerun_tasks:
            return "item_rerun"
        return None

    wrong: list[tuple[str, str, str, str | None]] = []  # (task, what, cause, caused-by finding)
    if workflow.status == COMPLETED:
        failed_names = sorted({_wt(r).task_name for r in children if r.status in ITEM_FAILED})
        if failure_handled:
            # HEAD (H13/H15, spec 6.4): a failure whose own failure edge dispatched a task is
            # handled, and the workflow succeeds by design. A failure "handled" only because
            # a success edge fired (the with_items finishing item succeeded) stays a finding.
            failed_names = [name for name in failed_names if not _handled_by_failure_edge(graph, name, children)]
        for name in failed_names:
            if ("failed_tasks", name) in dropped:
                wrong.append((name, f"completed although {name} failed", f"lost update of {name} in failed_tasks", None))
            elif (by := duplicate_cause(name)) is not None:
                wrong.append((name, f"completed although {name} failed", f"caused by {_dup_words(by)} of {name}", by))
            elif unrun := [r for r in rows_of.get(name, ()) if r.status in ITEM_FAILED and r.id in expired]:
                labels = ", ".join(_label(name, _wt(r).task_index) for r in unrun)
                cause = f"{labels} never ran: the dispatch expired in a worker queue, and a recovery write failed the row"
                wrong.append((name, f"completed although {name} failed", cause, None))
            else:
                wrong.append((name, f"completed although {name} failed", "early completion: its failure not yet recorded", None))
        for name in _starved_joins(graph, expected, rows_of):
            preds = [p for p in graph.nodes[name].inbound if ("completed_tasks", p) in dropped]
            cause = (
                f"lost update of {', '.join(preds)} in completed_tasks"
                if preds
                else "early completion: a predecessor finished but was not yet recorded"
            )
            wrong.append((name, f"completed although join {name} never ran", cause, None))
    if workflow.status == "failed":
        # A name in failed_tasks whose rows all completed: e.g. the PRE/FIX scheduler's
        # unconditional write-back moved a finished row back to scheduled before its advance.
        for name in workflow.failed_tasks:
            if not (rows_of.get(name) and all(r.status == COMPLETED for r in rows_of[name])):
                continue
            by = duplicate_cause(name)
            cause = f"caused by {_dup_words(by)} of {name}" if by else "cause not identified"
            wrong.append((name, f"failed although {name} completed", cause, by))
    outcome = found["wrong_outcome"]
    for task, what, cause, by in wrong:
        v.wrong_reasons.append(f"{what} ({cause})")
        if by is None:
            outcome.add(task, f"{what} ({cause})")
        else:  # only the consequence of a duplicate: reported there, not counted twice
            found[by].consequences.append(f"wrong outcome: {what}")
    v.wrong_outcomes = 1 if outcome.count else 0
    return v


def _ended_without(name: str, via: dict[str, str], rows_of: dict[str, list[ExecRow]], workflow: WorkflowRow) -> str:
    """The early-completion case, stated only from what the final state proves: the task
    that called for ``name`` finished, no row of ``name`` was ever created, and the workflow
    still ended (docs/model.md, "Where interleavings matter")."""
    pred = via.get(name)
    if pred is None or name in rows_of or workflow.status not in WORKFLOW_TERMINAL:
        return ""
    return f": {pred} finished, yet no row of {name} was ever created and the workflow ended {workflow.status}"


def _and(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _dup_words(finding: str) -> str:
    return "duplicate dispatch" if finding == "duplicate_dispatch" else "re-run"


def _variable_publishers(graph: Graph) -> dict[str, str]:
    """Variable name -> the task whose transitions publish it (the first, in graph order)."""
    out: dict[str, str] = {}
    for name, node in graph.nodes.items():
        for tr in node.transitions:
            for var, _ in tr.publish:
                out.setdefault(var, name)
    return out


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
        for name, found in v.results.items():
            into = out.results.setdefault(name, Found())
            if found.verdict == TRUE or (found.verdict == UNKNOWN and into.verdict != TRUE):
                into.verdict = found.verdict
            into.count += found.count
            for task, n in found.by_task.items():
                into.by_task[task] = into.by_task.get(task, 0) + n
            into.details.extend(f"W{w}: {line}" for line in found.details)
            into.consequences.extend(f"W{w}: {line}" for line in found.consequences)
    return out


def _handled_by_failure_edge(graph: Graph, name: str, children: list[ExecRow]) -> bool:
    on_failure = {t for tr in graph.nodes[name].transitions if fires(tr.kind, False, False) for t in tr.do}
    return any(_wt(r).triggered_by == name and _wt(r).task_name in on_failure for r in children)


def _starved_joins(graph: Graph, expected: list[str], rows_of: dict[str, list[ExecRow]]) -> list[str]:
    """Join tasks whose edges fired with enough succeeded predecessors, yet never got a row."""
    return [name for name, node in graph.nodes.items() if node.join is not None and name in expected and name not in rows_of]


def _wt(row: ExecRow) -> WorkflowTask:
    """A workflow child's task fields (every row the checkers are given is a child)."""
    wt = row.workflow_task
    assert wt is not None, f"row {row.id} is not a workflow child"
    return wt
