"""Scenario file validation: YAML read safely into plain data with a line per field, then
checked field by field. Every violation is one ``ScenarioError`` line
``FILE:LINE: field.path: problem``; nothing in a file is ever evaluated."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

import yaml
from racesim.models.guards import Guards
from racesim.models.recovery import FIELDS as RECOVERY_FIELDS
from racesim.sim.config import DEPLOYMENT_LIMITS, FAULTS, Deployment, Faults
from racesim.sim.coverage import GUARD_STEPS
from racesim.sim.findings import NAMES as FINDING_NAMES
from racesim.sim.output import InputFileError, read_input
from racesim.sim.timing import DISTRIBUTIONS, TIMING_KEYS

# Size limits: a hostile file is refused before it can cost memory or hours of CPU.
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 24  # YAML nesting (the schema itself needs 9)
MAX_EVENTS = 200_000  # YAML parser events (roughly: scalars + collections)
MAX_TEXT = 4_000  # characters in any one string
MAX_NAME = 100  # task / scenario names
MAX_TASKS = 200
MAX_TRANSITIONS = 50  # per task
MAX_TARGETS = 200  # per transition
MAX_ITEMS = 10_000  # per with_items task
MAX_TOTAL_ITEMS = 20_000  # summed over tasks: the simulated DB holds one row per item
MAX_RUNS = 100_000  # a scenario's default runs and an expect entry's runs
MAX_STEPS = 100_000_000  # a scenario's own step limit (sim.config.RunConfig.step_limit)
MAX_EXPECT = 50
MAX_PUBLISH = 100
MAX_SECONDS = 86_400.0  # any timing parameter or delay
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
SCENARIO_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")

# expect-block vocabulary, mirrored from racesim.engine.expectations (importing it here would be circular:
# expectations imports the loader); tests/test_scenarios.py asserts the two stay equal. The registry's
# finding names (racesim.sim.findings, below this layer) are keys too, each 0/some or task -> 0/some.
LEGACY_METRICS = ("duplicates", "missed", "stuck", "lost_updates", "wrong_outcomes")
METRICS = (*LEGACY_METRICS, *FINDING_NAMES)
EXPECT_DEPLOYMENT_KEYS = ("replicas", "listeners", "prefetch", "workers")
# Coverage claims: ``reached`` (the guard check ran / the fault point was checked) and
# ``decided`` (the guard changed the outcome / the fault fired), keyed by guard step or fault.
COVERAGE_KEYS = ("reached", "decided")
ENTRY_KEYS = ("guards", "runs", "faults", "note", "by_task", *COVERAGE_KEYS, *EXPECT_DEPLOYMENT_KEYS, *METRICS)

TOP_KEYS = (
    "name",
    "description",
    "workflow",
    "deployment",
    "faults",
    "timing",
    "outcomes",
    "runs",
    "expect",
    "load",
    "max_steps",
)
LOAD_KEYS = ("count", "arrival", "gap")
ARRIVALS = ("all", "interval", "poisson")
MAX_LOAD = 1_000  # workflow executions per run
TIMING_EXTRA_KEYS = ("recovery", "profile")
WORKFLOW_KEYS = ("ref", "tasks")
TASK_KEYS = ("name", "action", "with_items", "concurrency", "join", "next", "retry")
RETRY_KEYS = ("count", "delay", "backoff", "max_delay", "on_error")
BACKOFFS = ("constant", "linear", "exponential")
MAX_RETRIES = 100
TRANSITION_KEYS = ("when", "do", "publish")
OUTCOME_KEYS = ("fail_items", "fail", "fail_probability")

YAML_STR, YAML_INT, YAML_FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
YAML_BOOL, YAML_NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
YAML_MAP, YAML_SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
SCALAR_TAGS = (YAML_STR, YAML_INT, YAML_FLOAT, YAML_BOOL, YAML_NULL)

FieldPath = tuple[str | int, ...]


class ScenarioError(ValueError):
    """Bad scenario input; ``str()`` is the one line shown to the user."""


def show(value: object, limit: int = 60) -> str:
    """A value quoted for an error line: repr escapes newlines, long text is cut."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dotted(path: FieldPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def kind_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def line_of(lines: dict[FieldPath, int], path: FieldPath) -> int:
    """The 1-based line of ``path``, or of its nearest ancestor that has one."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get((), 1)


@dataclass(slots=True)
class Document:
    """Plain data from a scenario file, and the 1-based line of every field path."""

    source: str
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line(self, path: FieldPath) -> int:
        return line_of(self.lines, path)

    def fail(self, path: FieldPath, problem: str) -> NoReturn:
        raise ScenarioError(f"{self.source}:{self.line(path)}: {dotted(path)}: {problem}")


# -- reading ----------------------------------------------------------------------------------


def _yaml_error(source: str, exc: yaml.YAMLError) -> ScenarioError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None) or type(exc).__name__
    problem = " ".join(str(problem).split())
    return ScenarioError(f"{source}:{line}: (yaml): not valid YAML: {problem}")


def read_bytes(path: Path, source: str) -> bytes:
    """The file's bytes; only a regular file is read (a FIFO would block), at most MAX_FILE_BYTES."""
    try:
        return read_input(path, MAX_FILE_BYTES)
    except InputFileError as exc:
        raise ScenarioError(f"{source}:1: (file): {exc}") from None


