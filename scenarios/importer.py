"""attune workflow YAML (spec section 9) -> racesim scenario data.

Reads both layouts: a standalone workflow file, and an action file whose ``workflow_file:``
points at a graph-only file. A file is accepted exactly when attune HEAD's parser accepts it
(``attune_parser`` models it); a refusal gives attune's reason, the input line and a fix.
Only the dispatch graph is kept (tasks, actions, with_items
counts, concurrency, joins, transitions); everything racesim cannot simulate is returned as a
named note for the user, never dropped silently. Nothing in the workflow is evaluated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from racesim.models.graph import CUSTOM, classify_when
from racesim.scenarios import attune_parser, schema
from racesim.scenarios.schema import ScenarioError, show

DEFAULT_ITEMS = 3  # a with_items template has no count before run time
TEMPLATE = re.compile(r"\{\{.*\}\}", re.S)
KNOWN_TOP: tuple[str, ...] = ("version", "vars", "tasks", "output_map", "cancellation_policy", "ref", "label", "description")
KNOWN_TOP += ("parameters", "output", "tags")
KNOWN_TASK: tuple[str, ...] = (
    "name",
    "type",
    "action",
    "input",
    "with_items",
    "concurrency",
    "batch_size",
    "when",
    "retry",
    "timeout",
)
KNOWN_TASK += ("join", "next", "publish", "decision", "tasks", *attune_parser.LEGACY_FIELDS)
KNOWN_TASK += ("permission_set_refs", "permission_set_ref", "worker_selector", "worker_tolerations", "worker_affinity")
KNOWN_TASK += ("__chart_meta__",)  # the workflow builder's layout data


@dataclass(slots=True)
class Imported:
    scenario: dict
    notes: list[str] = field(default_factory=list)  # one line each: what was not carried over, and why
    loaded: attune_parser.Loaded | None = None


def import_workflow(
    path: Path, items: dict[str, int] | None = None, lenient: bool = False, source: str | None = None
) -> Imported:
    """Read ``path`` (either layout) as attune would, and build scenario data.

    A file attune HEAD refuses raises ``ScenarioError`` with attune's reason, the input line and
    a fix, unless ``lenient`` can rewrite its older layout (each rewrite is a note)."""
    items = dict(items or {})
    try:
        loaded, literal = attune_parser.load_file(path, lenient=lenient, source=source)
    except attune_parser.Rejection as exc:
        raise ScenarioError(exc.line_text("attune HEAD")) from None
    wf = loaded.workflow
    notes: list[str] = []
    if lenient and not loaded.loads_in_head:
        head = loaded.refused_by[attune_parser.HEAD]
        notes.append(
            f"{head.source}:{head.line}: attune HEAD would reject this file: {schema.dotted(head.path)}: {head.reason}; "
            "imported leniently for analysis"
        )
        notes += loaded.lenient
    for label, commit in attune_parser.VERSIONS:
        refusal = loaded.refused_by.get(label)
        if refusal is not None and loaded.loads_in_head and label != attune_parser.HEAD:
            notes.append(f"{refusal.source}:{refusal.line}: attune {label} ({commit}) would reject this file: {refusal.reason}")
    if loaded.validator_issue:
        notes.append(f"{wf.source}:1: attune's pack validation (sync/validate endpoints) would flag: {loaded.validator_issue}")
    for key, fpath in wf.present.items():
        if key not in KNOWN_TOP:
            notes.append(f"{wf.source}:{wf.line(fpath)}: {key}: not an attune workflow field (attune ignores it)")
    for key, why in (
        ("vars", "workflow variables are data; racesim stores publishes but evaluates nothing"),
        ("parameters", "parameter values only feed templates"),
        ("output_map", "the parent result is not simulated"),
        ("output", "the parent result is not simulated"),
        ("cancellation_policy", "cancellation is not simulated"),
    ):
        if key in wf.present:
            notes.append(f"{wf.source}:{wf.line(wf.present[key])}: {key}: not simulated ({why})")
    _racesim_limits(wf)
    tasks = [_task(wf, t, items, literal, notes) for t in wf.tasks]
    for task_name in items:
        raise ScenarioError(
            f"{wf.source}:1: tasks: --items {task_name}: no task {show(task_name)} with a with_items template"
            f"{schema.near(task_name, [t.name for t in wf.tasks])}"
        )
    label = wf.ref or path.stem
    scenario: dict[str, Any] = {
        "name": _scenario_name(path.stem),
        "description": f"Imported from {path.name} (attune workflow {label})"[:300].replace("\n", " "),
        "workflow": {"ref": label[: schema.MAX_NAME], "tasks": tasks},
        "runs": 1000,
    }
    return Imported(scenario, notes, loaded)


def loadable(imported: Imported, source: str) -> None:
    """Validate the scenario exactly as `racesim run` would; a problem is racesim's limit (attune
    accepted the file), reported against the input file and the task it comes from."""
    from racesim.scenarios import loader  # the loader imports nothing from here

    try:
        loader.from_dict(imported.scenario, source, default_name=imported.scenario["name"])
    except ScenarioError as exc:
        problem = str(exc).split(": ", 2)[-1] if str(exc).startswith(f"{source}:") else str(exc)
        line, where = 1, ""
        match = re.search(r"workflow\.tasks\[(\d+)\](\S*)", str(exc))
        if match and imported.loaded is not None:
            task = imported.loaded.workflow.tasks[int(match.group(1))]
            line, where = imported.loaded.workflow.line(task.path), f" {schema.dotted(task.path)}{match.group(2).rstrip(':')}:"
            source = imported.loaded.workflow.source
        raise ScenarioError(f"{source}:{line}:{where} racesim cannot simulate this (attune HEAD accepts it): {problem}") from None


def _racesim_limits(wf: attune_parser.Workflow) -> None:
    """What attune accepts but a racesim scenario cannot hold: refused, and said so."""
    seen: set[str] = set()
    for t in wf.tasks:
        where = f"{wf.source}:{wf.line(t.path)}: {schema.dotted(t.path)}"
        if not schema.NAME_RE.match(t.name) or len(t.name) > schema.MAX_NAME:
            raise ScenarioError(
                f"{where}: racesim cannot simulate task name {show(t.name)} (attune accepts it; racesim needs letters, digits, "
                "'_', '.', '-' and at most 100 characters): rename the task"
            )
        if t.name in seen:
            raise ScenarioError(
                f"{where}: racesim cannot simulate a second task named {t.name!r} (attune's parser accepts it, its pack "
                "validation refuses it): rename one of them"
            )
        seen.add(t.name)
    if len(wf.tasks) > schema.MAX_TASKS:
        raise ScenarioError(f"{wf.source}:1: tasks: racesim simulates at most {schema.MAX_TASKS} tasks, got {len(wf.tasks)}")


def _scenario_name(stem: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "imported"
    return cleaned[: schema.MAX_NAME]


def _task(
    wf: attune_parser.Workflow, t: attune_parser.Task, items: dict[str, int], literal: dict[str, int], notes: list[str]
) -> dict:
    def note(key: str | schema.FieldPath, problem: str) -> None:
        where = key if isinstance(key, tuple) else t.present.get(key, t.path)
        notes.append(f"{wf.source}:{wf.line(where)}: {schema.dotted(where)} ({t.name}): {problem}")

    for key in t.present:
        if key not in KNOWN_TASK:
            note(key, "not an attune task field (attune ignores it)")
    out: dict[str, Any] = {"name": t.name}
    action = t.action
    if t.type == "parallel":
        note("type", "type: parallel is never executed by attune; imported without an action (nothing is dispatched)")
        if t.tasks:
            note("tasks", "sub-tasks of a parallel task are never dispatched by attune; not imported")
        action = None
    elif t.type == "workflow":
        note("type", "nested workflow simulated as one action (its own tasks are not simulated)")
    if action is not None:
        out["action"] = action[: schema.MAX_NAME]
    if t.with_items is not None:
        out["with_items"] = _items(t, items, literal, note)
    for key in ("concurrency", "join"):
        value = getattr(t, key)
        if value is not None:
            out[key] = value  # range-checked when the scenario is validated
    if t.retry is not None:
        out["retry"] = {k: t.retry[k] for k in ("count", "delay", "backoff", "max_delay") if t.retry.get(k) is not None}
        note("retry", "retry block kept: only HEAD's retry hook (H0) re-runs the task; on_error is ignored, as attune does")
    for key, why in (
        ("input", "task input is data; templates are not rendered"),
        ("timeout", "action timeouts are not simulated"),
        ("batch_size", "attune ignores batch_size"),
        ("when", "a task-level when is ignored at runtime by attune too"),
    ):
        if key in t.present:
            note(key, f"not simulated ({why})")
    for key in t.discarded:
        note(key, "legacy field discarded because 'next' is present (as attune does)")
    out["next"] = [_transition(tr, note) for tr in t.next]
    return out


def _items(t: attune_parser.Task, items: dict[str, int], literal: dict[str, int], note) -> int:
    if t.name in literal:
        if t.name in items:
            raise ScenarioError(f"--items {t.name}: with_items is already a literal list of {literal[t.name]}")
        return literal[t.name]
    count = items.pop(t.name, None)
    shown = show(t.with_items, 40)
    if count is None:
        note("with_items", f"template {shown} has no count before run time; using {DEFAULT_ITEMS} (--items {t.name}=N)")
        return DEFAULT_ITEMS
    note("with_items", f"template {shown} given {count} items (--items)")
    return count


def _transition(tr: attune_parser.Transition, note) -> dict:
    out: dict[str, Any] = {}
    if tr.when is not None:
        kind = classify_when(tr.when)
        where = (*tr.path, "when") if tr.path and tr.path[-1] not in attune_parser.LEGACY_FIELDS else tr.path
        if kind == CUSTOM:
            note(where, f"condition {show(tr.when, 40)} is not evaluated; racesim fires it iff the task succeeded")
        elif TEMPLATE.search(tr.when) and tr.when.strip() not in ("{{ succeeded() }}", "{{ failed() }}", "{{ timed_out() }}"):
            note(where, f"condition {show(tr.when, 40)} acts as plain {kind} (attune's substring classification)")
        out["when"] = tr.when
    publish: list = []
    for entry in tr.publish:
        if isinstance(entry, str):
            publish.append(entry)
        else:  # non-scalar values become JSON text: racesim stores publishes, it never reads them
            publish.append(
                {str(n): (json.dumps(v, sort_keys=True) if isinstance(v, list | dict) else v) for n, v in entry.items()}
            )
    if publish:
        out["publish"] = publish
    out["do"] = list(tr.do or [])
    return out


def dump(scenario: dict) -> str:
    header = "# Generated by `racesim import`: default deployment and timing; edit freely.\n"
    return header + yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True, width=1000)


def parse_items(values: tuple[str, ...] | list[str]) -> dict[str, int]:
    """``--items TASK=N`` options -> {task: count}."""
    out: dict[str, int] = {}
    for value in values:
        task, sep, count = value.partition("=")
        if not sep or not task.strip() or not count.strip().isdigit():
            raise ScenarioError(f"--items: expected TASK=N with N a whole number, got {show(value)}")
        n = int(count)
        if n > schema.MAX_ITEMS:
            raise ScenarioError(f"--items: {task}: at most {schema.MAX_ITEMS} items, got {n}")
        out[task.strip()] = n
    return out
