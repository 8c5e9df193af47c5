"""What attune's workflow loader accepts, modelled in Python (no attune code is used or copied).

attune reads a workflow file in four stages, each of which can refuse it:

1. decoding into typed records (crates/common/src/workflow/parser.rs, ``parse_workflow_yaml``;
   serde with serde_yaml_ng): fields of the wrong type are refused, unknown fields are ignored;
2. normalising the legacy fields (``normalize_transitions``): ``on_success`` / ``on_failure`` /
   ``on_complete`` / ``on_timeout`` (each ONE task name), ``decision`` branches and task-level
   ``publish`` become ``next`` transitions, only when ``next`` is empty;
3. field constraints (``version`` 1-50 characters, at least one task, ...);
4. structure (``validate_workflow_structure``): an action task needs ``action``, a parallel task
   needs sub-tasks, every transition target must be a task of the same list, retry count 1-100.

This module reproduces those stages on the YAML node tree so that a refusal names the input
file's line. The four modelled commits differ only in stage 1 and the layouts: before 7438f92
``ref`` and ``label`` were required, a mapping publish entry took text values only and the pack
loader read no ``workflow_file``; 7438f92 made both optional (action-linked files omit them),
let publish values be any data and added the action-linked layout; f93e922 added
``cancellation_policy``; 9206d41 added per-task worker and permission fields (data only). The
rules themselves follow serde_yaml 0.9 (which serde_yaml_ng 0.10 forks): any scalar decodes as
text, an empty plain value as an empty list or mapping, ``~``/``null``/empty as a missing option.

attune's stricter ``WorkflowValidator`` (crates/common/src/workflow/validator.rs) runs only on
the pack workflow sync / validate paths for standalone files (the pack install and update paths
skip it); its first complaint is returned as ``validator_issue``, never as a refusal.

``lenient=True`` rewrites older layouts that HEAD refuses (tasks as a mapping, hyphenated keys,
list-form legacy fields, ``do: NAME``, list ``vars``, a literal ``with_items`` list, decision
``default: NAME``) before decoding; each rewrite is reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from racesim.scenarios import schema
from racesim.scenarios.schema import ScenarioError, dotted, show

# (label, commit) in model order; the spec's names for the four modelled versions.
VERSIONS: tuple[tuple[str, str], ...] = (("PRE", "b54aa3e"), ("FIX", "7438f92"), ("F93", "f93e922"), ("HEAD", "9206d41"))
HEAD = "HEAD"
LEGACY_FIELDS = ("on_success", "on_failure", "on_complete", "on_timeout")
LEGACY_WHEN = {"on_success": "{{ succeeded() }}", "on_failure": "{{ failed() }}", "on_complete": None}
LEGACY_WHEN["on_timeout"] = "{{ timed_out() }}"
TASK_TYPES = ("action", "parallel", "workflow")
CANCELLATION_POLICIES = ("allow_finish", "cancel_running")
RESERVED_TASK_NAMES = ("parameters", "vars", "task", "system", "kv", "pack", "item", "batch", "index")

FieldPath = tuple[str | int, ...]
_INT = re.compile(r"[-+]?(0x[0-9a-fA-F]+|0o[0-7]+|0b[01]+|[0-9]+)\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z|[-+]?\.(inf|Inf|INF)\Z|\.(nan|NaN|NAN)\Z")
_NULLS = ("", "~", "null", "Null", "NULL")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


class Rejection(Exception):
    """attune refuses the file: where, why (in racesim's words) and how to fix it."""

    def __init__(self, source: str, path: FieldPath, line: int, reason: str, hint: str) -> None:
        super().__init__(reason)
        self.source, self.path, self.line, self.reason, self.hint = source, path, line, reason, hint

    def line_text(self, who: str = "attune") -> str:
        return f"{self.source}:{self.line}: {dotted(self.path)}: {who} rejects this file: {self.reason} (fix: {self.hint})"


@dataclass(slots=True)
class Transition:
    when: str | None
    publish: list[str | dict[str, Any]]
    do: list[str] | None
    path: FieldPath


@dataclass(slots=True)
class Task:
    name: str
    type: str
    action: str | None
    path: FieldPath
    present: dict[str, FieldPath]  # every field the file gives (after lenient rewrites)
    with_items: str | None = None
    concurrency: int | None = None
    batch_size: int | None = None
    join: int | None = None
    timeout: int | None = None
    retry: dict[str, Any] | None = None
    next: list[Transition] = field(default_factory=list)
    tasks: list[Task] | None = None
    discarded: list[str] = field(default_factory=list)  # legacy fields dropped because next was given


@dataclass(slots=True)
class Workflow:
    """A workflow file as attune holds it after parsing (legacy fields folded into ``next``)."""

    source: str
    ref: str
    label: str
    version: str
    tasks: list[Task]
    present: dict[str, FieldPath]
    vars: dict[str, Any] = field(default_factory=dict)
    parameters: Any = None
    output: Any = None
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line(self, path: FieldPath) -> int:
        return schema.line_of(self.lines, path)


@dataclass(slots=True)
class Loaded:
    workflow: Workflow
    refused_by: dict[str, Rejection]  # version label -> why that version's parser refuses the file
    lenient: list[str]  # rewrites applied under --lenient (empty when HEAD accepts the file as is)
    validator_issue: str | None  # attune's stricter pack validation, standalone files only
    action_file: str | None = None  # the action file whose workflow_file led here

    @property
    def loads_in_head(self) -> bool:
        return HEAD not in self.refused_by


# -- reading ----------------------------------------------------------------------------------


def read_node(path: Path, source: str) -> yaml.Node:
    """The file's YAML node tree under racesim's safety limits (size, depth, no aliases)."""
    node = schema.compose(schema.read_bytes(path, source), source)
    if node is None:
        raise Rejection(source, (), 1, "the file is empty (attune finds no workflow in it)", "write a workflow mapping")
    return node


def _kind(node: yaml.Node) -> str:
    """How serde_yaml sees a node when a field accepts any type."""
    if isinstance(node, yaml.MappingNode):
        return "map"
    if isinstance(node, yaml.SequenceNode):
        return "seq"
    if getattr(node, "style", None) is not None:
        return "str"
    value = node.value
    if value in _NULLS:
        return "null"
    if value in _BOOLS:
        return "bool"
    if _INT.match(value):
        return "int"
    if _FLOAT.match(value):
        return "float"
    return "str"


_WHAT = {"map": "a mapping", "seq": "a list", "str": "text", "null": "null", "bool": "a boolean"}
_WHAT.update({"int": "an integer", "float": "a number"})


def _what(node: yaml.Node) -> str:
    kind = _kind(node)
    return f"{_WHAT[kind]} {show(node.value, 30)}" if kind in ("str", "int", "float", "bool") else _WHAT[kind]


class _Decoder:
    """Stage 1 for one version: typed decoding with serde's rules (document order, first error)."""

    def __init__(self, source: str, version: str, lines: dict[FieldPath, int]) -> None:
        self.source, self.version, self.lines = source, version, lines
        self.after_pre = version != "PRE"

    def fail(self, path: FieldPath, node: yaml.Node | None, reason: str, hint: str) -> Rejection:
        line = node.start_mark.line + 1 if node is not None else self.lines.get(path, 1)
        return Rejection(self.source, path, line, reason, hint)

    # scalar types
    def text(self, node: yaml.Node, path: FieldPath, optional: bool = True) -> str | None:
        if isinstance(node, yaml.ScalarNode):
            if optional and _kind(node) == "null":
                return None
            return str(node.value)
        raise self.fail(path, node, f"expected text, got {_what(node)}", "give a single value (quote templates)")

    def unsigned(self, node: yaml.Node, path: FieldPath, bits: int) -> int | None:
        kind = _kind(node)
        if kind == "null":
            return None
        if kind == "int":
            text = str(node.value)
            value = int(text, 0) if text.lstrip("+-")[:2] in ("0x", "0o", "0b") else int(text)
            if 0 <= value < 2**bits:
                return value
            raise self.fail(path, node, f"{value} is out of range (a whole number from 0)", "use a non-negative whole number")
        raise self.fail(
            path, node, f"expected a whole number, got {_what(node)}", "write a plain number (no quotes, no template)"
        )

    def boolean(self, node: yaml.Node, path: FieldPath) -> bool:
        if _kind(node) == "bool":
            return _BOOLS[node.value]
        raise self.fail(path, node, f"expected true or false, got {_what(node)}", "write true or false")

    def choice(self, node: yaml.Node, path: FieldPath, choices: tuple[str, ...]) -> str:
        if isinstance(node, yaml.ScalarNode) and node.value in choices:
            return str(node.value)
        got = show(node.value, 30) if isinstance(node, yaml.ScalarNode) else _what(node)
        raise self.fail(
            path, node, f"unknown value {got} (attune knows {', '.join(choices)})", f"use one of {', '.join(choices)}"
        )

    # collections
    def seq(self, node: yaml.Node, path: FieldPath) -> list[yaml.Node]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.ScalarNode) and node.style is None and node.value == "":
            return []  # an empty value decodes as an empty list
        raise self.fail(path, node, f"expected a list, got {_what(node)}", "write a YAML list ('- ...' entries)")

    def mapping(self, node: yaml.Node, path: FieldPath) -> list[tuple[str, yaml.Node, int]]:
        if isinstance(node, yaml.MappingNode):
            out = []
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    raise self.fail(path, key, "a field name must be text, got a collection", "use plain field names")
                out.append((str(key.value), value, key.start_mark.line + 1))
            return out
        if isinstance(node, yaml.ScalarNode) and node.style is None and node.value == "":
            return []
        raise self.fail(path, node, f"expected a mapping, got {_what(node)}", "write 'name: value' entries")

    def struct(
        self,
        node: yaml.Node,
        path: FieldPath,
        what: str,
        handlers: dict[str, Callable[[yaml.Node, FieldPath], Any]],
        required: tuple[str, ...],
    ) -> tuple[dict[str, Any], dict[str, FieldPath]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(
                path, node, f"expected {what} (a mapping), got {_what(node)}", f"write {what} as 'field: value' lines"
            )
        values: dict[str, Any] = {}
        present: dict[str, FieldPath] = {}
        self.lines.setdefault(path, node.start_mark.line + 1)
        for key, value, line in self.mapping(node, path):
            fpath = (*path, key)
            self.lines[fpath] = line
            if key in present and key in handlers:
                raise Rejection(self.source, fpath, line, f"field {key!r} given twice", f"keep one {key!r}")
            present[key] = fpath
            if key in handlers:
                values[key] = handlers[key](value, fpath)
        for key in required:
            if key not in values:
                raise Rejection(
                    self.source, path, self.lines.get(path, 1), f"missing required field {key!r} in {what}", f"add '{key}:'"
                )
        return values, present

    # workflow records
    def workflow(self, node: yaml.Node) -> tuple[dict[str, Any], dict[str, FieldPath]]:
        h: dict[str, Callable[[yaml.Node, FieldPath], Any]] = {
            "ref": lambda n, p: self.text(n, p, optional=False),
            "label": lambda n, p: self.text(n, p, optional=False),
            "description": self.text,
            "version": lambda n, p: self.text(n, p, optional=False),
            "parameters": self.data,
            "output": self.data,
            "vars": lambda n, p: {k: self.data(v, (*p, k)) for k, v, _ in self.mapping(n, p)},
            "tasks": self.task_list,
            "output_map": lambda n, p: (
                None if _kind(n) == "null" else {k: self.text(v, (*p, k), False) for k, v, _ in self.mapping(n, p)}
            ),
            "tags": lambda n, p: [self.text(v, (*p, i), False) for i, v in enumerate(self.seq(n, p))],
        }
        if self.version in ("F93", "HEAD"):
            h["cancellation_policy"] = lambda n, p: self.choice(n, p, CANCELLATION_POLICIES)
        required = ("ref", "label", "version", "tasks") if not self.after_pre else ("version", "tasks")
        return self.struct(node, (), "a workflow", h, required)

    def data(self, node: yaml.Node, path: FieldPath) -> Any:
        """Any value (serde_json::Value): kept as plain data, never evaluated."""
        if isinstance(node, yaml.MappingNode):
            return {k: self.data(v, (*path, k)) for k, v, _ in self.mapping(node, path)}
        if isinstance(node, yaml.SequenceNode):
            return [self.data(v, (*path, i)) for i, v in enumerate(node.value)]
        kind = _kind(node)
        text = str(node.value)
        if kind == "null":
            return None
        if kind == "bool":
            return _BOOLS[text]
        if kind == "int":
            return int(text, 0) if text.lstrip("+-")[:2] in ("0x", "0o", "0b") else int(text)
        if kind == "float":
            return float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))
        return text

    def task_list(self, node: yaml.Node, path: FieldPath) -> list[tuple[dict[str, Any], dict[str, FieldPath], FieldPath]]:
        if isinstance(node, yaml.MappingNode):
            raise self.fail(
                path,
                node,
                "tasks must be a list of tasks, this file gives a mapping of task names",
                "write each task as a list entry '- name: TASK' (or import with --lenient)",
            )
        return [(*self.task(t, (*path, i)), (*path, i)) for i, t in enumerate(self.seq(node, path))]

    def task(self, node: yaml.Node, path: FieldPath) -> tuple[dict[str, Any], dict[str, FieldPath]]:
        def legacy(n: yaml.Node, p: FieldPath) -> str | None:
            if isinstance(n, yaml.SequenceNode):
                raise self.fail(
                    p,
                    n,
                    f"the legacy {p[-1]} field takes one task name, got a list",
                    f"write '{p[-1]}: TASK', or move the branches into 'next:' transitions (or import with --lenient)",
                )
            return self.text(n, p)

        h: dict[str, Callable[[yaml.Node, FieldPath], Any]] = {
            "name": lambda n, p: self.text(n, p, optional=False),
            "type": lambda n, p: self.choice(n, p, TASK_TYPES),
            "action": self.text,
            "input": lambda n, p: {k: self.data(v, (*p, k)) for k, v, _ in self.mapping(n, p)},
            "when": self.text,
            "with_items": self.with_items,
            "batch_size": lambda n, p: self.unsigned(n, p, 64),
            "concurrency": lambda n, p: self.unsigned(n, p, 64),
            "retry": self.retry,
            "timeout": lambda n, p: self.unsigned(n, p, 32),
            "next": lambda n, p: [self.transition(t, (*p, i)) for i, t in enumerate(self.seq(n, p))],
            "decision": lambda n, p: [self.decision(b, (*p, i)) for i, b in enumerate(self.seq(n, p))],
            "publish": self.publish,
            "join": lambda n, p: self.unsigned(n, p, 64),
            "tasks": lambda n, p: (
                None if _kind(n) == "null" else [(*self.task(t, (*p, i)), (*p, i)) for i, t in enumerate(self.seq(n, p))]
            ),
        }
        for key in LEGACY_FIELDS:
            h[key] = legacy
        return self.struct(node, path, "a task", h, ("name",))

    def with_items(self, node: yaml.Node, path: FieldPath) -> str | None:
        if isinstance(node, yaml.SequenceNode):
            raise self.fail(
                path,
                node,
                "with_items must be one template expression yielding the list, got a literal list",
                'write with_items: "{{ parameters.NAME }}" and pass the list as a parameter (or import with --lenient)',
            )
        return self.text(node, path)

    def retry(self, node: yaml.Node, path: FieldPath) -> dict[str, Any] | None:
        if _kind(node) == "null":
            return None
        h: dict[str, Callable[[yaml.Node, FieldPath], Any]] = {
            "count": lambda n, p: self.unsigned(n, p, 32),
            "delay": lambda n, p: self.unsigned(n, p, 32),
            "backoff": lambda n, p: self.choice(n, p, ("constant", "linear", "exponential")),
            "max_delay": lambda n, p: self.unsigned(n, p, 32),
            "on_error": self.text,
        }
        values, _ = self.struct(node, path, "a retry block", h, ("count", "delay"))
        for key in ("count", "delay"):
            if values[key] is None:
                raise self.fail((*path, key), None, f"retry {key} must be a whole number, got null", f"give {key} a number")
        return values

    def transition(self, node: yaml.Node, path: FieldPath) -> Transition:
        h: dict[str, Callable[[yaml.Node, FieldPath], Any]] = {"when": self.text, "publish": self.publish}
        h["do"] = self.targets
        values, _ = self.struct(node, path, "a transition", h, ())
        return Transition(values.get("when"), values.get("publish", []), values.get("do"), path)

    def targets(self, node: yaml.Node, path: FieldPath) -> list[str] | None:
        if _kind(node) == "null":
            return None
        if isinstance(node, yaml.ScalarNode):
            raise self.fail(
                path,
                node,
                f"do takes a list of task names, got the single name {show(node.value, 30)}",
                f"write do: [{node.value}] (or import with --lenient)",
            )
        return [str(self.text(t, (*path, i), optional=False)) for i, t in enumerate(self.seq(node, path))]

    def decision(self, node: yaml.Node, path: FieldPath) -> dict[str, Any]:
        h: dict[str, Callable[[yaml.Node, FieldPath], Any]] = {
            "when": self.text,
            "next": lambda n, p: self.text(n, p, optional=False),
            "default": self.boolean,
        }
        values, _ = self.struct(node, path, "a decision branch", h, ("next",))
        return values

    def publish(self, node: yaml.Node, path: FieldPath) -> list[str | dict[str, Any]]:
        out: list[str | dict[str, Any]] = []
        for i, entry in enumerate(self.seq(node, path)):
            epath = (*path, i)
            kind = _kind(entry)
            if kind == "str":
                out.append(str(entry.value))  # a bare name: publish result() under it
                continue
            if kind == "map":
                item: dict[str, Any] = {}
                for key_node, value in entry.value:
                    key = str(key_node.value)
                    self.lines[(*epath, key)] = key_node.start_mark.line + 1
                    if _kind(key_node) != "str":
                        raise self.fail(
                            (*epath, key), key_node, f"a published name must be text, got {_what(key_node)}", "quote the name"
                        )
                    if not self.after_pre and _kind(value) != "str":
                        raise self.fail(
                            (*epath, key),
                            value,
                            f"before 7438f92 a published value must be text, got {_what(value)}",
                            f"quote the value: {key}: {show(str(value.value), 30)!s}"
                            if isinstance(value, yaml.ScalarNode)
                            else "use text",
                        )
                    item[key] = self.data(value, (*epath, key))
                out.append(item)
                continue
            raise self.fail(
                epath,
                entry,
                f"a publish entry is a name or a 'name: value' mapping, got {_what(entry)}",
                "write '- NAME' or '- NAME: VALUE'",
            )
        return out


