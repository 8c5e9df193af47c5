"""`racesim audit`: workflow discovery, shapes, the table / JSON / HTML outputs and the exit code."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from racesim.engine import audit
from racesim.models.graph import Graph, Node, Transition

from racesim.cli import cli

DATA = Path(__file__).parent / "data" / "attune"


def node(name, *targets, kind="succeeded", with_items=None, join=None, split=False):
    trs = tuple(Transition(kind, (t,)) for t in targets) if split else ((Transition(kind, tuple(targets)),) if targets else ())
    return Node(name, "p.a", with_items=with_items, join=join, transitions=trs)


def shapes(*nodes):
    return audit.shapes(Graph.build(list(nodes)), None)


def test_shapes_name_what_the_graph_contains():
    assert shapes(node("a", "b"), node("b")) == ["sequence"]
    assert shapes(node("a", "b", "c"), node("b"), node("c")) == ["fan-out", "parallel branches"]
    # a success edge and a failure edge never fire together: not a fan-out
    split = (Node("a", "p.a", transitions=(Transition("succeeded", ("b",)), Transition("failed", ("c",)))), node("b"), node("c"))
    assert shapes(*split) == ["sequence"]
    joined = shapes(node("a", "c"), node("b", "c"), node("c", join=2))
    assert joined == ["join", "parallel branches"]
    assert "several predecessors" in shapes(node("a", "c"), node("b", "c"), node("c"))
    assert "with_items" in shapes(node("a", with_items=3))
    assert any(s.startswith("cycles") for s in shapes(node("s", "a"), node("a", "b"), node("b", "a")))


def test_discover_finds_workflows_and_action_files_once(tmp_path):
    pack = tmp_path / "pack"
    (pack / "actions" / "workflows").mkdir(parents=True)
    (pack / "workflows").mkdir()
    (pack / "pack.yaml").write_text("ref: pack\n")
    (pack / "actions" / "plain.yaml").write_text("ref: pack.plain\nentry_point: x.sh\n")
    (pack / "actions" / "deploy.yaml").write_text("ref: pack.deploy\nworkflow_file: workflows/deploy.workflow.yaml\n")
    (pack / "actions" / "workflows" / "deploy.workflow.yaml").write_text('version: "1"\ntasks: []\n')
    (pack / "workflows" / "standalone.yaml").write_text('version: "1"\ntasks: []\n')
    files, skipped = audit.discover([str(tmp_path)])
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["pack/actions/deploy.yaml", "pack/workflows/standalone.yaml"]
    assert len(skipped) == 2


def invoke(*args):
    return CliRunner().invoke(cli, ["audit", *args])


FAST = ("--runs", "20", "--jobs", "1", "--replicas", "2")


def test_a_safety_finding_fails_the_audit_and_names_its_task():
    r = invoke(str(DATA / "standalone.yaml"), "--versions", "pre", *FAST, "--items", "5")
    assert r.exit_code == 1, r.output
    assert "duplicate_dispatch @" in r.stdout  # the registry's name for a successor duplicate (task: JSON below)
    assert "shapes: " in r.stdout
    assert "every cell checked for " in r.stdout
    r = invoke(str(DATA / "standalone.yaml"), "--versions", "pre", *FAST, "--items", "5", "--json")
    assert r.exit_code == 1
    (workflow,) = json.loads(r.stdout)["workflows"]
    assert workflow["shapes"] == ["join", "with_items"]
    rows = workflow["cells"][0]["findings_by_task"]
    dup = next(x for x in rows if x["task"] == "validate")
    assert dup["finding"] == "duplicate_dispatch"
    assert dup["replay"] == f"racesim run standalone.yaml --version pre --replicas 2 --seed {dup['first_seed']} --runs 1 --trace"
    # replaying that seed shows the duplicate
    from racesim.engine.runner import config_for, run_one
    from racesim.models.guards import Guards
    from racesim.scenarios import importer, loader
    from racesim.sim.config import Deployment

    imported = importer.import_workflow(DATA / "standalone.yaml", {"process_items": 5})
    sc = loader.from_dict(imported.scenario, "s", "s")
    result = run_one(config_for(sc, Guards.parse("pre"), Deployment(replicas=2)), dup["first_seed"])
    assert result.verdict.by_task["validate"].duplicate_dispatches > 0


def test_silence_where_the_guards_stop_it():
    r = invoke(str(DATA / "standalone.yaml"), "--versions", "head", *FAST, "--items", "5")
    assert r.exit_code == 0, r.output
    assert "none seen" in r.stdout and "not a proof" in r.stdout
    assert invoke(str(DATA / "standalone.yaml"), "--versions", "pre", *FAST, "--fail-on", "none").exit_code == 0


def test_a_file_attune_refuses_is_a_row_with_attunes_reason():
    path = DATA / "upstream/docs-md/workflows__workflow-summary-L290.yaml"
    r = invoke(str(path), "--versions", "head", *FAST)
    assert r.exit_code == 0, r.output
    assert "not audited" in r.stdout and "'cleanup'" in r.stdout
    lenient = DATA / "upstream/packs/core/workflows/install_packs.yaml"
    r = invoke(str(lenient), "--versions", "head", "--runs", "2", "--jobs", "1", "--json")
    doc = json.loads(r.stdout)
    (w,) = doc["workflows"]
    assert (w["loads_in_attune_head"], w["imported_leniently"]) == (False, True)
    assert "vars" in w["attune_head_reason"]
    r = invoke(str(lenient), "--versions", "head", "--runs", "2", "--jobs", "1", "--strict", "--json")
    assert json.loads(r.stdout)["workflows"][0]["not_audited"]


def test_bad_options_exit_2_with_one_line(tmp_path):
    for args in (["--versions", "nosuch"], ["--fail-on", "nosuch"], ["--items", "nosuch=3"], ["--runs", "0"]):
        r = invoke(str(DATA / "standalone.yaml"), *args)
        assert r.exit_code == 2, args
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert invoke(str(tmp_path)).exit_code == 2  # no workflow file there


@pytest.mark.slow
def test_audit_of_the_corpus_prints_the_table_and_writes_the_html_index(tmp_path):
    out = tmp_path / "html"
    r = invoke(str(DATA), "--runs", "5", "--html", str(out))
    assert r.exit_code in (0, 1), r.output
    for header in ("workflow", "loads in attune HEAD?", "version", "deployment", "finding", "P (95% interval)", "replay"):
        assert header in r.stdout
    index = (out / "index.html").read_text()
    reports = sorted(p.name for p in out.glob("*.html") if p.name != "index.html")
    assert len(reports) == 10  # 13 files: 3 refused by attune even leniently
    for name in reports:
        assert f'href="{name}"' in index
        assert (out / "scenarios" / name.replace(".html", ".yaml")).is_file()
    assert index.count("not audited") == 3


@pytest.mark.slow
def test_the_audit_is_the_same_for_any_jobs():
    args = (str(DATA / "pack"), str(DATA / "standalone.yaml"), "--runs", "30", "--json", "--fail-on", "none")
    serial, parallel = invoke(*args, "--jobs", "1"), invoke(*args, "--jobs", "2")
    assert serial.exit_code == parallel.exit_code == 0, serial.output + parallel.output
    assert serial.stdout == parallel.stdout


SCHEMA = Path(__file__).resolve().parent.parent / "schema" / "racesim-result.schema.json"


@pytest.mark.skipif(not SCHEMA.is_file(), reason="the common result schema is not in this checkout yet")
def test_every_cell_of_the_json_is_a_result_object_of_the_common_schema():
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    r = invoke(str(DATA / "standalone.yaml"), "--versions", "pre,head", "--runs", "10", "--jobs", "1", "--json")
    doc = json.loads(r.stdout)
    cells = [c for w in doc["workflows"] for c in w["cells"]]
    assert len(cells) == 4
    result = {"$ref": "#/$defs/result", "$defs": schema["$defs"]}
    for cell in cells:
        jsonschema.validate(cell, result)
        assert cell["command"] == "matrix"
