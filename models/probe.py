"""Guard decisions reported by the models, for coverage.

Some guards are in-memory checks, not store round trips (Layer 1's early return at F1,
the claim dropping a row that is no longer requested): nothing in the trace says they ran.
A model reports each such check by yielding a ``Decide``; the kernel (and the live driver)
counts it and resumes the model at once with ``None``: no latency, no scheduling point, no
trace record, so runs and digests are unchanged. ``decided`` is True when the guard changed
what happened (returned early, skipped, dropped).
"""

from __future__ import annotations

from typing import NamedTuple


class Decide(NamedTuple):
    step: str  # the spec's step label of the check (F1, F2, D5', S2, P6d, H13, P11b, H15)
    guard: str  # the switch it belongs to (layer1, layer2, dedupe, claim, lock, reconcile, defer_join, handled)
    decided: bool  # the check changed the outcome
