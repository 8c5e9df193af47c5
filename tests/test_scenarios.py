"""Every catalog scenario loads, runs, and its expect block holds (each entry at its own runs)."""

import pytest
from racesim.scenarios import loader

CATALOG = loader.catalog()
REQUIRED = {
    "with-items-fanin",
    "join-barrier",
    "failure-masking",
    "with-items-failing-item",
    "large-fanout",
    "retry-loop",
    "empty-with-items",
    "compound-when",
    "two-predecessors",
}


def test_catalog_has_every_required_shape():
    assert REQUIRED <= {p.stem for p in CATALOG}


@pytest.mark.parametrize("path", CATALOG, ids=[p.stem for p in CATALOG])
def test_catalog_scenario_states_what_it_expects(path):
    """Whether the expectations hold is the merge gate's job (tests/test_catalog_gate.py)."""
    sc = loader.load(str(path))
    assert sc.name == path.stem
    assert sc.description and "\n" not in sc.description
    assert sc.expect, "every catalog scenario states what the spec predicts"


def test_large_fanout_is_the_stated_size():
    node = loader.load("large-fanout").graph.nodes["process_items"]
    assert (node.with_items, node.concurrency) == (200, 20)


def test_empty_list_counts_zero_items():
    assert loader.load("empty-with-items").graph.nodes["process_items"].with_items == 0