# -- stages 2-4 -----------------------------------------------------------------------------


def _normalise(values: dict[str, Any], present: dict[str, FieldPath], path: FieldPath, sub: bool = False) -> Task:
    """Stage 2: the legacy fields become transitions, only when ``next`` is empty."""
    task = Task(
        name=values["name"],
        type=values.get("type") or "action",
        action=values.get("action"),
        path=path,
        present=present,
        with_items=values.get("with_items"),
        concurrency=values.get("concurrency"),
        batch_size=values.get("batch_size"),
        join=values.get("join"),
        timeout=values.get("timeout"),
        retry=values.get("retry"),
    )
    nxt: list[Transition] = values.get("next") or []
    legacy = [k for k in LEGACY_FIELDS if values.get(k) is not None]
    decision: list[dict[str, Any]] = values.get("decision") or []
    publish = values.get("publish") or []
    if nxt:
        task.next = nxt
        task.discarded = [*legacy, *(["decision"] if decision else []), *(["publish"] if publish else [])]
    else:
        out = [Transition(LEGACY_WHEN[k], [], [values[k]], present[k]) for k in legacy]
        out += [Transition(b.get("when"), [], [b["next"]], (*path, "decision", i)) for i, b in enumerate(decision)]
        if publish:
            firsts = [i for i, t in enumerate(out) if t.when is not None and "succeeded()" in t.when]
            if firsts:
                out[firsts[0]].publish = publish
            elif not out:
                out.append(Transition("{{ succeeded() }}", publish, None, present["publish"]))
            else:
                out[0].publish = publish
        task.next = out
    subs = values.get("tasks")
    if subs is not None:
        task.tasks = [_normalise(v, p, sp, sub=True) for v, p, sp in subs]
    return task


