"""`racesim init`: starter scenarios that load as written, explain every field and never overwrite."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from racesim.scenarios import loader, starter
from racesim.scenarios.schema import TOP_KEYS

from racesim.cli import cli

DATA = Path(__file__).parent / "data" / "attune"


def init(*args):
    return CliRunner().invoke(cli, ["init", *args])


@pytest.mark.parametrize("template", list(starter.TEMPLATES))
def test_each_template_loads_and_explains_every_field(template, tmp_path):
    out = tmp_path / "mine.yaml"
    r = init(str(out), "--template", template)
    assert r.exit_code == 0, r.output
    text = out.read_text()
    sc = loader.load(str(out))
    assert sc.name == "mine" and list(sc.graph.nodes) == [t["name"] for t in starter.TEMPLATES[template][1]]
    for key in TOP_KEYS:  # every top-level field is present or shown in a comment, each explained
        assert f"\n# {key}: " in text, key
    for task_field in ("name", "action", "with_items", "concurrency", "join", "retry", "next", "when", "do", "publish"):
        assert f"#   {task_field} " in text or f"#     {task_field} " in text, task_field


def test_from_a_workflow_file_keeps_its_graph(tmp_path):
    out = tmp_path / "deploy.yaml"
    r = init(str(out), "--from", str(DATA / "pack/actions/deploy.yaml"), "--items", "announce=4")
    assert r.exit_code == 0, r.output
    graph = loader.load(str(out)).graph
    assert graph.nodes["announce"].with_items == 4 and graph.nodes["release"].join == 2
    assert "# Notes from the import" in out.read_text()


def test_never_overwrites_and_refuses_a_workflow_attune_rejects(tmp_path):
    out = tmp_path / "s.yaml"
    out.write_text("mine\n")
    r = init(str(out))
    assert r.exit_code == 2 and "already exists" in r.stderr
    assert out.read_text() == "mine\n"
    new = tmp_path / "t.yaml"
    r = init(str(new), "--from", str(DATA / "upstream/docs-md/workflows__workflow-summary-L290.yaml"))
    assert r.exit_code == 2 and "attune HEAD rejects this file" in r.stderr and not new.exists()
    assert init(str(new), "--from", str(DATA / "legacy.yaml"), "--template", "join").exit_code == 2
