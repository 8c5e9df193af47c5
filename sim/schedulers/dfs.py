"""``dfs``: exhaustive depth-first search over scheduling choices, preemption-bounded, with
sleep-set partial-order reduction (Godefroid 1996).

The search is stateless (as in CHESS and Loom): model generators cannot be copied, so each
schedule is a fresh run that follows a prefix of recorded choices and then continues with
the default choice (keep running the current actor). After a run, the deepest choice point
with an untried alternative is advanced and the next run replays the prefix up to it.

Sleep sets: after the subtree of choice ``a`` at a node is explored, ``a`` is put to sleep in
its siblings' subtrees and stays asleep until a step that does not commute with it runs
(``sim.footprint``). A schedule in which ``a`` would run next while asleep is equivalent
(same final stores, same verdict) to one already explored, so it is skipped.

Preemption bound: choosing another actor while the current one could go on costs one
preemption; switching when the current actor blocks or ends is free (CHESS' measure).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from racesim.sim.footprint import Context, Footprint, dependent, footprint
from racesim.sim.schedulers.base import ControlledScheduler


class Nondeterminism(RuntimeError):
    """A replayed prefix offered different actors than recorded: the model is not deterministic."""


@dataclass(slots=True)
class Node:
    """One choice point of the current schedule."""

    enabled: list[int]  # actor ids, canonical order
    footprints: dict[int, Footprint]
    current: int | None  # the actor that ran last, if it can go on
    preemptions: int  # spent before this choice
    sleep: dict[int, Footprint]  # asleep here: id -> footprint when put to sleep
    chosen: int = -1
    done: list[int] = field(default_factory=list)  # choices whose subtree is explored

    def cost(self, actor: int) -> int:
        return 1 if self.current is not None and actor != self.current else 0


class DFS(ControlledScheduler):
    """One run of the search: follows ``stack`` (the prefix), then extends it by defaults.

    Used alone (``run_one(config, seed, "dfs")``) it runs the first schedule of the search:
    no preemption at all.
    """

    name = "dfs"
    timed = False

    def __init__(self, preemption_bound: int | None = 2, max_schedules: int = 1000, por: bool = True) -> None:
        self.preemption_bound = preemption_bound
        self.max_schedules = max_schedules
        self.por = por
        self.stack: list[Node] = []
        self.depth = 0
        self.pruned = False  # the run stopped early: every allowed choice was asleep
        self.sleep_blocked = 0

    def params(self) -> dict:
        return {"preemption_bound": self.preemption_bound, "max_schedules": self.max_schedules, "por": self.por}

    def attach(self, world) -> None:
        super().attach(world)
        self._ctx = Context.of_world(world)

    def choose(self, enabled, current=None) -> int | None:
        if self.pruned:
            return None
        ids = [a.id for a in enabled]
        depth = self.depth
        self.depth = depth + 1
        if depth < len(self.stack):
            node = self.stack[depth]
            if node.enabled != ids:
                raise Nondeterminism(f"step {depth}: recorded enabled actors {node.enabled}, now {ids}")
            return self._take(node, ids)
        cur = self.world.current
        current = cur.id if cur is not None and ids and ids[0] == cur.id else None
        fps = {a.id: footprint(a.op, self._ctx) for a in enabled} if self.por else {}
        if self.stack:
            parent = self.stack[-1]
            preemptions = parent.preemptions + parent.cost(parent.chosen)
            sleep = self._child_sleep(parent) if self.por else {}
        else:
            preemptions, sleep = 0, {}
        node = Node(ids, fps, current, preemptions, sleep)
        choice = self._default(node)
        if choice is None:
            # Every allowed choice is asleep: all continuations are equivalent to explored ones.
            self.pruned = True
            self.sleep_blocked += 1
            choice = ids[0]  # a placeholder step; the run ends right after it and is discarded
        node.chosen = choice
        self.stack.append(node)
        return self._take(node, ids)

    def _take(self, node: Node, ids: list[int]) -> int:
        return ids.index(node.chosen)

    def _child_sleep(self, parent: Node) -> dict[int, Footprint]:
        chosen_fp = parent.footprints[parent.chosen]
        out: dict[int, Footprint] = {}
        for aid, fp in parent.sleep.items():
            if aid != parent.chosen and not dependent(fp, chosen_fp):
                out[aid] = fp
        for aid in parent.done:
            fp = parent.footprints[aid]
            if aid != parent.chosen and not dependent(fp, chosen_fp):
                out[aid] = fp
        return out

    def allowed(self, node: Node, actor: int) -> bool:
        bound = self.preemption_bound
        return bound is None or node.preemptions + node.cost(actor) <= bound

    def _default(self, node: Node) -> int | None:
        if node.current is not None and node.current not in node.sleep:
            return node.current
        for aid in node.enabled:
            if aid not in node.sleep and self.allowed(node, aid):
                return aid
        return None


@dataclass(slots=True)
class SearchResult:
    schedules: int = 0  # runs that reached quiescence (each checked)
    sleep_blocked: int = 0  # runs abandoned mid-way: every allowed choice was asleep
    sleep_skipped: int = 0  # alternatives never started because they were asleep
    bound_skipped: int = 0  # alternatives never started because they exceed the preemption bound
    complete: bool = False
    failing: object = None  # RunResult of the first failing schedule
    failing_index: int | None = None


def search(
    run: Callable[[DFS], object],
    preemption_bound: int | None,
    max_schedules: int,
    por: bool = True,
    is_failing: Callable[[object], bool] = lambda r: r.verdict.failing,
    on_schedule: Callable[[object], None] | None = None,
    stop_at_first: bool = True,
) -> SearchResult:
    """Drive the search. ``run(scheduler)`` executes one schedule and returns its RunResult."""
    out = SearchResult()
    stack: list[Node] = []
    while True:
        if out.schedules >= max_schedules:
            return out  # cut short
        sched = DFS(preemption_bound, max_schedules, por)
        sched.stack = stack
        result = run(sched)
        stack = sched.stack
        if sched.pruned:
            out.sleep_blocked += 1
            stack.pop()  # the placeholder step is not a real choice
        else:
            out.schedules += 1
            if on_schedule is not None:
                on_schedule(result)
            if is_failing(result) and out.failing is None:
                out.failing, out.failing_index = result, out.schedules
                if stop_at_first:
                    return out
        # backtrack: the deepest node with an untried, awake alternative within the bound
        while stack:
            node = stack[-1]
            node.done.append(node.chosen)
            nxt = next((a for a in node.enabled if a not in node.done and a not in node.sleep and sched.allowed(node, a)), None)
            if nxt is not None:
                node.chosen = nxt
                break
            for aid in node.enabled:  # the node is exhausted: account for what was never started
                if aid in node.done:
                    continue
                if not sched.allowed(node, aid):
                    out.bound_skipped += 1
                else:
                    out.sleep_skipped += 1
            stack.pop()
        if not stack:
            out.complete = True
            return out