def _structure(wf: Workflow, tasks: list[Task], scope: str) -> None:
    """Stage 4, per task in order; sub-tasks of a parallel task form their own name scope."""
    names = {t.name for t in tasks}
    for t in tasks:

        def fail(path: FieldPath, reason: str, hint: str) -> Rejection:
            return Rejection(wf.source, path, wf.line(path), reason, hint)

        if t.type == "action" and t.action is None:
            raise fail(
                t.path,
                f"task {t.name!r} runs an action but names none",
                "add 'action: PACK.ACTION' (or type: parallel / workflow)",
            )
        if t.type == "parallel" and not t.tasks:
            raise fail(
                t.path,
                f"parallel task {t.name!r} has no sub-tasks",
                "give it a non-empty 'tasks:' list, or make it an action task",
            )
        for tr in t.next:
            for j, target in enumerate(tr.do or []):
                if target not in names:
                    raise fail(
                        (*tr.path, "do", j) if tr.path[-1] not in LEGACY_FIELDS else tr.path,
                        f"transition target {target!r} is not a task of {scope}{schema.near(target, sorted(names))}",
                        f"define a task named {target!r} or correct the name",
                    )
        if t.retry is not None and not 1 <= t.retry["count"] <= 100:
            raise fail(
                (*t.path, "retry", "count"), f"retry count must be 1 to 100, got {t.retry['count']}", "use a count from 1 to 100"
            )
        if t.tasks:
            _structure(wf, t.tasks, f"parallel task {t.name!r}")


