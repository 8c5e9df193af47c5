"""Explanations per finding and task, and the guard step that stopped the finding (issue 17)."""

from __future__ import annotations

import re

import pytest
from racesim.analysis.cases import cases, contrast_for, finding_seeds
from racesim.analysis.explain import explanations, guard_stops
from racesim.analysis.windows import analyse
from racesim.engine.runner import config_for, run_one, sweep
from racesim.models.guards import Guards
from racesim.reports import html, words
from racesim.sim.config import Deployment


@pytest.fixture(scope="module")
def both_two(fanin):
    config = config_for(fanin, Guards.parse("both"), Deployment(replicas=2))
    return config, sweep(config, 1, 60)


def _case(found, task, kind):
    return next(c for c in found if c.task == task and (c.finding in ("duplicates", kind)))


def test_each_task_gets_its_own_case(both_two):
    config, summary = both_two
    found = cases([summary], [config])
    tasks = {c.task for c in found}
    assert {"validate", "process_items"} <= tasks
    validate = _case(found, "validate", "duplicate_dispatch")
    # Its own first seed, not the sweep's first failing seed (an item re-run).
    assert validate.seed == summary.by_task["validate"].first_failing_seed
    assert validate.failing.verdict.by_task["validate"].duplicate_dispatches > 0


def test_validate_chain_names_the_reads_and_the_writes_they_saw(both_two):
    config, summary = both_two
    validate = _case(cases([summary], [config]), "validate", "duplicate_dispatch")
    [e] = explanations(analyse(validate.failing), "validate")
    assert e.kind == "rows" and len(e.chains) >= 2
    steps = {link.read.step for c in e.chains for link in c.reads}
    assert {"P2", "P6e", "F2"} <= steps
    # "remaining=0 at P6e because a worker had written the last item completed at W6"
    p6e = [link for c in e.chains for link in c.reads if link.read.step == "P6e"]
    assert all(link.saw is not None and link.saw.step == "W6" for link in p6e)
    text = [words.plain(s) for s in words.explanation_sentences(e)]
    assert any("remaining=0" in s and "because" in s and "W6" in s for s in text)
    assert any("before" in s for s in text)  # the second advance missed the first's writes


def test_contrast_names_the_guard_step(both_two):
    config, summary = both_two
    found = cases([summary], [config])
    for case in found:
        assert case.contrast is not None
        assert case.contrast.verdict.by_task[case.task].duplicate_dispatches == 0
        stops = guard_stops(analyse(case.contrast), case.task)
        assert all(s.guard in case.contrast.output.config.guards.switches for s in stops)
        if case.task == "validate":
            assert stops, f"no guard step named for {case.title}"


def test_no_guard_stop_without_guards(fanin):
    """Silence where it cannot happen: with no guard switched on, no guard decides."""
    config = config_for(fanin, Guards.parse("none"), Deployment(replicas=2))
    for seed in range(1, 15):
        an = analyse(run_one(config, seed, record=True))
        assert guard_stops(an, "validate") == [] and guard_stops(an, "process_items") == []


def test_contrast_replays_the_failing_schedule(both_two):
    config, summary = both_two
    [(finding, task, seed, *_)] = [x for x in finding_seeds(summary) if x[1] == "validate"]
    failing = run_one(config, seed, record=True)
    a = contrast_for(failing, finding, task, [summary], [config])
    b = contrast_for(failing, finding, task, [summary], [config])
    assert a is not None and b is not None and a[0].digest == b[0].digest and a[1] == b[1]  # deterministic


def test_report_explains_validate_with_step_links(both_two, tmp_path):
    config, summary = both_two
    found = cases([summary], [config])
    page = html.render(
        title="t", command="racesim run with-items-fanin", summaries=[summary], failing=None, contrast=None, cases=found
    )
    k = [c.task for c in found].index("validate")
    section = page.split(f'id="case{k}"')[1].split("<h3>Interleavings")[0]
    assert "Why validate was handed to workers more than once" in section
    links = set(re.findall(rf'<a class="step" href="#case{k}-step-([^"]+)">', section))
    assert {"P2", "P6e", "F2", "D5"} <= links
    for label in links:
        assert f'id="case{k}-step-{label}"' in section  # every link lands on a step row
    # each step row links the model line that performed it and attune's line at the commit
    model_links = re.findall(r'<a href="(file://[^"#]+)#L(\d+)">(models/[a-z_]+\.py):(\d+)</a>', section)
    assert model_links and all(uri.endswith(path) and line == shown for uri, line, path, shown in model_links)
    assert 'href="https://github.com/AndroxxTraxxon/attune/blob/' in section
    assert "What stopped it under" in section
