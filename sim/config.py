"""What a world is built from: the workflow, its timing, deployment, faults and outcomes."""

from __future__ import annotations

from dataclasses import dataclass

from racesim.models.graph import Graph
from racesim.models.guards import Guards
from racesim.models.recovery import RecoveryTiming
from racesim.sim.load import Load
from racesim.sim.timing import TimingModel

# Fault names (kebab-case, as on the command line) and where each strikes.
FAULTS: dict[str, str] = {
    "crash-before-publish": "a worker dies after its terminal DB write, before its completion publish",
    "crash-before-write": "a worker dies during the run, before its terminal DB write",
    "executor-crash": "an executor dies before acking a completion; its unacked messages are redelivered",
    "publish-failure": "publishing a successor's ExecutionRequested fails after its row was inserted",
    "crash-after-commit": "(lock) an executor dies between COMMIT and the outbox publishes",
    "db-error": "a database error inside an advance (at the completed/failed-list write); the listener acks",
    "crash": "any actor but the starter may crash at any of its yield points, with probability P at each: a worker slot,"
    " its whole worker process, or an executor with its listeners and scheduler, except while that scheduler starts a"
    " workflow (a choice of the run; see --crashes for dfs)",
}


@dataclass(frozen=True, slots=True)
class Deployment:
    replicas: int = 1  # executor processes
    listeners: int = 1  # concurrent completion handlers per executor (attune: 1)
    prefetch: int = 10  # per consumer, as in attune
    workers: int = 3
    worker_slots: int = 10  # a worker's local concurrency permits (attune default: 10)
    restart_delay: float = 5.0  # seconds until a crashed executor is back
    # x-message-ttl of every worker queue (attune: 300,000 ms, fixed): a dispatch still in
    # the broker this long is dropped (sim/broker.py), and its row stays scheduled
    worker_queue_ttl: float = 300.0

    def label(self) -> str:
        return f"replicas={self.replicas} listeners={self.listeners} prefetch={self.prefetch} workers={self.workers}"


# Bounds of each deployment field, for scenario files, command-line options and schedule files alike.
DEPLOYMENT_LIMITS: dict[str, tuple[float, float]] = {
    "replicas": (1, 64),
    "listeners": (1, 64),
    "prefetch": (1, 1000),
    "workers": (1, 64),
    "worker_slots": (1, 1000),
    "restart_delay": (0.0, 3600.0),
    "worker_queue_ttl": (0.001, 86_400.0),
}


@dataclass(frozen=True, slots=True)
class Faults:
    probabilities: tuple[tuple[str, float], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Faults:
        """``none``, ``crash-before-publish`` (p = 0.1) or ``crash-before-publish=0.3+db-error``."""
        text = text.strip()
        if text in ("", "none"):
            return cls()
        pairs: list[tuple[str, float]] = []
        for part in text.split("+"):
            name, _, value = part.strip().partition("=")
            if name not in FAULTS:
                raise ValueError(f"unknown fault {name!r} (choose from: {', '.join(FAULTS)})")
            p = float(value) if value else 0.1
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"fault {name}: probability {p} is not in [0, 1]")
            pairs.append((name, p))
        return cls(tuple(sorted(pairs)))

    def get(self, name: str) -> float:
        return dict(self.probabilities).get(name, 0.0)

    def label(self) -> str:
        return "+".join(f"{n}={p:g}" for n, p in self.probabilities) or "none"


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """How a task's runs end: listed item indexes (or the plain task) fail, or at random."""

    fail_items: tuple[int, ...] = ()
    fail_all: bool = False
    fail_probability: float = 0.0


STEP_LIMIT_BASE = 200_000  # steps any run may take (far above the catalog's few hundred)
STEP_LIMIT_PER_UNIT = 100  # more per task and per item, times the load's execution count
LOOP_WINDOW = 1_000  # last steps of a run cut by the limit, looked at to name who was going round
LOOP_NAMES = 3  # actors named at most


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Everything one run needs except its seed and scheduler. The graph is read-only."""

    scenario: str
    graph: Graph
    timing: TimingModel
    guards: Guards
    deployment: Deployment = Deployment()
    faults: Faults = Faults()
    outcomes: tuple[tuple[str, TaskOutcome], ...] = ()
    workflow_ref: str = "workflow"
    max_steps: int | None = None  # None: ``step_limit`` grows with the work (see there)
    load: Load = Load()  # how many workflow executions share the deployment, and when they start
    recovery: RecoveryTiming = RecoveryTiming()  # thresholds of the optional recovery actors

    @property
    def step_limit(self) -> int:
        """Steps after which a run stops and is called a livelock (verdict "unknown").

        ``max_steps`` if set; otherwise a base plus a margin per unit of work, so a large
        with_items run is never cut short: each item or task costs a few dozen steps (about
        31 per item under ``both``), and every execution of the load repeats the workflow."""
        if self.max_steps is not None:
            return self.max_steps
        work = sum(1 + (node.with_items or 0) for node in self.graph.nodes.values())
        return STEP_LIMIT_BASE + STEP_LIMIT_PER_UNIT * work * max(1, self.load.count)