def parse(node: yaml.Node, source: str, version: str, lines: dict[FieldPath, int] | None = None) -> Workflow:
    """All four stages for one modelled version; raises ``Rejection`` with attune's reason."""
    lines = {} if lines is None else lines
    lines.setdefault((), 1)
    dec = _Decoder(source, version, lines)
    values, present = dec.workflow(node)
    tasks = [_normalise(v, p, path) for v, p, path in values["tasks"]]
    wf = Workflow(
        source=source,
        ref=values.get("ref") or "",
        label=values.get("label") or "",
        version=values["version"],
        tasks=tasks,
        present=present,
        vars=values.get("vars") or {},
        parameters=values.get("parameters"),
        output=values.get("output"),
        lines=lines,
    )
    # stage 3: field constraints
    limits = (("ref", 1 if version == "PRE" else 0, 255), ("label", 1 if version == "PRE" else 0, 255), ("version", 1, 50))
    for key, lo, hi in limits:
        n = len(getattr(wf, key))
        if not lo <= n <= hi:
            p = present.get(key, ())
            raise Rejection(
                source,
                p,
                wf.line(p),
                f"{key} must be {lo} to {hi} characters, got {n}",
                f"give a {key} of {lo} to {hi} characters",
            )
    if not tasks:
        p = present["tasks"]
        raise Rejection(source, p, wf.line(p), "a workflow needs at least one task", "add a task")
    _structure(wf, tasks, "this workflow")
    return wf


