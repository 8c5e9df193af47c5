"""``dfs``: exhaustive depth-first search over scheduling choices, preemption-bounded, with
sleep-set partial-order reduction (Godefroid 1996) made sound under the bound.

The search is stateless (as in CHESS and Loom): model generators cannot be copied, so each
schedule is a fresh run that follows a prefix of recorded choices and then continues with
the default choice (keep running the current actor). After a run, the deepest choice point
with an untried alternative is advanced and the next run replays the prefix up to it.

Memory: the search keeps one node per step of the *current* schedule, never the tree. A node
holds the ready actors (one tuple, shared with the previous node when unchanged), the choices
made there, and the footprints of those choices only, computed when the run passes the node
(a replay reaches the very same state, so a footprint computed then is exact). Footprints are
interned: the search keeps one object per distinct footprint, which the nodes share (a long
schedule repeats a few hundred footprints). A budget on the ready-actor entries kept turns a
scenario too large for exhaustive search into ``SearchTooLarge`` (one line for the user)
instead of exhausting memory. Between schedules the driver keeps nothing of the finished run
but what the search result needs (the first failing run): a run frees itself by reference
count (``World._release``), so its world is gone before the next run builds its own.

Sleep sets: after the subtree of choice ``a`` at a node is explored, ``a`` is put to sleep in
a sibling's subtree and stays asleep until a step that does not commute with it runs
(``sim.footprint``); running ``a`` while asleep reaches a state an explored schedule reached.

Preemption bound: choosing another actor while the current one could go on costs one
preemption; switching when the current actor blocks or ends is free (CHESS' measure).

Soundness under the bound. Plain sleep sets are unsound with a preemption bound (Coons,
Musuvathi and McKinley, "Bounded partial-order reduction", OOPSLA 2013): the schedule they
skip, b.w.a, reaches the state of the explored a.b.w, but the explored order may have spent
more preemptions, or leave another actor current, so its continuations within the bound are
fewer; the bound makes independent steps dependent. Under a bound, racesim therefore puts
``a`` to sleep only where that cannot happen, and keeps every other sleep entry out:

- at node n, ``a`` (explored) sleeps in the subtree of sibling ``b`` only if running ``a``
  at n was free and running ``b`` there was a preemption;
- a sleeping ``a`` is skipped at a later node m only if running it at m is a preemption.

Then the explored a.b.w spent at most P(n) + 0 + 1 (a -> b) + c(w) preemptions while the
skipped b.w.a spent P(n) + 1 + c(w) + 1: at least one more. The continuations of both
start from the same state and their costs differ only in their first step (which actor is
current), by at most one, so every continuation within the bound after b.w.a is also
within the bound after a.b.w, which the search explored (or skipped in turn by the same
argument, towards an earlier schedule). A claim made with POR is therefore as strong as
one made without; ``tests/test_dfs.py`` compares the outcome sets of both on small
scenarios. Without a bound (``preemption_bound=None``) the classic rule applies unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from racesim.models.ops import EVERYTHING, NONE
from racesim.sim.footprint import Context, Footprint, dependent, footprint
from racesim.sim.schedulers.base import Strategy

if TYPE_CHECKING:
    from racesim.sim.world import Actor, World

# Ready-actor entries the search may keep for the current schedule (each an 8-byte slot of a
# tuple, plus its node): about 200 MB at the limit.
MAX_STACK_ENTRIES = 20_000_000
_AWAKE: dict[int, Footprint] = {}  # the empty sleep set, shared (never mutated)


class Nondeterminism(RuntimeError):
    """A replayed prefix offered different actors than recorded: the model is not deterministic."""


class SearchTooLarge(RuntimeError):
    """The current schedule needs more memory than the search may use."""


class Node:
    """One choice point of the current schedule."""

    __slots__ = ("enabled", "current", "preemptions", "sleep", "chosen", "done", "fp", "done_fps", "crash")

    def __init__(
        self,
        enabled: tuple[int, ...],
        current: int | None,
        preemptions: int,
        sleep: dict[int, Footprint],
        crash: bool = False,
    ) -> None:
        self.enabled = enabled  # actor ids in canonical order; at a crash point the options 0..n-1
        self.crash = crash  # a crash choice point (0 = no crash), not a pick among actors
        self.current = current  # the actor that ran last, if it can go on
        self.preemptions = preemptions  # spent before this choice
        self.sleep = sleep  # asleep here: id -> footprint when put to sleep
        self.chosen = -1
        self.done: tuple[int, ...] = ()  # choices whose subtree is explored
        # POR: the footprint of ``chosen`` (once taken) and those of ``done``, in its order
        self.fp: Footprint | None = None
        self.done_fps: tuple[Footprint | None, ...] = ()

    def cost(self, actor: int) -> int:
        return 1 if self.current is not None and actor != self.current else 0


class DFS(Strategy):
    """One run of the search: follows ``stack`` (the prefix), then extends it by defaults.

    Used alone (``run_one(config, seed, "dfs")``) it runs the first schedule of the search:
    no preemption at all.
    """

    name = "dfs"
    timed = False

    def __init__(self, preemption_bound: int | None = 2, max_schedules: int = 1000, por: bool = True, crashes: int = 0) -> None:
        self.preemption_bound = preemption_bound
        self.crash_budget = crashes  # the kernel offers choose_crash while fewer crashes happened
        self.max_schedules = max_schedules
        self.por = por
        self.stack: list[Node] = []
        self.depth = 0
        self.entries = 0  # ready-actor entries held by the stack's distinct tuples
        self.pruned = False  # the run stopped early: every allowed choice was asleep
        self.sleep_blocked = 0
        self.interned: dict[Footprint, Footprint] = {}  # one object per distinct footprint (shared by the search)

    def params(self) -> dict:
        return {
            "preemption_bound": self.preemption_bound,
            "max_schedules": self.max_schedules,
            "por": self.por,
            "crashes": self.crash_budget,
        }

    def attach(self, world: World) -> None:
        super().attach(world)
        self._ctx = Context.of_world(world)

    def choose(self, enabled: Sequence[Actor], current: Actor | None = None) -> int | None:
        if self.pruned:
            return None
        depth = self.depth
        self.depth = depth + 1
        stack = self.stack
        if depth < len(stack):
            node = stack[depth]
            same = not node.crash and len(node.enabled) == len(enabled)
            if not same or any(a.id != i for a, i in zip(enabled, node.enabled, strict=True)):
                now = [a.id for a in enabled]
                raise Nondeterminism(f"step {depth}: recorded enabled actors {list(node.enabled)}, now {now}")
            return self._take(node, enabled)
        ids = tuple(a.id for a in enabled)
        if stack and stack[-1].enabled == ids:
            ids = stack[-1].enabled  # one tuple for a run of steps with the same ready actors
        else:
            self.entries += len(ids)
            if self.entries > MAX_STACK_ENTRIES:
                raise SearchTooLarge(
                    f"the schedule reached step {depth} with {len(ids)} actors ready, more than the search can keep "
                    f"({MAX_STACK_ENTRIES:,} ready-actor entries)"
                )
        cur = self.world.current
        cur_id = cur.id if cur is not None and ids and ids[0] == cur.id else None
        if stack:
            parent = stack[-1]
            preemptions = parent.preemptions + parent.cost(parent.chosen)
            sleep = self._child_sleep(parent) if self.por else _AWAKE
        else:
            preemptions, sleep = 0, _AWAKE
        node = Node(ids, cur_id, preemptions, sleep)
        choice = self._default(node)
        if choice is None:
            # Every allowed choice is asleep: all continuations are covered by explored ones.
            self.pruned = True
            self.sleep_blocked += 1
            choice = ids[0]  # a placeholder step; the run ends right after it and is discarded
        node.chosen = choice
        stack.append(node)
        return self._take(node, enabled)

    def choose_crash(self, actor: Actor, n: int) -> int:
        """A crash choice point (only offered while the crash budget lasts): a node whose
        options are 0 (no crash, the default) .. n-1. Crashes cost no preemption."""
        if self.pruned:
            return 0
        depth = self.depth
        self.depth = depth + 1
        stack = self.stack
        if depth < len(stack):
            node = stack[depth]
            if not node.crash or len(node.enabled) != n:
                raise Nondeterminism(f"step {depth}: recorded {list(node.enabled)}, now a crash point with {n} options")
            return node.chosen
        parent = stack[-1] if stack else None
        preemptions = parent.preemptions + parent.cost(parent.chosen) if parent is not None else 0
        sleep = self._child_sleep(parent) if parent is not None and self.por else _AWAKE
        node = Node(tuple(range(n)), None, preemptions, sleep, crash=True)
        node.chosen = 0
        stack.append(node)
        return 0

    def _take(self, node: Node, enabled: Sequence[Actor]) -> int:
        index = node.enabled.index(node.chosen)
        if self.por and node.fp is None:  # first time this choice is taken: the state is the node's
            actor = enabled[index]
            world = self.world
            if self.crash_budget > world.crashes and world.crash_options(actor):
                fp: Footprint = (NONE, EVERYTHING)  # the step may still be a crash: it commutes with nothing
            else:
                assert actor.op is not None  # an enabled actor has a pending op
                fp = footprint(actor.op, self._ctx)
            node.fp = self.interned.setdefault(fp, fp)
        return index

    def _child_sleep(self, parent: Node) -> dict[int, Footprint]:
        if parent.crash:  # no crash: nothing happened; a crash commutes with nothing
            return parent.sleep if parent.chosen == 0 else _AWAKE
        chosen = parent.chosen
        chosen_fp = parent.fp
        assert chosen_fp is not None
        bounded = self.preemption_bound is not None
        out: dict[int, Footprint] | None = None
        for aid, fp in parent.sleep.items():
            if aid != chosen and not dependent(fp, chosen_fp):
                out = out if out is not None else {}
                out[aid] = fp
        for aid, done_fp in zip(parent.done, parent.done_fps, strict=True):
            if aid == chosen:
                continue
            # Under a bound, only a free choice explored before a preempting sibling may sleep
            # (see the module docstring).
            if bounded and not (parent.cost(aid) == 0 and parent.cost(chosen) == 1):
                continue
            assert done_fp is not None
            if not dependent(done_fp, chosen_fp):
                out = out if out is not None else {}
                out[aid] = done_fp
        return out if out is not None else _AWAKE

    def allowed(self, node: Node, actor: int) -> bool:
        bound = self.preemption_bound
        return bound is None or node.preemptions + node.cost(actor) <= bound

    def skipped(self, node: Node, actor: int) -> bool:
        """Asleep here: running it next reaches a state (and budget) an explored run covers."""
        return not node.crash and actor in node.sleep

    def _default(self, node: Node) -> int | None:
        if node.current is not None and not self.skipped(node, node.current):
            return node.current
        for aid in node.enabled:
            if not self.skipped(node, aid) and self.allowed(node, aid):
                return aid
        return None


class SearchResult:
    __slots__ = (
        "schedules",
        "sleep_blocked",
        "sleep_skipped",
        "bound_skipped",
        "complete",
        "failing",
        "failing_index",
        "sampled_coins",
        "max_depth",
        "unknown",
    )

    def __init__(self) -> None:
        self.schedules = 0  # runs that reached quiescence or the step limit (each checked)
        self.sleep_blocked = 0  # runs abandoned mid-way: every allowed choice was asleep
        self.sleep_skipped = 0  # alternatives never started because they were asleep
        self.bound_skipped = 0  # alternatives never started because they exceed the preemption bound
        self.complete = False
        self.failing: Any = None  # RunResult of the first failing schedule
        self.failing_index: int | None = None
        self.sampled_coins = 0  # coin flips drawn from the seed, not enumerated (faults, random outcomes)
        self.max_depth = 0  # steps of the longest schedule: the stack's high-water mark
        self.unknown = 0  # schedules with an undecided verdict (cut by the step limit): no "holds"


def search(
    run: Callable[[DFS], Any],
    preemption_bound: int | None,
    max_schedules: int,
    por: bool = True,
    is_failing: Callable[[Any], bool] = lambda r: r.verdict.failing,
    on_schedule: Callable[[Any], None] | None = None,
    stop_at_first: bool = True,
    coins_of: Callable[[Any], int] = lambda r: 0,
    crashes: int = 0,
    undecided: Callable[[Any], bool] = lambda r: False,
) -> SearchResult:
    """Drive the search. ``run(scheduler)`` executes one schedule and returns its RunResult;
    ``coins_of(result)`` says how many coin flips that run drew from its seed; ``undecided(result)``
    whether some finding's verdict is unknown in that run (counted in ``unknown``)."""
    out = SearchResult()
    stack: list[Node] = []
    entries = 0
    interned: dict[Footprint, Footprint] = {}
    while True:
        if out.schedules >= max_schedules:
            return out  # cut short
        sched = DFS(preemption_bound, max_schedules, por, crashes)
        sched.stack = stack
        sched.entries = entries
        sched.interned = interned
        result = run(sched)
        stack = sched.stack
        entries = sched.entries
        out.max_depth = max(out.max_depth, len(stack))
        out.sampled_coins += coins_of(result)
        if sched.pruned:
            out.sleep_blocked += 1
            stack.pop()  # the placeholder step is not a real choice
        else:
            out.schedules += 1
            out.unknown += undecided(result)
            if on_schedule is not None:
                on_schedule(result)
            if is_failing(result) and out.failing is None:
                out.failing, out.failing_index = result, out.schedules
                if stop_at_first:
                    return out
        del result  # the next run must not keep this one's world alive
        # backtrack: the deepest node with an untried, awake alternative within the bound
        while stack:
            node = stack[-1]
            node.done = (*node.done, node.chosen)
            if por:
                node.done_fps = (*node.done_fps, node.fp)
                node.fp = None
            nxt = next(
                (a for a in node.enabled if a not in node.done and not sched.skipped(node, a) and sched.allowed(node, a)), None
            )
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
        entries = _entries(stack)
        if not stack:
            out.complete = True
            return out


def _entries(stack: list[Node]) -> int:
    total, last = 0, None
    for node in stack:
        if node.enabled is not last:
            total += len(node.enabled)
            last = node.enabled
    return total
