"""The one registry of findings: what each checker looks for and how it counts.

Every output (terminal, JSON of every command, HTML, JUnit, expectations, ``--fail-on``)
iterates over ``REGISTRY``, so a checker added here appears everywhere at once.

A checker's per-run answer is a ``Found``: a verdict (``true``: the run shows it;
``false``: the run was checked and does not; ``unknown``: the run could not decide it,
e.g. a liveness property when the step limit cut the run short, or a property the store
of a live run does not record), a count of occurrences, the same count per task, and one
line per occurrence saying what happened and, where known, why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["safety", "liveness"]
TRUE, FALSE, UNKNOWN = "true", "false", "unknown"


@dataclass(frozen=True, slots=True)
class Checker:
    name: str  # the stable key used in JSON, --fail-on and expect blocks
    title: str  # a few words for headlines: "successor dispatched twice"
    kind: Kind
    unit: str  # what one occurrence is, plural: "extra dispatches"
    per: Literal["task", "workflow"]  # what by_task is keyed by ("workflow": the tasks named in the reasons)
    explanation: str  # one line: what exactly was checked
    legacy: str  # the pre-registry name of the same family in expect blocks and JSON ("duplicates", ...; "": none)
    undecided: str = ""  # why a run can leave it unknown ("": every run decides it)


REGISTRY: tuple[Checker, ...] = (
    Checker(
        "duplicate_dispatch",
        "successor dispatched twice",
        "safety",
        "extra rows dispatched",
        "task",
        "a task (key: task and item index) got more than one execution row handed to workers: the advance created it again",
        "duplicates",
    ),
    Checker(
        "item_rerun",
        "item handed to workers twice",
        "safety",
        "extra hand-overs",
        "task",
        "the same execution row (usually a with_items item) was handed to workers more than once",
        "duplicates",
    ),
    Checker(
        "lost_update",
        "update lost",
        "safety",
        "names dropped",
        "task",
        "a whole-array write of completed_tasks, failed_tasks or variables dropped a name or value "
        "another advance had added after this writer read the row",
        "lost_updates",
        undecided="a live run's store does not record what a write replaced",
    ),
    Checker(
        "wrong_outcome",
        "wrong final status",
        "safety",
        "wrong outcomes",
        "task",
        "the workflow ended completed although a task failed or a join never ran, or failed although "
        "the task it names completed; one caused only by a duplicate dispatch is counted there, not here",
        "wrong_outcomes",
    ),
    Checker(
        "finished_overwritten",
        "finished row written again",
        "safety",
        "rows written again",
        "task",
        "an execution row that had finished (completed, failed, timeout, cancelled or abandoned) was later "
        "given another status though it was handed to workers only once: e.g. a recovery write ended it while "
        "its dispatch waited in a busy worker, which then ran it; after a second hand-over it counts under item_rerun",
        "",
        undecided="a live run's store does not record what a write replaced",
    ),
    Checker(
        "missed_dispatch",
        "task never dispatched",
        "liveness",
        "keys never dispatched",
        "task",
        "a task (or item) that the workflow's real outcomes call for was never handed to a worker",
        "missed",
        undecided="cut short by the step limit",
    ),
    Checker(
        "stuck_workflow",
        "workflow never finished",
        "liveness",
        "workflows stuck",
        "workflow",
        "the workflow was not terminal once every actor was idle; cut short by the step limit it is unknown",
        "stuck",
        undecided="cut short by the step limit",
    ),
)

BY_NAME: dict[str, Checker] = {c.name: c for c in REGISTRY}
NAMES: tuple[str, ...] = tuple(BY_NAME)
SAFETY: tuple[str, ...] = tuple(c.name for c in REGISTRY if c.kind == "safety")
LIVENESS: tuple[str, ...] = tuple(c.name for c in REGISTRY if c.kind == "liveness")


@dataclass(slots=True)
class Found:
    """One checker's answer for one run."""

    verdict: str = FALSE
    count: int = 0
    by_task: dict[str, int] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)  # one line per occurrence: what and why
    consequences: list[str] = field(default_factory=list)  # findings this one caused, not counted there

    def add(self, task: str, detail: str, n: int = 1) -> None:
        self.verdict = TRUE
        self.count += n
        self.by_task[task] = self.by_task.get(task, 0) + n
        self.details.append(detail)


def parse_fail_on(text: str | None) -> tuple[tuple[str, str | None], ...]:
    """``FINDING[:TASK],...`` -> ((finding, task or None), ...). ``None`` or "" -> every safety
    finding. Raises ValueError naming the registry's findings."""
    if text is None or not text.strip():
        return tuple((name, None) for name in SAFETY)
    out: list[tuple[str, str | None]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, task = part.partition(":")
        name = name.strip()
        if name == "safety" or name == "liveness":
            out.extend((n, None) for n in (SAFETY if name == "safety" else LIVENESS))
            continue
        if name == "all":
            out.extend((n, None) for n in NAMES)
            continue
        if name not in BY_NAME:
            raise ValueError(f"unknown finding {name!r} (choose from: {', '.join(NAMES)}, safety, liveness, all)")
        if sep and not task.strip():
            raise ValueError(f"{part!r}: empty task name after ':'")
        out.append((name, task.strip() if sep else None))
    if not out:
        raise ValueError("no finding named")
    return tuple(dict.fromkeys(out))


def describe_fail_on(fail_on: tuple[tuple[str, str | None], ...]) -> str:
    return ",".join(name if task is None else f"{name}:{task}" for name, task in fail_on)


def fails(found: dict[str, Found], fail_on: tuple[tuple[str, str | None], ...]) -> bool:
    """Does a run with these answers fail under ``fail_on``? Only a ``true`` verdict fails."""
    for name, task in fail_on:
        f = found.get(name)
        if f is None or f.verdict != TRUE:
            continue
        if task is None or f.by_task.get(task, 0) > 0:
            return True
    return False


def failing_parts(found: dict[str, Found], fail_on: tuple[tuple[str, str | None], ...]) -> dict[str, dict[str, int]]:
    """The (finding -> task -> count) part of a run that fails under ``fail_on``."""
    out: dict[str, dict[str, int]] = {}
    for name, task in fail_on:
        f = found.get(name)
        if f is None or f.verdict != TRUE:
            continue
        tasks = f.by_task if task is None else {task: f.by_task[task]} if f.by_task.get(task) else {}
        if tasks:
            out.setdefault(name, {}).update(tasks)
    return out
