"""`racesim import`: attune workflow files -> scenarios whose dispatch graph matches the workflow's."""

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from racesim.models.graph import ALWAYS, CUSTOM, FAILED_KIND, SUCCEEDED, TIMED_OUT
from racesim.scenarios import loader

from racesim.cli import cli

DATA = Path(__file__).parent / "data" / "attune"

# The dispatch graph each test workflow defines, written out by hand from the YAML:
# task -> (action, with_items, concurrency, join, [(kind, do), ...]), plus inbound and entry points.
EXPECTED = {
    "standalone.yaml": (
        {
            "process_items": ("demo.handle_one", 7, 3, None, [(SUCCEEDED, ("validate",)), (FAILED_KIND, ("report_problem",))]),
            "validate": ("demo.verify_all", None, None, None, []),
            "report_problem": ("demo.notify", None, None, 1, []),
        },
        {"process_items": (), "validate": ("process_items",), "report_problem": ("process_items",)},
        ["process_items"],
    ),
    "pack/actions/deploy.yaml": (
        {
            "build_api": ("demo.build", None, None, None, [(SUCCEEDED, ("release",)), (FAILED_KIND, ("cleanup",))]),
            "build_web": ("demo.build", None, None, None, [(SUCCEEDED, ("release",)), (FAILED_KIND, ("cleanup",))]),
            "release": ("demo.release", None, None, 2, [(ALWAYS, ("announce",))]),
            "announce": ("demo.notify", 4, 2, None, []),
            "cleanup": ("demo.cleanup", None, None, None, []),
        },
        {
            "build_api": (),
            "build_web": (),
            "release": ("build_api", "build_web"),
            "announce": ("release",),
            "cleanup": ("build_api", "build_web"),
        },
        ["build_api", "build_web"],
    ),
    "legacy.yaml": (
        {
            "fetch": (
                "demo.fetch",
                None,
                None,
                None,
                [(SUCCEEDED, ("parse",)), (FAILED_KIND, ("alert",)), (ALWAYS, ("audit",))],
            ),
            "parse": ("demo.parse", None, None, None, [(CUSTOM, ("load_csv",)), (ALWAYS, ("load_json",))]),
            "load_csv": ("demo.load", None, None, None, [(TIMED_OUT, ("alert",))]),
            "load_json": ("demo.load", None, None, None, [(SUCCEEDED, ("audit",))]),  # legacy on_success discarded
            "alert": ("demo.notify", None, None, None, []),
            "audit": ("demo.audit", None, None, None, []),
        },
        {
            "fetch": (),
            "parse": ("fetch",),
            "load_csv": ("parse",),
            "load_json": ("parse",),
            "alert": ("fetch", "load_csv"),
            "audit": ("fetch", "load_json"),
        },
        ["fetch"],
    ),
}


def run_import(*args: str):
    return CliRunner().invoke(cli, ["import", *args])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_imported_dispatch_graph_matches_the_workflow(name, tmp_path):
    out = tmp_path / "scenario.yaml"
    extra = {"standalone.yaml": ["--items", "process_items=7"], "pack/actions/deploy.yaml": ["--items", "announce=4"]}
    r = run_import(str(DATA / name), "-o", str(out), *extra.get(name, []))
    assert r.exit_code == 0, r.output
    graph = loader.load(str(out)).graph
    nodes, inbound, entries = EXPECTED[name]
    assert list(graph.nodes) == list(nodes)
    for task, (action, items, concurrency, join, transitions) in nodes.items():
        node = graph.nodes[task]
        assert (node.action, node.with_items, node.concurrency, node.join) == (action, items, concurrency, join), task
        assert [(t.kind, t.do) for t in node.transitions] == transitions, task
        assert set(node.inbound) == set(inbound[task]), task
    assert graph.entry_points == entries


def test_legacy_publish_goes_to_the_first_succeeded_transition(tmp_path):
    out = tmp_path / "s.yaml"
    assert run_import(str(DATA / "legacy.yaml"), "-o", str(out)).exit_code == 0
    fetch = loader.load(str(out)).graph.nodes["fetch"]
    assert fetch.transitions[0].publish == (("payload", "{{ result() }}"),)
    assert all(not t.publish for t in fetch.transitions[1:])


def test_template_with_items_uses_the_stated_default(tmp_path):
    out = tmp_path / "s.yaml"
    r = run_import(str(DATA / "standalone.yaml"), "-o", str(out))
    assert r.exit_code == 0
    assert loader.load(str(out)).graph.nodes["process_items"].with_items == 3
    assert "--items process_items=N" in r.stderr
    assert "default 3" in CliRunner().invoke(cli, ["import", "--help"]).output


def test_unsupported_constructs_are_named_on_stderr(tmp_path):
    out = tmp_path / "s.yaml"
    r = run_import(str(DATA / "unsupported.yaml"), "-o", str(out))
    assert r.exit_code == 0, r.stderr
    for construct in (
        "retry",
        "timeout",
        "type: parallel",
        "parallel task",
        "nested workflow",
        "output_map",
        "cancellation_policy",
    ):
        assert construct in r.stderr, construct
    assert "'{{ result().ready }}' is not evaluated" in r.stderr
    graph = loader.load(str(out)).graph
    assert graph.nodes["fanout"].action is None  # attune dispatches nothing for a parallel task


def test_bad_items_option_and_unknown_task_exit_2(tmp_path):
    for args in (["--items", "process_items"], ["--items", "nosuch=4"], ["--items", "process_items=-1"]):
        r = run_import(str(DATA / "standalone.yaml"), "-o", str(tmp_path / "s.yaml"), *args)
        assert r.exit_code == 2, args
        assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s.yaml").exists()


def test_output_is_written_atomically_and_runs(tmp_path):
    out = tmp_path / "deploy.yaml"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "racesim.cli",
            "import",
            str(DATA / "pack/actions/deploy.yaml"),
            "-o",
            str(out),
            "--items",
            "announce=4",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["deploy.yaml"]  # no temp file left behind
    r = subprocess.run(
        [sys.executable, "-m", "racesim.cli", "run", str(out), "--runs", "5", "--json"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
