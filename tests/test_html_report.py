"""HTML report, Perfetto export and happens-before analysis (issue 5)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from racesim.analysis import graph as hbg
from racesim.analysis.explain import explain
from racesim.analysis.windows import analyse
from racesim.engine import headlines as headlines_mod
from racesim.engine.runner import FindingTally, RunResult, Summary, config_for, run_one, sweep
from racesim.models.graph import Graph, Node
from racesim.models.guards import Guards
from racesim.reports import html, perfetto, words
from racesim.reports.terminal import duplicate_marks
from racesim.scenarios.loader import Scenario, ScenarioError, from_dict
from racesim.sim.config import Deployment, Faults
from racesim.sim.findings import BY_NAME, Checker, Found

HOSTILE_TASK = "<script>alert(1)</script>"
HOSTILE_ITEMS = "it\"em's & <b>items</b>"
HOSTILE_TEXT = "<img src=x onerror=alert(2)> \"q\" 'a' & b"


def _hostile_dict(items: int, concurrency: int, first: str, second: str) -> dict:
    return {
        "name": "hostile",
        "description": HOSTILE_TEXT,
        "workflow": {
            "ref": HOSTILE_TEXT,
            "tasks": [
                {
                    "name": first,
                    "action": "demo.a&b<c>'\"",
                    "with_items": items,
                    "concurrency": concurrency,
                    "next": [{"when": "{{ succeeded() }}", "do": [second]}],
                },
                {"name": second, "action": HOSTILE_TEXT},
            ],
        },
        "timing": {"worker_duration": {"dist": "uniform", "low": 1.0, "high": 1.1}},
    }


def hostile_scenario(items: int = 5, concurrency: int = 3) -> Scenario:
    """A scenario whose task names carry markup, quotes and ampersands. The loader's schema
    may reject such names (letters, digits, _.- only); the report must not rely on that, so
    the names then go into the graph directly, the rest still through ``from_dict``."""
    try:
        return from_dict(_hostile_dict(items, concurrency, HOSTILE_ITEMS, HOSTILE_TASK))
    except ScenarioError:
        sc = from_dict(_hostile_dict(items, concurrency, "items", "successor"))
    rename = {"items": HOSTILE_ITEMS, "successor": HOSTILE_TASK}
    nodes = [
        Node(
            rename[n.name],
            n.action,
            n.with_items,
            n.concurrency,
            n.join,
            tuple(replace(t, do=tuple(rename[d] for d in t.do)) for t in n.transitions),
        )
        for n in sc.graph.nodes.values()
    ]
    return replace(sc, graph=Graph.build(nodes))


def first_failing(config, want=lambda r: r.verdict.duplicate_dispatches > 0, seeds=range(1, 120)) -> RunResult:
    for seed in seeds:
        r = run_one(config, seed, record=True)
        if want(r):
            return r
    pytest.fail("no failing seed found")


@pytest.fixture(scope="module")
def fanin_pair(fanin):
    failing = first_failing(config_for(fanin, Guards.parse("none")))
    contrast = run_one(config_for(fanin, Guards.parse("serialized")), failing.seed, record=True)
    assert contrast.verdict.duplicate_dispatches == 0
    return failing, contrast


@pytest.fixture(scope="module")
def hostile_pair():
    sc = hostile_scenario()
    failing = first_failing(
        config_for(sc, Guards.parse("none")), want=lambda r: any(HOSTILE_TASK in m for m in duplicate_marks(r).values())
    )
    contrast = run_one(config_for(sc, Guards.parse("serialized")), failing.seed, record=True)
    return failing, contrast


def test_hostile_names_are_escaped_text(hostile_pair, tmp_path):
    failing, contrast = hostile_pair
    sc = hostile_scenario()
    summary = sweep(config_for(sc, Guards.parse("none")), 1, 5)
    out = tmp_path / "hostile.html"
    html.write_report(
        out, title=sc.name, command="racesim run 'x' --html y", summaries=[summary], failing=failing, contrast=contrast
    )
    page = out.read_text(encoding="utf-8")
    assert HOSTILE_TASK not in page
    assert "<b>items</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text (lanes, sentences, titles)
    assert "it&#34;em&#39;s &amp; &lt;b&gt;items&lt;/b&gt;" in page
    assert "<img" not in page
    # The only scripts are ours: one JSON block per drawn run and the page script.
    assert len(re.findall(r"<script\b", page, re.I)) == page.count('<svg class="lanes"') + 1 >= 3
    # Inside the JSON blocks '<' is \u003c, so no record can close the script element.
    for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S):
        assert "<" not in block
        json.loads(block)


def test_report_is_deterministic_and_atomic(fanin_pair, tmp_path):
    failing, contrast = fanin_pair
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    for path in (a, b):
        html.write_report(
            path, title="t", command="racesim run with-items-fanin", summaries=[], failing=failing, contrast=contrast
        )
    assert a.read_bytes() == b.read_bytes()
    again = run_one(failing.output.config, failing.seed, record=True)
    assert html.render(title="t", command="c", summaries=[], failing=again, contrast=None) == html.render(
        title="t", command="c", summaries=[], failing=failing, contrast=None
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html", "b.html"]  # no temp file left behind


def test_report_content(fanin_pair, fanin, tmp_path):
    failing, contrast = fanin_pair
    summaries = [sweep(config_for(fanin, Guards.parse(g)), 1, 20) for g in ("none", "serialized")]
    page = html.render(
        title="fanin", command="racesim matrix with-items-fanin", summaries=summaries, failing=failing, contrast=contrast
    )
    for text in ("Guard matrix", "Dispatches per task", "Findings explained", "racesim version", failing.digest):
        assert text in page
    assert f"--seed {failing.seed} --runs 1 --trace" in page
    actors = {r[1] for r in failing.output.records}
    section = page.split('id="case0-failing"')[1].split('id="case0-contrast"')[0]
    assert set(re.findall(r'data-actor="([^"]+)"', section)) == actors
    assert section.count('class="ev k-pub dup') == len(duplicate_marks(failing))
    # nothing to fetch: no external source, stylesheet or image (links to attune's source are anchors)
    assert not re.search(r"""(src|srcset|data)=["']?https?:|<link\b|url\(["']?https?:|@import""", page)


def test_perfetto_trace(fanin_pair, tmp_path):
    failing, _ = fanin_pair
    out = tmp_path / "trace.json"
    perfetto.write_trace(out, failing)
    data = json.loads(out.read_text())
    evs = data["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in evs if e["ph"] == "M" and e["name"] == "thread_name"}
    actors = {r[1] for r in failing.output.records}
    assert sorted(names.values()) == sorted(actors)  # one track per actor, no two actors share one
    slices = [e for e in evs if e["ph"] == "X"]
    assert len(slices) == len(failing.output.records)
    assert [e["args"]["index"] for e in slices] == list(range(len(slices)))
    for e, rec in zip(slices, failing.output.records, strict=True):
        assert names[e["tid"]] == rec[1]
        assert e["ts"] + e["dur"] == pytest.approx(rec[0] * 1e6, abs=0.01)
    flows = [e for e in evs if e["ph"] in ("s", "f")]
    assert flows and len(flows) % 2 == 0


def test_size_limits(fanin_pair, tmp_path):
    failing, contrast = fanin_pair
    small = tmp_path / "small.html"
    html.write_report(small, title="t", command="c", summaries=[], failing=failing, contrast=contrast)
    assert small.stat().st_size < 1_000_000
    big_sc = hostile_scenario(items=200, concurrency=10)
    big = run_one(config_for(big_sc, Guards.parse("none")), 1, record=True)
    assert len(big.output.records) > html.MAX_EVENTS
    out = tmp_path / "big.html"
    html.write_report(out, title="big", command="c", summaries=[], failing=big, contrast=None)
    page = out.read_text()
    assert out.stat().st_size < 3_000_000
    assert f"cap {html.MAX_EVENTS}" in page and "Not drawn" in page
    assert page.count('<circle class="ev ') == html.MAX_EVENTS


def test_happens_before_graph(fanin_pair):
    failing, _ = fanin_pair
    g = analyse(failing).graph
    evs = failing.output.records
    assert all(u < v for u, v, k in g.edges(data="kind") if k in hbg.HB_KINDS)  # a DAG in trace order
    for u, v, k in g.edges(data="kind"):
        if k == "po":
            assert evs[u][1] == evs[v][1]
        elif k == "msg":
            assert evs[u][3] == "Publish" and evs[v][3] == "Consume"
    consumes = [i for i, r in enumerate(evs) if r[3] == "Consume"]
    linked = {v for u, v, k in g.edges(data="kind") if k == "msg"}
    assert set(consumes) == linked  # every delivery traced back to its publish


def test_race_window_names_the_missed_writes(fanin):
    """FIX with two executors (spec 7b): the second advance's P2 read missed the first's P14
    write, and its F2 count missed the first's D5 insert."""
    config = config_for(fanin, Guards.parse("both"), Deployment(replicas=2))
    r = first_failing(config, want=lambda r: any(w.kind == "rows" for w in analyse(r).windows), seeds=range(1, 200))
    an = analyse(r)
    [w] = [w for w in an.windows if w.kind == "rows"]
    assert len(w.executions) >= 2 and len(w.decisions) >= 2
    evs = r.output.records
    second = w.decisions[1]
    missed_steps = {evs[m][2] for _, m in second.missed}
    read_steps = {evs[i][2] for i in second.reads}
    assert {"P2", "P6e", "F2"} <= read_steps
    assert missed_steps & {"P14", "D5"}
    sentences = words.explanation_sentences(explain(an, w))
    assert any("before" in s and ("P14" in s or "D5" in s) for s in sentences)
    graph = an.window_graph(w)
    assert any(k == "rw" for _, _, k in graph.edges(data="kind"))


def test_matrix_report_is_an_index_of_cell_reports(tmp_path):
    from click.testing import CliRunner

    from racesim.cli import cli

    index = tmp_path / "m.html"
    argv = ["matrix", "with-items-fanin", "--guards", "none,serialized", "--runs", "20", "--html", str(index)]
    r = CliRunner().invoke(cli, argv)
    assert r.exit_code == 0, r.output
    page = index.read_text()
    links = re.findall(r'<a class="cell-report" href="([^"]+)">', page)
    assert len(links) >= 2 and sorted(links) == [f"m.cell{k}.html" for k in range(len(links))]
    assert "Findings explained" not in page  # the index explains nothing itself
    cells = [(tmp_path / link).read_text() for link in links]
    assert any("Why validate was handed to workers" in c for c in cells)  # guards none
    assert any("Findings explained" not in c for c in cells)  # serialized: nothing to explain


def _planted_summary(runs: int = 4) -> Summary:
    """A sweep of ``runs`` runs in which run 2 and 3 re-ran an item of ``items`` (2 and 1
    extra hand-overs) and no successor was dispatched twice."""
    s = Summary("planted", "both", runs, 1, Deployment(), Faults())
    tasks = ("items", "successor")
    for seed in range(1, runs + 1):
        for name, tally in s.findings.items():
            f = Found()
            if name == "item_rerun" and seed in (2, 3):
                f.add("items", f"items[0] handed over again (seed {seed})", n=4 - seed)
            tally.add(seed, f, tasks if BY_NAME[name].per == "task" else ())
    return s


def test_html_headline_separates_item_reruns_from_successor_duplicates():
    page = html.render(title="t", command="c", summaries=[_planted_summary()], failing=None, contrast=None)
    findings = page[page.index('<h2 id="findings">') :]
    dup = re.search(r'<li data-finding="duplicate_dispatch">([^<]*)</li>', findings)
    rerun = re.search(r'<li data-finding="item_rerun">([^<]*)</li>', findings)
    assert dup and rerun
    assert dup.group(1).startswith("successor dispatched twice: in no run of 4")
    assert "item handed to workers twice: in 2 of 4 runs (3 extra hand-overs: items 3 in 2 runs" in rerun.group(1)
    # runs and occurrences are separate columns, each row names its unit
    row = re.search(r'<tr data-finding="item_rerun"[^>]*>(.*?)</tr>', findings, re.S)
    assert row and "<td>2</td><td>3</td><td>extra hand-overs</td>" in row.group(1)
    # the registry's order: duplicate_dispatch first
    assert findings.index('data-finding="duplicate_dispatch"') < findings.index('data-finding="item_rerun"')


def test_html_matrix_cell_keeps_runs_and_occurrences_apart():
    view = html.matrix_view([_planted_summary()])
    assert view is not None
    cell = view["tables"][0]["rows"][0]["cells"][0]
    assert cell["lead"] == "successor dispatched twice" and cell["lead_runs"] == 0
    assert cell["lines"] == ["item handed to workers twice: 2/4 runs, 3 extra hand-overs (items 3)"]


def test_a_new_registry_finding_appears_in_the_html(monkeypatch):
    """html.py iterates the registry (through engine.headlines): a finding added there shows."""
    extra = Checker("phantom_write", "phantom row written", "safety", "phantom rows", "task", "planted", "phantom")
    monkeypatch.setattr(headlines_mod, "NAMES", (*headlines_mod.NAMES, extra.name))
    monkeypatch.setattr(headlines_mod, "BY_NAME", {**headlines_mod.BY_NAME, extra.name: extra})
    s = _planted_summary()
    s.findings[extra.name] = FindingTally()
    f = Found()
    f.add("successor", "planted phantom")
    s.findings[extra.name].add(3, f, ("items", "successor"))
    page = html.render(title="t", command="c", summaries=[s], failing=None, contrast=None)
    assert '<li data-finding="phantom_write">phantom row written: in 1 of 4 runs (1 phantom rows' in page
    assert '<tr data-finding="phantom_write"' in page
    cell = html.matrix_view([s])["tables"][0]["rows"][0]["cells"][0]  # type: ignore[index]
    assert "phantom row written: 1/4 runs, 1 phantom rows (successor 1)" in cell["lines"]
