"""Task graph snapshot: nodes, transitions and their classification (spec 6.1, 6.2, 6.5)."""

from __future__ import annotations

from dataclasses import dataclass, field

ALWAYS, SUCCEEDED, FAILED_KIND, TIMED_OUT, CUSTOM = "always", "succeeded", "failed", "timed_out", "custom"


def classify_when(when: str | None) -> str:
    """attune's substring classification: ``succeeded() and x`` is plain SUCCEEDED (spec 6.1)."""
    if when is None:
        return ALWAYS
    text = "".join(when.lower().split())
    if "succeeded()" in text:
        return SUCCEEDED
    if "failed()" in text:
        return FAILED_KIND
    if "timed_out()" in text:
        return TIMED_OUT
    return CUSTOM


def fires(kind: str, ok: bool, timed_out: bool) -> bool:
    """Whether a transition of ``kind`` fires for the finishing execution's outcome.

    CUSTOM expressions are never evaluated (racesim runs no template code); attune's own
    fallback on an evaluation error is "fires iff ok", and racesim applies that rule.
    """
    if kind == ALWAYS:
        return True
    if kind == SUCCEEDED or kind == CUSTOM:
        return ok
    if kind == FAILED_KIND:
        return not ok and not timed_out
    return timed_out


@dataclass(frozen=True, slots=True)
class Transition:
    kind: str
    do: tuple[str, ...]
    publish: tuple[tuple[str, object], ...] = ()
    when: str | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """A task's ``retry`` block (HEAD only acts on it, spec 9 and 10 H0)."""

    count: int
    delay: float = 0.0
    backoff: str = "constant"  # constant | linear | exponential
    max_delay: float | None = None

    def delay_for(self, attempt: int) -> float:
        """The sleep before retry number ``attempt`` (1 for the first retry)."""
        if self.backoff == "linear":
            delay = self.delay * attempt
        elif self.backoff == "exponential":
            delay = self.delay * 2 ** (attempt - 1)
        else:
            delay = self.delay
        return delay if self.max_delay is None else min(delay, self.max_delay)


@dataclass(slots=True)
class Node:
    name: str
    action: str | None
    with_items: int | None = None  # item count; None for a plain task
    concurrency: int | None = None
    join: int | None = None
    transitions: tuple[Transition, ...] = ()
    inbound: tuple[str, ...] = ()
    retry: Retry | None = None


@dataclass(slots=True)
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)

    @classmethod
    def build(cls, nodes: list[Node]) -> Graph:
        by_name = {n.name: n for n in nodes}
        inbound: dict[str, list[str]] = {n.name: [] for n in nodes}
        for n in nodes:
            for tr in n.transitions:
                for target in tr.do:
                    if target in inbound and n.name not in inbound[target]:
                        inbound[target].append(n.name)
        for n in nodes:
            n.inbound = tuple(inbound[n.name])
        return cls(by_name)

    @property
    def entry_points(self) -> list[str]:
        """Tasks with no inbound edge, in declared order (a task on a cycle has one)."""
        return [name for name, n in self.nodes.items() if not n.inbound]
