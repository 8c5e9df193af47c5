"""The op catalogue is the one place that says what an op does: every op kind has an entry,
every database entry names a method both stores implement, and the resources a real run
touches are all in the catalogue's vocabulary."""

import inspect
from dataclasses import replace

from racesim.engine.runner import run_one
from racesim.live import pg_store
from racesim.models import ops
from racesim.sim.db import SimDB
from racesim.sim.trace import events

RESOURCE_KINDS = {"exec", "task", "rows", "children", "seq", "wf", "key", "lock", "queue", "all"}


def _op_classes() -> list[type[ops.Op]]:
    return [c for c in vars(ops).values() if inspect.isclass(c) and issubclass(c, ops.Op) and c is not ops.Op]


def test_every_op_kind_has_one_entry_with_a_known_lane():
    classes = _op_classes()
    assert classes and set(classes) == set(ops.CATALOGUE)
    for cls, kind in ops.CATALOGUE.items():
        assert kind.name == cls.__name__ and kind.lane in ops.LANES and kind.summary


def test_database_entries_name_methods_both_stores_have():
    assert ops.DB_OPS, "no database ops"
    for cls, handler in ops.DB_OPS.items():
        assert ops.CATALOGUE[cls].lane == "db"
        assert callable(getattr(SimDB, handler, None)), f"SimDB lacks {handler}"
        assert callable(getattr(pg_store.PgStore, handler, None)), f"PgStore lacks {handler}"


def test_a_run_touches_only_catalogued_resources(fanin, config):
    result = run_one(config("serialized", deployment=replace(fanin.deployment, replicas=2)), 3, record=True)
    seen: set[str] = set()
    for ev in events(result.output.records):
        reads, writes = ops.observed(ev.op, ev.args, ev.result, result.output.db)
        seen |= {r[0] for r in reads | writes}
    assert seen <= RESOURCE_KINDS
    assert {"exec", "task", "wf", "key"} <= seen  # the serialized advance reads and writes all four


def test_an_unknown_op_conflicts_with_everything():
    class Novel(ops.Op):
        pass

    reads, writes = ops.footprint(Novel("X1"), SimDB((1,)))
    assert ops.ALL in writes and not reads