def validator_issue(wf: Workflow) -> str | None:
    """The first complaint of attune's stricter pack validation (validator.rs), or None."""
    if not wf.ref:
        return "workflow ref is empty"
    seen: set[str] = set()
    for t in wf.tasks:
        if t.name in seen:
            return f"duplicate task name {t.name!r}"
        seen.add(t.name)

    def task_issue(t: Task) -> str | None:
        if t.type == "workflow" and t.action is None:
            return f"workflow task {t.name!r} names no action"
        if t.retry is not None and t.retry.get("max_delay") is not None and t.retry["max_delay"] < t.retry["delay"]:
            return f"task {t.name!r}: retry max_delay is below delay"
        if t.with_items is not None and 0 in (t.batch_size, t.concurrency):
            return f"task {t.name!r}: batch_size and concurrency must be above 0"
        for s in t.tasks or []:
            issue = task_issue(s)
            if issue:
                return issue
        return None

    for t in wf.tasks:
        issue = task_issue(t)
        if issue:
            return issue
    targets = {d for t in wf.tasks for tr in t.next for d in tr.do or []}
    entries = [t.name for t in wf.tasks if t.name not in targets]
    if entries:
        reach, stack = set(), list(entries)
        edges = {t.name: [d for tr in t.next for d in tr.do or []] for t in wf.tasks}
        while stack:
            name = stack.pop()
            if name not in reach:
                reach.add(name)
                stack.extend(edges.get(name, []))
        for t in wf.tasks:
            if t.name not in reach:
                return f"task {t.name!r} is unreachable from the entry points"
    for t in wf.tasks:
        if t.action is not None and not (len(t.action.split(".")) >= 2 and all(t.action.split("."))):
            return f"task {t.name!r}: action {t.action!r} is not of the form pack.action"
    for key in wf.vars:
        if not key or not all(c.isalnum() or c in "_-" for c in key):
            return f"variable name {key!r} has characters other than letters, digits, '_' and '-'"
    for t in wf.tasks:
        if t.name in RESERVED_TASK_NAMES:
            return f"task name {t.name!r} is a reserved word"
    for key in ("parameters", "output"):
        value = getattr(wf, key)
        if value is not None and not (isinstance(value, dict) and "type" in value):
            return f"{key} must be a JSON schema object with a 'type' field"
    return None


