"""Read a scenario file into a ``Scenario``: the workflow graph, timing, deployment,
faults, task outcomes, run count and expectations. Validation lives in ``schema``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from racesim.models.graph import Graph, Node, Retry, Transition, classify_when
from racesim.models.recovery import RecoveryTiming
from racesim.scenarios import schema
from racesim.scenarios.schema import MAX_FILE_BYTES, Document, ScenarioError
from racesim.sim.config import Deployment, Faults, TaskOutcome
from racesim.sim.load import Load
from racesim.sim.timing import TimingModel

CATALOG = Path(__file__).resolve().parent

__all__ = ["CATALOG", "MAX_FILE_BYTES", "Scenario", "ScenarioError", "catalog", "from_dict", "load", "resolve"]


@dataclass(slots=True)
class Scenario:
    name: str
    description: str
    graph: Graph
    timing: TimingModel
    deployment: Deployment = Deployment()
    faults: Faults = Faults()
    outcomes: tuple[tuple[str, TaskOutcome], ...] = ()
    runs: int = 1000
    expect: list[dict] = field(default_factory=list)  # racesim.engine.expectations entries
    path: str = ""
    workflow_ref: str = "workflow"
    load: Load = Load()
    recovery: RecoveryTiming = RecoveryTiming()
    max_steps: int | None = None  # the step limit of its runs (None: RunConfig's default)


def catalog() -> list[Path]:
    return sorted(CATALOG.glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    candidate = CATALOG / f"{name_or_path}.yaml"
    if "/" not in name_or_path and candidate.is_file():
        return candidate
    if path.is_dir():
        raise ScenarioError(f"{name_or_path}:1: (file): is a directory, not a scenario file")
    if path.exists() and path.suffix not in (".yaml", ".yml"):
        raise ScenarioError(f"{name_or_path}:1: (file): not a scenario file (a scenario file's name ends in .yaml or .yml)")
    if path.exists() and not path.is_file():
        raise ScenarioError(f"{name_or_path}:1: (file): not a regular file")
    if path.suffix in (".yaml", ".yml") or "/" in name_or_path:
        raise ScenarioError(f"{name_or_path}:1: (file): no such file")
    names = ", ".join(p.stem for p in catalog())
    raise ScenarioError(f"{name_or_path}: no such scenario file or catalog name (catalog: {names})")


def load(name_or_path: str) -> Scenario:
    path = resolve(name_or_path)
    source = name_or_path if Path(name_or_path) == path else str(path)  # errors name the file as the user wrote it
    doc = schema.parse_text(schema.read_bytes(path, source), source)
    return _scenario(doc, path.stem)


def from_dict(data: dict, source: str = "<scenario>", default_name: str = "scenario") -> Scenario:
    """Validate already-parsed data (no YAML nodes, so errors point at line 1)."""
    return _scenario(Document(source, data), default_name)


def _scenario(doc: Document, default_name: str) -> Scenario:
    ok = schema.check(doc, default_name)
    graph = Graph.build([_node(t) for t in ok.tasks])
    load = Load(**ok.load) if ok.load else Load()
    timing_spec = {**_profile(doc, ok.profile), **ok.timing} if ok.profile else dict(ok.timing)
    if load.arrival == "poisson" and "arrival_gap" not in timing_spec:
        timing_spec["arrival_gap"] = {"dist": "exponential", "mean": load.gap}
    outcomes = tuple(
        (task, TaskOutcome(tuple(o["fail_items"]), bool(o["fail"]), float(o["fail_probability"])))
        for task, o in sorted(ok.outcomes.items())
    )
    return Scenario(
        name=ok.name,
        description=ok.description,
        graph=graph,
        timing=TimingModel.from_spec(timing_spec),
        deployment=Deployment(**ok.deployment),  # type: ignore[arg-type]
        faults=Faults(tuple(sorted(ok.faults.items()))),
        outcomes=outcomes,
        runs=ok.runs,
        expect=ok.expect,
        path=doc.source,
        workflow_ref=ok.workflow_ref,
        load=load,
        recovery=replace(RecoveryTiming(), **cast(dict[str, Any], ok.recovery)),
        max_steps=ok.max_steps,
    )


def _profile(doc: Document, name: str) -> dict[str, dict[str, float | str]]:
    """``timing: {profile: FILE}``: the measured channels, FILE relative to the scenario file."""
    base = (Path(doc.source).parent if Path(doc.source).is_file() else Path.cwd()).resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):  # a symlink leading out of the scenario's folder
        doc.fail(("timing", "profile"), f"{name}: a profile must be inside the scenario's folder")
    if not path.is_file():
        doc.fail(("timing", "profile"), f"no such profile file: {name}")
    profile = schema.parse_text(schema.read_bytes(path, str(path)), str(path))
    return schema.check_profile(profile)


def _node(task: dict) -> Node:
    transitions = tuple(
        Transition(classify_when(tr["when"]), tuple(tr["do"]), tuple(tr["publish"]), tr["when"]) for tr in task["next"]
    )
    retry = task.get("retry")
    return Node(
        task["name"],
        task["action"],
        task["with_items"],
        task["concurrency"],
        task["join"],
        transitions,
        retry=None if retry is None else Retry(retry["count"], retry["delay"], retry["backoff"], retry["max_delay"]),
    )
