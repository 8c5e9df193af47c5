"""Guard switches: one advance implementation, each guard layer a flag on it."""

from __future__ import annotations

from dataclasses import dataclass, fields

SWITCHES = ("layer1", "layer2", "lock", "dedupe", "claim", "release_one")

NAMED_SETS: dict[str, tuple[str, ...]] = {
    "none": (),
    "layer1": ("layer1",),
    "layer2": ("layer2",),
    "both": ("layer1", "layer2"),
    # attune f93e922: lock + transaction + publish-after-commit, dispatch key instead of
    # Layer 2 (removed in 8e91440), scheduler CAS, Layer 1 kept inside the lock.
    "serialized": ("lock", "dedupe", "claim", "layer1"),
}
MATRIX_SETS = ("none", "layer1", "layer2", "both")


@dataclass(frozen=True, slots=True)
class Guards:
    """Which guard layers are switched on. ``name`` is how the user spelled the set."""

    layer1: bool = False  # F1: early return when T is in the persisted completed/failed lists
    layer2: bool = False  # F2: skip dispatch when a row for the target task already exists
    lock: bool = False  # H2-H22: advisory lock, TX with FOR UPDATE, publish after COMMIT
    dedupe: bool = False  # 2.4: unique dispatch key per (W, task, item index)
    claim: bool = False  # 3.3: scheduler CAS requested -> scheduling
    release_one: bool = False  # HEAD: release at most one pending item per advance
    name: str = "none"

    @classmethod
    def parse(cls, text: str) -> Guards:
        """``both``, ``serialized`` or any ``+``-joined combination (``lock+dedupe``)."""
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
                else:
                    choices = ", ".join(dict.fromkeys([*NAMED_SETS, *(s.replace("_", "-") for s in SWITCHES)]))
                    raise ValueError(f"unknown guard {part!r} (choose from: {choices})")
            on = tuple(on_list)
        return cls(**{s: (s in on) for s in SWITCHES}, name=text)

    @property
    def switches(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self) if f.name != "name" and getattr(self, f.name))