def compose(raw: bytes, source: str) -> yaml.Node | None:
    """Bytes -> YAML node tree (None for an empty document). Aliases are refused (a few lines of
    anchors can expand to gigabytes), nesting and node counts are bounded before composing."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(f"{source}:{line}: (file): not UTF-8 text (byte {exc.start})") from None
    documents = depth = events = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            events += 1
            line = event.start_mark.line + 1 if event.start_mark is not None else 1
            if events > MAX_EVENTS:
                raise ScenarioError(f"{source}:{line}: (yaml): more than {MAX_EVENTS} YAML nodes")
            if isinstance(event, yaml.AliasEvent):
                raise ScenarioError(f"{source}:{line}: (yaml): YAML aliases (*name) are not allowed in scenarios")
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise ScenarioError(f"{source}:{line}: (yaml): more than one YAML document")
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ScenarioError(f"{source}:{line}: (yaml): nested deeper than {MAX_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(source, exc) from None


def parse_text(raw: bytes, source: str) -> Document:
    """Bytes -> Document; only plain scalar tags are built."""
    node = compose(raw, source)
    if node is None:
        raise ScenarioError(f"{source}:1: (document): the file is empty")
    doc = Document(source, None)
    doc.data = _build(node, (), doc)
    return doc


def _build(node: yaml.Node, path: FieldPath, doc: Document) -> Any:
    """Node tree -> plain data, recording each path's line. Iteration depth is bounded above."""
    doc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        if node.tag not in SCALAR_TAGS:
            doc.fail(path, f"unsupported YAML tag {show(node.tag)} (plain text, numbers, booleans and null only)")
        if len(node.value) > MAX_TEXT:
            doc.fail(path, f"value longer than {MAX_TEXT} characters")
        try:
            # a fresh constructor per scalar: a shared one would remember every node it built
            return yaml.constructor.SafeConstructor().construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError) as exc:  # e.g. an integer with more digits than Python converts
            doc.fail(path, f"bad {node.tag.rsplit(':', 1)[-1]} value ({' '.join(str(exc).split())[:80]})")
    if isinstance(node, yaml.SequenceNode):
        if node.tag != YAML_SEQ:
            doc.fail(path, f"unsupported YAML tag {show(node.tag)}")
        return [_build(child, (*path, i), doc) for i, child in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        if node.tag != YAML_MAP:
            doc.fail(path, f"unsupported YAML tag {show(node.tag)}")
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != YAML_STR:
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a collection"
                what = "a merge key (<<)" if key_node.tag == "tag:yaml.org,2002:merge" else show(shown)
                doc.lines[(*path, "?")] = key_line
                doc.fail((*path, "?"), f"field names must be plain text, got {what} (quote it)")
            key = key_node.value
            if len(key) > MAX_NAME:
                doc.lines[(*path, "?")] = key_line
                doc.fail((*path, "?"), f"field name longer than {MAX_NAME} characters")
            if key in out:
                doc.lines[(*path, key)] = key_line
                doc.fail((*path, key), "duplicate field")
            out[key] = _build(value_node, (*path, key), doc)
            doc.lines[(*path, key)] = key_line  # report a field on its key's line
        return out
    doc.fail(path, "unsupported YAML node")


# -- field checks -----------------------------------------------------------------------------


def fields(
    doc: Document,
    path: FieldPath,
    value: object,
    allowed: tuple[str, ...],
    required: tuple[str, ...] = (),
    unknown: str = "unknown field",
) -> dict:
    """A mapping with only ``allowed`` keys (did-you-mean on the rest) and every ``required`` one."""
    if not isinstance(value, dict):
        doc.fail(path, f"expected a mapping, got {kind_of(value)}")
    for key in value:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            listed = ", ".join(allowed) if len(allowed) <= 20 else ", ".join(allowed[:20]) + ", ..."
            hint = f"did you mean {close[0]!r}?" if close else f"expected one of: {listed or '(none)'}"
            doc.fail((*path, key), f"{unknown} {show(key)} ({hint})")
    for key in required:
        if key not in value:
            doc.fail(path, f"missing required field {key!r}")
    return value


def integer(doc: Document, path: FieldPath, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        doc.fail(path, f"expected an integer, got {kind_of(value)}")
    if not lo <= value <= hi:
        doc.fail(path, f"must be between {lo} and {hi}, got {show(value)}")
    return value


def number(doc: Document, path: FieldPath, value: object, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        doc.fail(path, f"expected a number, got {kind_of(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        doc.fail(path, f"must be a finite number, got {show(value)}")
    if not lo <= value <= hi:
        doc.fail(path, f"must be between {lo:g} and {hi:g}, got {show(value)}")
    return float(value)


def text(doc: Document, path: FieldPath, value: object, limit: int = MAX_TEXT, one_line: bool = False) -> str:
    if not isinstance(value, str):
        hint = ' (quote templates: "{{ ... }}")' if isinstance(value, dict) else ""
        doc.fail(path, f"expected text, got {kind_of(value)}{hint}")
    if len(value) > limit:
        doc.fail(path, f"text longer than {limit} characters")
    if one_line and ("\n" in value or "\r" in value):
        doc.fail(path, "must be a single line")
    return value


def name(doc: Document, path: FieldPath, value: object, pattern: re.Pattern[str] = NAME_RE) -> str:
    value = text(doc, path, value, MAX_NAME)
    if not pattern.match(value):
        doc.fail(path, f"{show(value)} is not a valid name (letters, digits, '_', '.', '-')")
    return value


def boolean(doc: Document, path: FieldPath, value: object) -> bool:
    if not isinstance(value, bool):
        doc.fail(path, f"expected true or false, got {kind_of(value)}")
    return value


def listing(doc: Document, path: FieldPath, value: object, limit: int) -> list:
    if not isinstance(value, list):
        doc.fail(path, f"expected a list, got {kind_of(value)}")
    if len(value) > limit:
        doc.fail(path, f"more than {limit} entries ({len(value)})")
    return value


def near(word: str, choices: Mapping[str, object] | tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# -- the schema -------------------------------------------------------------------------------


@dataclass(slots=True)
class Checked:
    """A valid scenario's data, normalised: what the loader turns into a ``Scenario``."""

    name: str
    description: str
    workflow_ref: str
    tasks: list[dict]  # name, action, with_items (count or None), concurrency, join, next
    deployment: dict[str, int | float]
    faults: dict[str, float]
    timing: dict[str, dict[str, float | str]]
    outcomes: dict[str, dict]
    runs: int
    expect: list[dict]
    load: dict[str, Any] = field(default_factory=dict)  # count, arrival, gap
    recovery: dict[str, float] = field(default_factory=dict)  # RecoveryTiming overrides
    profile: str | None = None  # timing profile file, relative to the scenario file
    max_steps: int | None = None  # the step limit of its runs; None: the default, grown with the work


def check(doc: Document, default_name: str) -> Checked:
    top = fields(doc, (), doc.data, TOP_KEYS, ("workflow",))
    if "name" in top:
        scenario_name = name(doc, ("name",), top["name"], SCENARIO_NAME_RE)
    elif SCENARIO_NAME_RE.match(default_name) and len(default_name) <= MAX_NAME:
        scenario_name = default_name
    else:  # the name comes from the file name: it reaches titles and saved file names too
        doc.fail(
            ("name",),
            f"the file name gives the scenario name {show(default_name)}, which is not a valid name "
            "(letters, digits, '_', '.', '-'); rename the file or set name:",
        )
    description = text(doc, ("description",), top.get("description", ""), 300, one_line=True)
    tasks, ref = _workflow(doc, top["workflow"])
    counts = {t["name"]: t["with_items"] for t in tasks}
    return Checked(
        name=scenario_name,
        description=description,
        workflow_ref=ref,
        tasks=tasks,
        deployment=_deployment(doc, top.get("deployment", {})),
        faults=_faults(doc, top.get("faults", {})),
        timing=_timing(doc, top.get("timing", {})),
        load=_load(doc, top.get("load", {}), counts),
        recovery=_recovery(doc, top.get("timing", {})),
        profile=_profile(doc, top.get("timing", {})),
        outcomes=_outcomes(doc, top.get("outcomes", {}), counts),
        runs=integer(doc, ("runs",), top["runs"], 1, MAX_RUNS) if "runs" in top else 1000,
        expect=_expect(doc, top.get("expect", []), counts),
        max_steps=integer(doc, ("max_steps",), top["max_steps"], 1_000, MAX_STEPS) if "max_steps" in top else None,
    )


def _workflow(doc: Document, value: object) -> tuple[list[dict], str]:
    wf = fields(doc, ("workflow",), value, WORKFLOW_KEYS, ("tasks",))
    ref = text(doc, ("workflow", "ref"), wf["ref"], MAX_NAME, one_line=True) if "ref" in wf else "workflow"
    raw_tasks = listing(doc, ("workflow", "tasks"), wf["tasks"], MAX_TASKS)
    if not raw_tasks:
        doc.fail(("workflow", "tasks"), "a workflow needs at least one task")
    tasks: list[dict] = []
    seen: dict[str, int] = {}
    total_items = 0
    for i, raw in enumerate(raw_tasks):
        path: FieldPath = ("workflow", "tasks", i)
        task = _task(doc, path, raw)
        if task["name"] in seen:
            doc.fail((*path, "name"), f"duplicate task name {show(task['name'])} (first at tasks[{seen[task['name']]}])")
        seen[task["name"]] = i
        total_items += task["with_items"] or 0
        if total_items > MAX_TOTAL_ITEMS:
            doc.fail((*path, "with_items"), f"more than {MAX_TOTAL_ITEMS} items over all tasks")
        tasks.append(task)
    for i, task in enumerate(tasks):  # targets are checked once every name is known
        for j, tr in enumerate(task["next"]):
            for k, target in enumerate(tr["do"]):
                if target not in seen:
                    path = ("workflow", "tasks", i, "next", j, "do", k)
                    doc.fail(path, f"no task named {show(target)}{near(target, seen)}")
    targeted = {target for task in tasks for tr in task["next"] for target in tr["do"]}
    if all(task["name"] in targeted for task in tasks):
        # attune completes such a workflow at once as success with nothing run (spec 6.5):
        # every run would count 0 duplicates, a pass that checked nothing
        doc.fail(
            ("workflow", "tasks"),
            "no entry task (every task is the target of a transition, a cycle): attune would complete the "
            "workflow at once with nothing run, so every run would pass vacuously",
        )
    return tasks, ref


def _task(doc: Document, path: FieldPath, raw: object) -> dict:
    task = fields(doc, path, raw, TASK_KEYS, ("name",))
    out: dict[str, Any] = {"name": name(doc, (*path, "name"), task["name"])}
    action = task.get("action")
    out["action"] = None if action is None else text(doc, (*path, "action"), action, MAX_NAME, one_line=True)
    items = task.get("with_items")
    if items is None:
        out["with_items"] = None
    elif isinstance(items, list):
        out["with_items"] = len(listing(doc, (*path, "with_items"), items, MAX_ITEMS))
    elif isinstance(items, int) and not isinstance(items, bool):
        out["with_items"] = integer(doc, (*path, "with_items"), items, 0, MAX_ITEMS)
    else:
        hint = " (a template has no count until run time; write the count, or use `racesim import --items`)"
        problem = f"expected an item count or a list, got {kind_of(items)}"
        doc.fail((*path, "with_items"), problem + (hint if isinstance(items, str) else ""))
    concurrency = task.get("concurrency")
    out["concurrency"] = None if concurrency is None else integer(doc, (*path, "concurrency"), concurrency, 1, MAX_ITEMS)
    join = task.get("join")
    out["join"] = None if join is None else integer(doc, (*path, "join"), join, 1, MAX_TASKS)
    raw_next = task.get("next")
    raw_next = [] if raw_next is None else listing(doc, (*path, "next"), raw_next, MAX_TRANSITIONS)
    out["next"] = [_transition(doc, (*path, "next", j), tr) for j, tr in enumerate(raw_next)]
    out["retry"] = None if task.get("retry") is None else _retry(doc, (*path, "retry"), task["retry"])
    return out


def _retry(doc: Document, path: FieldPath, raw: object) -> dict:
    """A task's retry block; only HEAD's H0 acts on it, and ``on_error`` is ignored (spec 10)."""
    spec = fields(doc, path, raw, RETRY_KEYS, ("count",))
    backoff = text(doc, (*path, "backoff"), spec.get("backoff", "constant"), MAX_NAME, one_line=True)
    if backoff not in BACKOFFS:
        doc.fail((*path, "backoff"), f"unknown backoff {show(backoff)} (choose from: {', '.join(BACKOFFS)})")
    max_delay = spec.get("max_delay")
    return {
        "count": integer(doc, (*path, "count"), spec["count"], 0, MAX_RETRIES),
        "delay": number(doc, (*path, "delay"), spec.get("delay", 0), 0.0, MAX_SECONDS),
        "backoff": backoff,
        "max_delay": None if max_delay is None else number(doc, (*path, "max_delay"), max_delay, 0.0, MAX_SECONDS),
    }


def _transition(doc: Document, path: FieldPath, raw: object) -> dict:
    tr = fields(doc, path, raw, TRANSITION_KEYS)
    when = tr.get("when")
    when = None if when is None else text(doc, (*path, "when"), when)  # kept as text, never evaluated
    do = tr.get("do")
    if isinstance(do, str):
        do = [do]  # attune accepts a single name
    do = [] if do is None else listing(doc, (*path, "do"), do, MAX_TARGETS)
    targets = [name(doc, (*path, "do", k), target) for k, target in enumerate(do)]
    publish: list[tuple[str, object]] = []
    raw_publish = tr.get("publish")
    raw_publish = [] if raw_publish is None else listing(doc, (*path, "publish"), raw_publish, MAX_PUBLISH)
    for k, entry in enumerate(raw_publish):
        epath: FieldPath = (*path, "publish", k)
        if isinstance(entry, str):  # a bare name publishes result() under that name (spec 9)
            publish.append((name(doc, epath, entry), "{{ result() }}"))
            continue
        if not isinstance(entry, dict):
            doc.fail(epath, f"expected a mapping of name -> value or a bare name, got {kind_of(entry)}")
        for var, value in entry.items():
            name(doc, (*epath, var), var)
            if isinstance(value, list | dict):
                doc.fail((*epath, var), f"published values must be text, numbers, booleans or null, got {kind_of(value)}")
            publish.append((var, value))
    return {"when": when, "do": targets, "publish": publish}


def _deployment(doc: Document, value: object) -> dict[str, int | float]:
    allowed = tuple(f for f in Deployment.__dataclass_fields__)
    dep = fields(doc, ("deployment",), value, allowed)
    out: dict[str, int | float] = {}
    for key, raw in dep.items():
        lo, hi = DEPLOYMENT_LIMITS[key]
        if isinstance(getattr(Deployment(), key), float):
            out[key] = number(doc, ("deployment", key), raw, lo, hi)
        else:
            out[key] = integer(doc, ("deployment", key), raw, int(lo), int(hi))
    return out


def _faults(doc: Document, value: object) -> dict[str, float]:
    faults = fields(doc, ("faults",), value, tuple(FAULTS))
    return {k: number(doc, ("faults", k), v, 0.0, 1.0) for k, v in faults.items()}


def _load(doc: Document, value: object, counts: dict[str, int | None]) -> dict[str, Any]:
    """``load: {count, arrival: all|interval|poisson, gap}``: executions sharing one deployment."""
    spec = fields(doc, ("load",), value, LOAD_KEYS)
    if not spec:
        return {}
    count = integer(doc, ("load", "count"), spec.get("count", 1), 1, MAX_LOAD)
    rows = sum((n or 1) for n in counts.values()) * count
    if rows > MAX_TOTAL_ITEMS:
        doc.fail(("load", "count"), f"{count} executions would create about {rows} rows (limit {MAX_TOTAL_ITEMS})")
    arrival = text(doc, ("load", "arrival"), spec.get("arrival", "all"), MAX_NAME, one_line=True)
    if arrival not in ARRIVALS:
        doc.fail(
            ("load", "arrival"), f"unknown arrival {show(arrival)}{near(arrival, ARRIVALS)} (choose from: {', '.join(ARRIVALS)})"
        )
    if arrival != "all" and "gap" not in spec:
        doc.fail(("load", "gap"), f"arrival {arrival} needs gap: seconds between starts (their mean for poisson)")
    gap = number(doc, ("load", "gap"), spec.get("gap", 0.0), 0.0, MAX_SECONDS)
    if arrival == "poisson" and gap <= 0:
        doc.fail(("load", "gap"), "a Poisson arrival needs a mean gap above 0")
    return {"count": count, "arrival": arrival, "gap": gap}


def _recovery(doc: Document, value: object) -> dict[str, float]:
    """``timing.recovery``: thresholds of HEAD's recovery actors (models/recovery.py)."""
    if not isinstance(value, dict) or "recovery" not in value:
        return {}
    spec = fields(doc, ("timing", "recovery"), value["recovery"], RECOVERY_FIELDS)
    out: dict[str, float] = {}
    for key, raw in spec.items():
        if key.endswith("_limit"):
            out[key] = integer(doc, ("timing", "recovery", key), raw, 1, 10_000)
        else:
            out[key] = number(doc, ("timing", "recovery", key), raw, 0.001, MAX_SECONDS)
    return out


def _profile(doc: Document, value: object) -> str | None:
    if not isinstance(value, dict) or "profile" not in value:
        return None
    path = text(doc, ("timing", "profile"), value["profile"], 500, one_line=True)
    if not path or "\0" in path:
        doc.fail(("timing", "profile"), "expected a file name")
    # A scenario is untrusted: it may name a profile beside it or below it, nothing else.
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if PurePosixPath(path).is_absolute() or path.startswith(("/", "\\", "~")) or ".." in parts or ":" in path:
        doc.fail(("timing", "profile"), f"{show(path)}: a profile must be a relative path inside the scenario's folder")
    if not path.endswith((".yaml", ".yml", ".json")):
        doc.fail(("timing", "profile"), f"{show(path)}: a profile is a .yaml, .yml or .json file")
    return path


PROFILE_KIND = "racesim-timing-profile"
PROFILE_KEYS = ("kind", "version", "measured", "operations", "weights", "channels", "lock_round_trip")


def check_profile(doc: Document) -> dict[str, dict[str, float | str]]:
    """A timing profile written by ``racesim calibrate``: only ``channels`` feeds the
    simulator (validated like a scenario's timing); the rest documents the measurement."""
    top = fields(doc, (), doc.data, PROFILE_KEYS, ("kind", "channels"))
    if top["kind"] != PROFILE_KIND:
        doc.fail(("kind",), f"not a timing profile (expected kind: {PROFILE_KIND})")
    channels = _timing(doc, top["channels"], ("channels",))
    if "worker_duration" in channels:
        doc.fail(("channels", "worker_duration"), "a profile measures the stores; worker durations belong to the scenario")
    return channels


def _timing(doc: Document, value: object, root: FieldPath = ("timing",)) -> dict[str, dict[str, float | str]]:
    extra = TIMING_EXTRA_KEYS if root == ("timing",) else ()
    timing = fields(doc, root, value, (*TIMING_KEYS, *extra))
    out: dict[str, dict[str, float | str]] = {}
    for key, raw in timing.items():
        if key in extra:
            continue
        path: FieldPath = (*root, key)
        spec = fields(doc, path, raw, ("dist", *sorted({p for ps in DISTRIBUTIONS.values() for p in ps})), ("dist",))
        dist = text(doc, (*path, "dist"), spec["dist"], MAX_NAME)
        if dist not in DISTRIBUTIONS:
            choices = ", ".join(DISTRIBUTIONS)
            doc.fail((*path, "dist"), f"unknown distribution {show(dist)}{near(dist, DISTRIBUTIONS)} (choose from: {choices})")
        params = DISTRIBUTIONS[dist]
        fields(doc, path, spec, ("dist", *params), params)
        parsed: dict[str, float | str] = {"dist": dist}
        for p in params:
            parsed[p] = number(doc, (*path, p), spec[p], 0.0, MAX_SECONDS)
        if dist == "uniform" and parsed["low"] > parsed["high"]:  # type: ignore[operator]
            doc.fail((*path, "high"), f"high ({parsed['high']:g}) is below low ({parsed['low']:g})")
        out[key] = parsed
    return out


def _outcomes(doc: Document, value: object, counts: dict[str, int | None]) -> dict[str, dict]:
    outcomes = fields(doc, ("outcomes",), value, tuple(counts), unknown="no task named")
    out: dict[str, dict] = {}
    for task, raw in outcomes.items():
        path: FieldPath = ("outcomes", task)
        spec = fields(doc, path, raw, OUTCOME_KEYS)
        parsed: dict[str, Any] = {"fail_items": (), "fail": False, "fail_probability": 0.0}
        if "fail_items" in spec:
            count = counts[task]
            if count is None:
                doc.fail((*path, "fail_items"), f"task {task!r} has no with_items (use fail: true)")
            indexes = listing(doc, (*path, "fail_items"), spec["fail_items"], MAX_ITEMS)
            parsed["fail_items"] = tuple(
                sorted({integer(doc, (*path, "fail_items", k), v, 0, max(count - 1, 0)) for k, v in enumerate(indexes)})
            )
            if indexes and count == 0:
                doc.fail((*path, "fail_items"), f"task {task!r} has no items")
        if "fail" in spec:
            parsed["fail"] = boolean(doc, (*path, "fail"), spec["fail"])
        if "fail_probability" in spec:
            parsed["fail_probability"] = number(doc, (*path, "fail_probability"), spec["fail_probability"], 0.0, 1.0)
        out[task] = parsed
    return out


def _finding(doc: Document, path: FieldPath, value: object) -> int | str:
    if value == "some" or (type(value) is int and value == 0):
        return value
    doc.fail(path, f'expected 0 or "some", got {show(value)}')


def _expect(doc: Document, value: object, counts: dict[str, int | None]) -> list[dict]:
    entries = listing(doc, ("expect",), value, MAX_EXPECT)
    out: list[dict] = []
    for i, raw in enumerate(entries):
        path: FieldPath = ("expect", i)
        entry = fields(doc, path, raw, ENTRY_KEYS, ("guards",))
        parsed: dict[str, Any] = {}
        guards = text(doc, (*path, "guards"), entry["guards"], MAX_NAME)
        try:
            Guards.parse(guards)
        except ValueError as exc:
            doc.fail((*path, "guards"), str(exc))
        parsed["guards"] = guards
        if "runs" in entry:
            parsed["runs"] = integer(doc, (*path, "runs"), entry["runs"], 1, MAX_RUNS)
        if "faults" in entry:
            faults = text(doc, (*path, "faults"), entry["faults"], MAX_TEXT, one_line=True)
            try:
                Faults.parse(faults)
            except ValueError as exc:
                doc.fail((*path, "faults"), " ".join(str(exc).split()))
            parsed["faults"] = faults
        if "note" in entry:
            parsed["note"] = text(doc, (*path, "note"), entry["note"])
        for key in EXPECT_DEPLOYMENT_KEYS:
            if key in entry:
                lo, hi = DEPLOYMENT_LIMITS[key]
                parsed[key] = integer(doc, (*path, key), entry[key], int(lo), int(hi))
        for metric in METRICS:
            if metric not in entry:
                continue
            if metric in FINDING_NAMES and isinstance(entry[metric], dict):
                per_task = fields(doc, (*path, metric), entry[metric], tuple(counts), unknown="no task named")
                parsed[metric] = {t: _finding(doc, (*path, metric, t), v) for t, v in per_task.items()}
                if not parsed[metric]:
                    doc.fail((*path, metric), "names no task")
            else:
                parsed[metric] = _finding(doc, (*path, metric), entry[metric])
        if "by_task" in entry:
            by_task = fields(doc, (*path, "by_task"), entry["by_task"], tuple(counts), unknown="no task named")
            parsed["by_task"] = {t: _finding(doc, (*path, "by_task", t), v) for t, v in by_task.items()}
        points = (*(s for steps in GUARD_STEPS.values() for s in steps), *FAULTS)
        for key in COVERAGE_KEYS:
            if key in entry:
                claims = fields(doc, (*path, key), entry[key], points, unknown="no guard step or fault point named")
                parsed[key] = {p: _finding(doc, (*path, key, p), v) for p, v in claims.items()}
        if not any(m in parsed for m in METRICS) and not any(parsed.get(k) for k in ("by_task", *COVERAGE_KEYS)):
            doc.fail(path, f"states no finding (give one of: {', '.join(METRICS)}, by_task, {', '.join(COVERAGE_KEYS)})")
        out.append(parsed)
    return out
