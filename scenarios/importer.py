"""attune workflow YAML (spec section 9) -> racesim scenario data.

Reads both layouts: a standalone workflow file, and an action file whose ``workflow_file:``
points at a graph-only file. Only the dispatch graph is kept (tasks, actions, with_items
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
from racesim.scenarios import schema
from racesim.scenarios.schema import Document, ScenarioError, show

DEFAULT_ITEMS = 3  # a with_items template has no count before run time

WORKFLOW_TOP = ("version", "vars", "tasks", "output_map", "cancellation_policy")
STANDALONE_TOP = ("ref", "label", "description", "parameters", "output", "tags")
# Fields of an action file besides workflow_file; they describe the action, not the graph.
ACTION_TOP = ("ref", "label", "description", "runner_type", "entry_point", "parameters", "output", "output_schema")
ACTION_TOP += ("enabled", "tags", "pack", "name", "version", "conf_schema", "notify", "workflow_file")
TASK_FIELDS = ("name", "type", "action", "input", "with_items", "concurrency", "batch_size", "when", "retry", "timeout")
TASK_FIELDS += ("join", "next", "publish", "on_success", "on_failure", "on_complete", "on_timeout", "decision", "tasks")
LEGACY = (
    ("on_success", "{{ succeeded() }}"),
    ("on_failure", "{{ failed() }}"),
    ("on_complete", None),
    ("on_timeout", "{{ timed_out() }}"),
)
TEMPLATE = re.compile(r"\{\{.*\}\}", re.S)


@dataclass(slots=True)
class Imported:
    scenario: dict
    notes: list[str] = field(default_factory=list)  # one line each: what was not carried over, and why


def _read(path: Path) -> Document:
    return schema.parse_text(schema.read_bytes(path, str(path)), str(path))


def import_workflow(path: Path, items: dict[str, int] | None = None) -> Imported:
    """Read ``path`` (either layout) and build scenario data; ``items`` gives template counts."""
    items = dict(items or {})
    doc = _read(path)
    notes: list[str] = []
    top = doc.data
    if not isinstance(top, dict):
        doc.fail((), f"expected a mapping (an attune workflow or action file), got {schema.kind_of(top)}")
    ref = top.get("ref")
    if "workflow_file" in top:  # action-linked layout: the graph lives in another file
        action_doc = doc
        target = schema.text(doc, ("workflow_file",), top["workflow_file"], 1000, one_line=True)
        graph_path = _find_workflow_file(path, target)
        if graph_path is None:
            doc.fail(("workflow_file",), f"no such file {show(target)} (looked beside the action file and one level up)")
        _note_unknown(action_doc, (), top, ACTION_TOP, notes, "action file field")
        doc = _read(graph_path)
        if not isinstance(doc.data, dict):
            doc.fail((), f"expected a graph-only workflow mapping, got {schema.kind_of(doc.data)}")
        _note_unknown(doc, (), doc.data, WORKFLOW_TOP + STANDALONE_TOP, notes, "workflow field")
        ref = ref or doc.data.get("ref")
    else:
        _note_unknown(doc, (), top, WORKFLOW_TOP + STANDALONE_TOP, notes, "workflow field")
    wf = doc.data
    if "tasks" not in wf:
        doc.fail((), "missing required field 'tasks' (neither a workflow file nor an action file with workflow_file)")
    for key, why in (
        ("vars", "workflow variables are data; racesim stores publishes but evaluates nothing"),
        ("parameters", "parameter values only feed templates"),
        ("output_map", "the parent result is not simulated"),
        ("output", "the parent result is not simulated"),
        ("cancellation_policy", "cancellation is not simulated"),
    ):
        if key in wf:
            notes.append(f"{doc.source}:{doc.line((key,))}: {key}: not simulated ({why})")
    raw_tasks = schema.listing(doc, ("tasks",), wf["tasks"], schema.MAX_TASKS)
    tasks = [_task(doc, ("tasks", i), raw, items, notes) for i, raw in enumerate(raw_tasks)]
    names = {t["name"] for t in tasks}
    for task_name in items:
        doc.fail(
            ("tasks",),
            f"--items {task_name}: no task {show(task_name)} with a with_items template{schema.near(task_name, names)}",
        )
    label = str(ref) if isinstance(ref, str) and ref else path.stem
    scenario: dict[str, Any] = {
        "name": _scenario_name(path.stem),
        "description": f"Imported from {path.name} (attune workflow {label})"[:300].replace("\n", " "),
        "workflow": {"ref": label[: schema.MAX_NAME], "tasks": tasks},
        "runs": 1000,
    }
    return Imported(scenario, notes)


def _find_workflow_file(action_file: Path, target: str) -> Path | None:
    """attune resolves workflow_file against the pack's actions folder; look beside the action
    file and one level up, so both ``workflows/x.yaml`` and ``actions/workflows/x.yaml`` resolve."""
    for base in (action_file.parent, action_file.parent.parent):
        candidate = base / target
        if candidate.is_file():
            return candidate
    return None


def _scenario_name(stem: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "imported"
    return cleaned[: schema.MAX_NAME]


def _note_unknown(doc: Document, path: schema.FieldPath, data: dict, known: tuple[str, ...], notes: list[str], what: str) -> None:
    for key in data:
        if key not in known:
            notes.append(f"{doc.source}:{doc.line((*path, key))}: {schema.dotted((*path, key))}: unknown {what}, ignored")


def _task(doc: Document, path: schema.FieldPath, raw: object, items: dict[str, int], notes: list[str]) -> dict:
    task = schema.fields(doc, path, raw, tuple(raw) if isinstance(raw, dict) else (), ("name",))
    task_name = schema.name(doc, (*path, "name"), task["name"])
    _note_unknown(doc, path, task, TASK_FIELDS, notes, f"task field ({task_name})")

    def note(key: str | schema.FieldPath, problem: str) -> None:
        where = key if isinstance(key, tuple) else (*path, key)  # a field of this task, or a full path
        notes.append(f"{doc.source}:{doc.line(where)}: {schema.dotted(where)} ({task_name}): {problem}")

    out: dict[str, Any] = {"name": task_name}
    kind = task.get("type", "action")
    if kind not in ("action", "workflow", "parallel"):
        doc.fail((*path, "type"), f"unknown task type {show(kind)} (action, workflow or parallel)")
    action = task.get("action")
    if kind == "parallel":
        note("type", "type: parallel is never executed by attune; imported without an action (nothing is dispatched)")
        if "tasks" in task:
            note("tasks", "sub-tasks of a parallel task are never dispatched by attune; not imported")
        action = None
    elif kind == "workflow":
        note("type", "nested workflow simulated as one action (its own tasks are not simulated)")
    if action is not None:
        out["action"] = schema.text(doc, (*path, "action"), action, schema.MAX_NAME, one_line=True)
    elif kind == "action":
        note("name", "no action: attune's DISPATCH creates nothing for it")
    if "with_items" in task:
        out["with_items"] = _items(doc, path, task["with_items"], task_name, items, note)
    for key in ("concurrency", "join"):
        if key in task and task[key] is not None:
            out[key] = task[key]  # range-checked when the scenario is validated
    for key, why in (
        ("input", "task input is data; templates are not rendered"),
        ("retry", "retry blocks act only in HEAD's H0 hook, which racesim does not model"),
        ("timeout", "action timeouts are not simulated"),
        ("batch_size", "attune ignores batch_size"),
        ("when", "a task-level when is ignored at runtime by attune too"),
    ):
        if key in task:
            note(key, f"not simulated ({why})")
    nxt = task.get("next")
    legacy = [k for k in (*(k for k, _ in LEGACY), "decision") if k in task]
    if nxt:
        transitions = [
            _transition(doc, (*path, "next", j), tr, note, notes)
            for j, tr in enumerate(schema.listing(doc, (*path, "next"), nxt, schema.MAX_TRANSITIONS))
        ]
        for key in legacy:
            note(key, "legacy field discarded because 'next' is present (as attune does)")
        if "publish" in task:
            note("publish", "task-level publish discarded because 'next' is present (as attune does)")
    else:
        transitions = _legacy(doc, path, task, note)
    out["next"] = transitions
    return out


def _items(doc: Document, path: schema.FieldPath, value: object, task_name: str, items: dict[str, int], note) -> int:
    if isinstance(value, list):
        if task_name in items:
            doc.fail((*path, "with_items"), f"--items {task_name}: with_items is already a literal list of {len(value)}")
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        count = items.pop(task_name, None)
        if count is None:
            note(
                "with_items",
                f"template {show(value, 40)} has no count before run time; using {DEFAULT_ITEMS} (--items {task_name}=N)",
            )
            return DEFAULT_ITEMS
        note("with_items", f"template {show(value, 40)} given {count} items (--items)")
        return count
    doc.fail((*path, "with_items"), f"expected a template or a list, got {schema.kind_of(value)}")


def _when(doc: Document, path: schema.FieldPath, value: object, note) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):  # YAML `when: true` is a constant; keep it as attune would render it
        value = "true" if value else "false"
    when = schema.text(doc, path, value)
    kind = classify_when(when)
    if kind == CUSTOM:
        note(path, f"condition {show(when, 40)} is not evaluated; racesim fires it iff the task succeeded")
    elif TEMPLATE.search(when) and when.strip() not in ("{{ succeeded() }}", "{{ failed() }}", "{{ timed_out() }}"):
        # attune's substring classification drops the rest (spec 6.1); racesim copies it
        note(path, f"condition {show(when, 40)} acts as plain {kind} (attune's substring classification)")
    return when


def _targets(doc: Document, path: schema.FieldPath, value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [schema.text(doc, (*path, k), v, schema.MAX_NAME) for k, v in enumerate(schema.listing(doc, path, value, 200))]


def _publish(doc: Document, path: schema.FieldPath, value: object) -> list:
    if value is None:
        return []
    if isinstance(value, dict):  # a single mapping is accepted as a list of one-entry maps
        value = [{k: v} for k, v in value.items()]
    out: list = []
    for k, entry in enumerate(schema.listing(doc, path, value, schema.MAX_PUBLISH)):
        if isinstance(entry, str):
            out.append(entry)
        elif isinstance(entry, dict):
            # non-scalar values become JSON text: racesim stores publishes, it never reads them
            out.append({str(n): (json.dumps(v, sort_keys=True) if isinstance(v, list | dict) else v) for n, v in entry.items()})
        else:
            doc.fail((*path, k), f"expected a name or a mapping, got {schema.kind_of(entry)}")
    return out


def _transition(doc: Document, path: schema.FieldPath, raw: object, note, notes: list[str]) -> dict:
    tr = schema.fields(doc, path, raw, tuple(raw) if isinstance(raw, dict) else ())
    _note_unknown(doc, path, tr, ("when", "publish", "do"), notes, "transition field")
    out: dict[str, Any] = {}
    when = _when(doc, (*path, "when"), tr.get("when"), note)
    if when is not None:
        out["when"] = when
    publish = _publish(doc, (*path, "publish"), tr.get("publish"))
    if publish:
        out["publish"] = publish
    out["do"] = _targets(doc, (*path, "do"), tr.get("do"))
    return out


def _legacy(doc: Document, path: schema.FieldPath, task: dict, note) -> list[dict]:
    """Legacy fields -> transitions, as attune's parser normalises them when ``next`` is empty."""
    transitions: list[dict] = []
    for key, when in LEGACY:
        if task.get(key) is not None:
            tr: dict[str, Any] = {"do": _targets(doc, (*path, key), task[key])}
            if when is not None:
                tr = {"when": when, **tr}
            transitions.append(tr)
    if task.get("decision") is not None:
        for k, branch in enumerate(schema.listing(doc, (*path, "decision"), task["decision"], 50)):
            bpath = (*path, "decision", k)
            b = schema.fields(doc, bpath, branch, ("when", "next", "default"), unknown="unsupported decision field")
            tr = {"do": _targets(doc, (*bpath, "next"), b.get("next"))}
            when = _when(doc, (*bpath, "when"), b.get("when"), note)
            if when is not None:
                tr = {"when": when, **tr}
            transitions.append(tr)
    publish = _publish(doc, (*path, "publish"), task.get("publish"))
    if publish:
        kinds = [classify_when(t.get("when")) for t in transitions]
        if "succeeded" in kinds:
            transitions[kinds.index("succeeded")]["publish"] = publish
        elif transitions:
            transitions[0]["publish"] = publish
        else:
            transitions.append({"when": "{{ succeeded() }}", "publish": publish, "do": []})
    return transitions


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
