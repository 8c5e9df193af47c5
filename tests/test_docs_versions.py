"""docs/model.md's version table names each switch at the first version that has it (the
step map found the worker pre-check and the cancellation halt already at f93e922)."""

from __future__ import annotations

from pathlib import Path

import pytest
from racesim.models.guards import Guards

MODEL_MD = Path(__file__).resolve().parent.parent / "docs" / "model.md"
# switch -> how the version table names it
NAMES = {"precheck": "pre-check", "cancel_halt": "H7", "reconcile": "H13", "retry": "H0"}


def _rows() -> dict[str, str]:
    rows = {}
    for line in MODEL_MD.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 2 and cells[1] in ("`pre`", "`fix`", "`f93`", "`head`"):
            rows[cells[1].strip("`")] = cells[3]
    return rows


@pytest.mark.parametrize("switch", sorted(NAMES))
def test_the_version_table_names_a_switch_where_it_first_appears(switch: str) -> None:
    rows = _rows()
    assert list(rows) == ["pre", "fix", "f93", "head"]
    first = next(v for v in rows if getattr(Guards.parse(v), switch))
    named = [v for v, text in rows.items() if NAMES[switch] in text]
    assert named == [first], f"{switch}: first on in {first}, named in {named}"
