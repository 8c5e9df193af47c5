"""Read a scenario file into a ``Scenario``: the workflow graph, timing, deployment,
faults, task outcomes, run count and expectations."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from models.graph import Graph, Node, Transition, classify_when
from sim.config import Deployment, Faults, TaskOutcome
from sim.timing import TimingModel

CATALOG = Path(__file__).resolve().parent
MAX_FILE_BYTES = 1_000_000


class ScenarioError(ValueError):
    """Bad scenario input; ``str()`` is the one line shown to the user."""


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
    expect: dict = field(default_factory=dict)
    path: str = ""
    workflow_ref: str = "workflow"


def catalog() -> list[Path]:
    return sorted(CATALOG.glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    candidate = CATALOG / f"{name_or_path}.yaml"
    if candidate.exists():
        return candidate
    names = ", ".join(p.stem for p in catalog())
    raise ScenarioError(f"{name_or_path}: no such scenario file or catalog name (catalog: {names})")


def load(name_or_path: str) -> Scenario:
    path = resolve(name_or_path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}: file is larger than {MAX_FILE_BYTES} bytes")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid YAML ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: top level must be a mapping")
    return from_dict(data, str(path), default_name=path.stem)


def from_dict(data: dict, source: str = "<scenario>", default_name: str = "scenario") -> Scenario:
    wf = data.get("workflow") or {}
    nodes = [_node(t) for t in wf.get("tasks") or []]
    graph = Graph.build(nodes)
    outcomes = tuple(
        (
            name,
            TaskOutcome(tuple(o.get("fail_items", ())), bool(o.get("fail", False)), float(o.get("fail_probability", 0.0))),
        )
        for name, o in sorted((data.get("outcomes") or {}).items())
    )
    faults = Faults(tuple(sorted((str(k), float(v)) for k, v in (data.get("faults") or {}).items())))
    return Scenario(
        name=str(data.get("name", default_name)),
        description=str(data.get("description", "")),
        graph=graph,
        timing=TimingModel.from_spec(data.get("timing")),
        deployment=Deployment(**(data.get("deployment") or {})),
        faults=faults,
        outcomes=outcomes,
        runs=int(data.get("runs", 1000)),
        expect=dict(data.get("expect") or {}),
        path=source,
        workflow_ref=str(wf.get("ref", "workflow")),
    )


def _node(task: dict) -> Node:
    items = task.get("with_items")
    count = len(items) if isinstance(items, list) else items
    transitions = tuple(
        Transition(
            classify_when(tr.get("when")),
            tuple(tr.get("do") or ()),
            tuple((k, v) for entry in tr.get("publish") or () for k, v in entry.items()),
            tr.get("when"),
        )
        for tr in task.get("next") or ()
    )
    return Node(task["name"], task.get("action"), count, task.get("concurrency"), task.get("join"), transitions)