# -- lenient rewrites ---------------------------------------------------------------------------


def _scalar(value: str, like: yaml.Node) -> yaml.ScalarNode:
    return yaml.ScalarNode("tag:yaml.org,2002:str", value, like.start_mark, like.end_mark, style='"')


def _key(mapping: yaml.MappingNode, name: str) -> tuple[int, yaml.Node] | None:
    for i, (k, _) in enumerate(mapping.value):
        if isinstance(k, yaml.ScalarNode) and k.value == name:
            return i, mapping.value[i][1]
    return None


def lenient_rewrite(node: yaml.Node, notes: list[str], source: str) -> yaml.Node:
    """Rewrite older layouts in place into what HEAD's parser accepts; one note per rewrite."""
    if not isinstance(node, yaml.MappingNode):
        return node

    def note(n: yaml.Node, what: str) -> None:
        notes.append(f"{source}:{n.start_mark.line + 1}: {what}")

    found = _key(node, "vars")
    if found and isinstance(found[1], yaml.SequenceNode) and all(isinstance(e, yaml.MappingNode) for e in found[1].value):
        merged = yaml.MappingNode(
            "tag:yaml.org,2002:map", [kv for e in found[1].value for kv in e.value], found[1].start_mark, found[1].end_mark
        )
        node.value[found[0]] = (node.value[found[0]][0], merged)
        note(found[1], "vars given as a list of one-entry mappings; read as one mapping")
    found = _key(node, "tasks")
    if found and isinstance(found[1], yaml.MappingNode):
        tasks = []
        for k, v in found[1].value:
            if isinstance(v, yaml.MappingNode) and _key(v, "name") is None:
                v.value.insert(0, (_scalar("name", k), _scalar(str(k.value), k)))
            tasks.append(v)
        node.value[found[0]] = (
            node.value[found[0]][0],
            yaml.SequenceNode("tag:yaml.org,2002:seq", tasks, found[1].start_mark, found[1].end_mark),
        )
        note(found[1], "tasks given as a mapping of names; read as a list")
        found = (found[0], node.value[found[0]][1])
    if found and isinstance(found[1], yaml.SequenceNode):
        for t in found[1].value:
            if isinstance(t, yaml.MappingNode):
                _lenient_task(t, note)
    return node


