"""Guard switches and versions: one advance implementation, every guard layer and every
HEAD-only step a flag on it, so each can be ablated on its own.

A version is a named switch set: ``pre`` (b54aa3e), ``fix`` (7438f92), ``f93`` (f93e922)
and ``head`` (9206d41). ``--version head`` and ``--guards head`` mean the same thing, and
any ``+``-joined combination (``head+recovery``, ``f93+reconcile``) is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

# The guard layers of the fix and of the serialized advance.
GUARD_SWITCHES = ("layer1", "layer2", "lock", "dedupe", "claim", "release_one")
# Steps beyond the guard layers (spec 4.3 and 10), each a switch on the same implementation;
# all HEAD's, and two of them (cancel_halt, precheck) f93e922's already.
HEAD_SWITCHES = (
    "retry",  # H0: retry hook in the listener, before the advance
    "parent_info",  # H1 + HEAD's logging reads (queued children after COMMIT, WE after unlock)
    "cancel_halt",  # H7: cancellation halt
    "reconcile",  # H13: C and F rebuilt from the child rows (6.4)
    "handled",  # H15: a failure whose transitions dispatched something counts as completed
    "defer_join",  # H14/H19: an unmet join (set D, local to one advance) holds completion back
    "nested_completion",  # H19/H21: synthetic completion for a workflow that has a parent
    "precheck",  # worker 3.1 step 2: skip cancelled rows, report canceling ones
    "modern_recovery",  # 3dcc3a9+: decodable timeout completion, dead-worker rule, supervisor
)
# 3.4 recovery actors (timeout monitor, dead-worker reconciliation, supervisor). Optional:
# not part of ``head`` itself, because they add periodic actors to every run.
OPTIONAL_SWITCHES = ("recovery",)
SWITCHES = (*GUARD_SWITCHES, *HEAD_SWITCHES, *OPTIONAL_SWITCHES)

F93 = ("lock", "dedupe", "claim", "layer1")
NAMED_SETS: dict[str, tuple[str, ...]] = {
    "none": (),
    "layer1": ("layer1",),
    "layer2": ("layer2",),
    "both": ("layer1", "layer2"),
    # attune f93e922: lock + transaction + publish-after-commit, dispatch key instead of
    # Layer 2 (removed in 8e91440), scheduler CAS, Layer 1 kept inside the lock.
    "serialized": F93,
    # The four versions of the spec, as switch sets.
    "pre": (),
    "fix": ("layer1", "layer2"),
    # f93e922 also has the cancellation halt (scheduler.rs:1931-1976) and the worker's
    # pre-check (worker service.rs:970-1004), which the spec lists as HEAD additions.
    "f93": (*F93, "cancel_halt", "precheck"),
    "head": (*F93, "release_one", *HEAD_SWITCHES),
}
VERSIONS = ("pre", "fix", "f93", "head")
MATRIX_SETS = ("none", "layer1", "layer2", "both")


@dataclass(frozen=True, slots=True)
class Guards:
    """Which guard layers and HEAD steps are switched on. ``name`` is how the user spelled the set."""

    layer1: bool = False  # F1: early return when T is in the persisted completed/failed lists
    layer2: bool = False  # F2: skip dispatch when a row for the target task already exists
    lock: bool = False  # H2-H22: advisory lock, TX with FOR UPDATE, publish after COMMIT
    dedupe: bool = False  # 2.4: unique dispatch key per (W, task, item index)
    claim: bool = False  # 3.3: scheduler CAS requested -> scheduling
    release_one: bool = False  # HEAD: release at most one pending item per advance
    retry: bool = False
    parent_info: bool = False
    cancel_halt: bool = False
    reconcile: bool = False
    handled: bool = False
    defer_join: bool = False
    nested_completion: bool = False
    precheck: bool = False
    modern_recovery: bool = False
    recovery: bool = False
    name: str = "none"

    @classmethod
    def parse(cls, text: str) -> Guards:
        """``both``, ``head`` or any ``+``-joined combination (``lock+dedupe``, ``head+recovery``);
        ``no-<switch>`` switches one off again (``head+no-reconcile``)."""
        text = text.strip()
        if text in NAMED_SETS:
            on = NAMED_SETS[text]
        else:
            parts = [p.strip().replace("-", "_") for p in text.split("+")]
            on_list: list[str] = []
            for part in parts:
                if part in NAMED_SETS:
                    on_list.extend(NAMED_SETS[part])
                elif part in SWITCHES:
                    on_list.append(part)
                elif part.startswith("no_") and part[3:] in SWITCHES:  # ablation: head+no-reconcile
                    on_list = [s for s in on_list if s != part[3:]]
                else:
                    choices = ", ".join(dict.fromkeys([*NAMED_SETS, *(s.replace("_", "-") for s in SWITCHES)]))
                    raise ValueError(f"unknown guard {part!r} (choose from: {choices})")
            on = tuple(on_list)
        return cls(**{s: (s in on) for s in SWITCHES}, name=text)

    @property
    def switches(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self) if f.name != "name" and getattr(self, f.name))

    def without(self, switch: str) -> Guards:
        """The same set with one switch off (ablation), named ``<name>+no-<switch>``."""
        return Guards.parse(f"{self.name}+no-{switch.replace('_', '-')}")