def _lenient_task(task: yaml.MappingNode, note: Callable[[yaml.Node, str], None]) -> None:
    for i, (k, v) in enumerate(list(task.value)):
        if (
            isinstance(k, yaml.ScalarNode)
            and "-" in str(k.value)
            and str(k.value).replace("-", "_") in (*LEGACY_FIELDS, "with_items")
        ):
            renamed = str(k.value).replace("-", "_")
            task.value[i] = (_scalar(renamed, k), v)
            note(k, f"hyphenated key {k.value!r} read as {renamed!r}")
    found = _key(task, "with_items")
    if found and isinstance(found[1], yaml.SequenceNode):
        note(found[1], f"literal with_items list of {len(found[1].value)} read as a template with that many items")
    extra: list[tuple[yaml.Node, str | None, yaml.Node]] = []  # (targets node, when, where)
    listed = [k for k in LEGACY_FIELDS if (f := _key(task, k)) is not None and isinstance(f[1], yaml.SequenceNode)]
    for key in LEGACY_FIELDS if listed else ():  # with one list-form field, every legacy field becomes a transition
        found = _key(task, key)
        if not found:
            continue
        del task.value[found[0]]
        if not isinstance(found[1], yaml.SequenceNode):
            extra.append((found[1], LEGACY_WHEN[key], found[1]))
            continue
        note(found[1], f"list-form {key} read as one transition per entry")
        for entry in found[1].value:
            if isinstance(entry, yaml.MappingNode):
                given = _key(entry, "when")
                status = LEGACY_WHEN[key]
                cond = given[1].value if given and isinstance(given[1], yaml.ScalarNode) else None
                if status and cond:
                    cond = f"{status[:-3]} and ({cond.strip().removeprefix('{{').removesuffix('}}').strip()}) }}}}"
                do = _key(entry, "do")
                extra.append((do[1] if do else entry, cond or status, entry))
            else:
                extra.append((entry, LEGACY_WHEN[key], entry))
    found = _key(task, "decision")
    if found and isinstance(found[1], yaml.SequenceNode):
        for b in found[1].value:
            d = _key(b, "default") if isinstance(b, yaml.MappingNode) else None
            if d and _kind(d[1]) == "str" and _key(b, "next") is None:
                b.value[d[0]] = (_scalar("next", b), d[1])
                note(d[1], "decision 'default: TASK' read as an unconditional branch to TASK")
        if listed:
            del task.value[found[0]]
            for b in found[1].value:
                if isinstance(b, yaml.MappingNode) and (nxt := _key(b, "next")):
                    bwhen = _key(b, "when")
                    extra.append((nxt[1], str(bwhen[1].value) if bwhen and _kind(bwhen[1]) != "null" else None, b))
    found = _key(task, "next")
    transitions = found[1].value if found and isinstance(found[1], yaml.SequenceNode) else []
    for tr in transitions:
        if isinstance(tr, yaml.MappingNode):
            do = _key(tr, "do")
            if do and isinstance(do[1], yaml.ScalarNode) and _kind(do[1]) == "str":
                tr.value[do[0]] = (
                    tr.value[do[0]][0],
                    yaml.SequenceNode("tag:yaml.org,2002:seq", [do[1]], do[1].start_mark, do[1].end_mark),
                )
                note(do[1], f"do: {do[1].value} read as a list of one task")
    if extra:
        built: list[yaml.MappingNode] = []
        for targets, when, where in extra:
            names = _names(targets)
            items: list[tuple[yaml.Node, yaml.Node]] = [
                (
                    _scalar("do", where),
                    yaml.SequenceNode(
                        "tag:yaml.org,2002:seq", [_scalar(n, where) for n in names], where.start_mark, where.end_mark
                    ),
                )
            ]
            if when is not None:
                items.insert(0, (_scalar("when", where), _scalar(when, where)))
            built.append(yaml.MappingNode("tag:yaml.org,2002:map", items, where.start_mark, where.end_mark))
        publish = _key(task, "publish")
        if publish and not (found and isinstance(found[1], yaml.SequenceNode) and found[1].value):
            del task.value[publish[0]]  # attune attaches task-level publish to the first succeeded() transition
            whens = [str(m.value[0][1].value) if m.value[0][0].value == "when" else "" for m in built]
            at = next((i for i, w in enumerate(whens) if "succeeded()" in w), 0)
            built[at].value.append((_scalar("publish", publish[1]), publish[1]))
        if found and isinstance(found[1], yaml.SequenceNode) and found[1].value:
            return  # next wins: the converted legacy entries are discarded, as attune discards legacy fields
        seq = yaml.SequenceNode("tag:yaml.org,2002:seq", built, built[0].start_mark, built[-1].end_mark)
        if found:
            task.value[found[0]] = (task.value[found[0]][0], seq)
        else:
            task.value.append((_scalar("next", built[0]), seq))
    for key in ("tasks",):
        found = _key(task, key)
        if found and isinstance(found[1], yaml.SequenceNode):
            for sub in found[1].value:
                if isinstance(sub, yaml.MappingNode):
                    _lenient_task(sub, note)


def _names(node: yaml.Node) -> list[str]:
    """Task names in a legacy target: a name, a list of names, or nested {when, next|do} entries."""
    if isinstance(node, yaml.ScalarNode):
        return [] if _kind(node) == "null" else [str(node.value)]
    if isinstance(node, yaml.SequenceNode):
        return [n for e in node.value for n in _names(e)]
    if isinstance(node, yaml.MappingNode):
        for key in ("next", "do"):
            found = _key(node, key)
            if found:
                return _names(found[1])
    return []


# -- the entry point -------------------------------------------------------------------------


def literal_items(node: yaml.Node) -> dict[str, int]:
    """Task name -> length of a literal with_items list (only meaningful under --lenient)."""
    out: dict[str, int] = {}
    found = _key(node, "tasks") if isinstance(node, yaml.MappingNode) else None
    if found and isinstance(found[1], yaml.SequenceNode):
        for t in found[1].value:
            if not isinstance(t, yaml.MappingNode):
                continue
            name, items = _key(t, "name"), _key(t, "with_items")
            if name and items and isinstance(items[1], yaml.SequenceNode) and isinstance(name[1], yaml.ScalarNode):
                out[str(name[1].value)] = len(items[1].value)
                idx = next(i for i, (k, v) in enumerate(t.value) if v is items[1])
                t.value[idx] = (t.value[idx][0], _scalar(f"<literal list of {len(items[1].value)}>", items[1]))
    return out


def load_file(path: Path, lenient: bool = False, source: str | None = None) -> tuple[Loaded, dict[str, int]]:
    """Read a workflow file (standalone, graph-only or an action file with ``workflow_file``)
    as each modelled attune version would. Raises ``Rejection`` when HEAD refuses it (and
    ``lenient`` cannot rewrite it), ``ScenarioError`` for racesim's own input limits.
    Returns the loaded workflow and literal with_items counts found by lenient rewrites."""
    source = source or str(path)
    node = read_node(path, source)
    action_file = None
    refused: dict[str, Rejection] = {}
    linked = _key(node, "workflow_file") if isinstance(node, yaml.MappingNode) else None
    if linked is not None:
        action_file = source
        # b54aa3e's pack loader has no workflow_file: the layout arrived with 7438f92
        line = linked[1].start_mark.line + 1
        why = "b54aa3e's pack loader does not read workflow_file (the action-linked layout arrived with 7438f92)"
        refused["PRE"] = Rejection(source, ("workflow_file",), line, why, "use a standalone file under workflows/")
        assert isinstance(node, yaml.MappingNode)
        path, source = _linked(node, path, source)
        node = read_node(path, source)
    parsed: dict[str, Workflow] = {}
    for label, _commit in VERSIONS:
        if label in refused:
            continue
        try:
            parsed[label] = parse(node, source, label)
        except Rejection as exc:
            refused[label] = exc
    rewrites: list[str] = []
    counts: dict[str, int] = {}
    if HEAD in refused:
        if not lenient:
            raise refused[HEAD]
        node = read_node(path, source)  # a fresh tree: rewrites change nodes in place
        lenient_rewrite(node, rewrites, source)
        counts = literal_items(node)
        parsed[HEAD] = parse(node, source, HEAD)  # still refused: raises with HEAD's reason
    wf = parsed[HEAD]
    issue = validator_issue(wf) if action_file is None else None
    return Loaded(wf, refused, rewrites, issue, action_file), counts


def _linked(node: yaml.MappingNode, path: Path, source: str) -> tuple[Path, str]:
    """attune's pack loader: workflow_file is relative to the actions folder and must stay
    inside the pack (the folder above it); the action file needs a ref."""
    found = _key(node, "workflow_file")
    assert found is not None
    value = found[1]
    line = value.start_mark.line + 1
    if _key(node, "ref") is None:
        raise Rejection(
            source, ("ref",), 1, "an action file needs a ref (attune skips the action without one)", "add 'ref: PACK.NAME'"
        )
    if not isinstance(value, yaml.ScalarNode) or _kind(value) != "str":
        raise Rejection(
            source, ("workflow_file",), line, f"workflow_file must be a path, got {_what(value)}", "write a relative path"
        )
    target = (path.parent / str(value.value)).resolve()
    pack_root = path.parent.parent.resolve()
    if not target.is_relative_to(pack_root):
        raise Rejection(
            source, ("workflow_file",), line, "workflow_file leads outside the pack folder", "keep the file inside the pack"
        )
    if not target.is_file():
        raise Rejection(
            source,
            ("workflow_file",),
            line,
            f"no such file {show(str(value.value))} (relative to the actions folder)",
            "correct the path",
        )
    rel = Path(source).parent / str(value.value)
    return target, str(rel)


__all__ = ["HEAD", "VERSIONS", "Loaded", "Rejection", "ScenarioError", "Task", "Transition", "Workflow", "load_file", "parse"]
