"""Single rules of attune's parser, each shown refused (or accepted) on a small file."""

from pathlib import Path

import pytest
from racesim.scenarios import attune_parser

HEADER = 'version: "1.0"\n'
OK_TASKS = "tasks:\n  - name: a\n    action: p.a\n"


def load(tmp_path: Path, text: str, lenient: bool = False) -> attune_parser.Loaded:
    path = tmp_path / "wf.yaml"
    path.write_text(text)
    return attune_parser.load_file(path, lenient=lenient)[0]


def refused(tmp_path: Path, text: str) -> attune_parser.Rejection:
    with pytest.raises(attune_parser.Rejection) as exc:
        load(tmp_path, text)
    return exc.value


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        (
            "tasks:\n  - name: a\n    action: p.a\n    next:\n      - do: b\n  - name: b\n    action: p.b\n",
            6,
            "list of task names",
        ),
        ("tasks:\n  - name: a\n    action: p.a\n    with_items: [1, 2]\n", 5, "literal list"),
        ("tasks:\n  - name: a\n    action: p.a\n    on_success: [b]\n  - name: b\n    action: p.b\n", 5, "one task name"),
        ("tasks:\n  - name: a\n    on_success: a\n", 3, "names none"),
        ("tasks:\n  - name: a\n    type: parallel\n", 3, "no sub-tasks"),
        ("tasks:\n  - name: a\n    action: p.a\n    concurrency: '3'\n", 5, "whole number"),
        ("tasks:\n  - name: a\n    action: p.a\n    retry: {count: 3}\n", 5, "'delay'"),
        ("tasks:\n  - name: a\n    action: p.a\n    retry: {count: 0, delay: 1}\n", 5, "1 to 100"),
        ("tasks:\n  - name: a\n    action: p.a\n    type: script\n", 5, "unknown value"),
        ("tasks: []\n", 2, "at least one task"),
        ("tasks:\n  - name: a\n    action: p.a\n    next:\n      - do: [nope]\n", 6, "'nope' is not a task"),
    ],
)
def test_head_refuses_with_the_input_line(tmp_path, body, line, words):
    exc = refused(tmp_path, HEADER + body)
    assert exc.line == line and words in exc.reason, exc.line_text()
    assert exc.line_text().startswith(f"{tmp_path / 'wf.yaml'}:{line}: ")


def test_missing_version_and_unknown_fields(tmp_path):
    assert "'version'" in refused(tmp_path, OK_TASKS).reason
    loaded = load(tmp_path, HEADER + "metadata: {x: 1}\n" + OK_TASKS + "    colour: blue\n")  # ignored, as serde does
    assert loaded.loads_in_head


def test_legacy_fields_are_ignored_when_next_is_given_even_with_bad_targets(tmp_path):
    text = HEADER + OK_TASKS + "    on_success: nowhere\n    next:\n      - do: [b]\n  - name: b\n    action: p.b\n"
    wf = load(tmp_path, text).workflow
    assert [t.do for t in wf.tasks[0].next] == [["b"]] and wf.tasks[0].discarded == ["on_success"]


def test_publish_values_must_be_text_before_the_fix(tmp_path):
    text = "ref: p.w\nlabel: w\n" + HEADER + OK_TASKS + "    publish:\n      - flag: true\n      - name\n"
    loaded = load(tmp_path, text)
    assert set(loaded.refused_by) == {"PRE"} and loaded.refused_by["PRE"].line == 8
    publish = loaded.workflow.tasks[0].next[0]
    assert (publish.when, publish.publish, publish.do) == ("{{ succeeded() }}", [{"flag": True}, "name"], None)


def test_ref_and_label_required_only_before_the_fix(tmp_path):
    loaded = load(tmp_path, HEADER + OK_TASKS)
    assert list(loaded.refused_by) == ["PRE"] and "'ref'" in loaded.refused_by["PRE"].reason


def test_cancellation_policy_is_checked_from_f93(tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text("ref: p.w\nlabel: w\n" + HEADER + "cancellation_policy: later\n" + OK_TASKS)
    with pytest.raises(attune_parser.Rejection):
        attune_parser.load_file(path)
    node = attune_parser.read_node(path, "wf.yaml")
    for version in ("PRE", "FIX"):  # before f93e922 the field was unknown, so ignored
        attune_parser.parse(node, "wf.yaml", version)
    with pytest.raises(attune_parser.Rejection, match="allow_finish"):
        attune_parser.parse(node, "wf.yaml", "F93")


def test_lenient_reads_older_layouts_and_says_so(tmp_path):
    text = (
        HEADER
        + "tasks:\n  a:\n    action: p.a\n    on-success:\n      - b\n    on_failure: c\n"
        + "  b:\n    action: p.b\n  c:\n    action: p.c\n"
    )
    assert "mapping of task names" in refused(tmp_path, text).reason
    loaded = load(tmp_path, text, lenient=True)
    assert not loaded.loads_in_head and len(loaded.lenient) == 3
    a = loaded.workflow.tasks[0]
    assert [(t.when, t.do) for t in a.next] == [("{{ succeeded() }}", ["b"]), ("{{ failed() }}", ["c"])]


def test_action_linked_file_must_stay_in_the_pack(tmp_path):
    actions = tmp_path / "pack" / "actions"
    actions.mkdir(parents=True)
    (tmp_path / "outside.yaml").write_text(HEADER + OK_TASKS)
    (actions / "a.yaml").write_text("ref: p.a\nworkflow_file: ../../outside.yaml\n")
    with pytest.raises(attune_parser.Rejection) as exc:
        attune_parser.load_file(actions / "a.yaml")
    assert "outside the pack" in exc.value.reason and exc.value.line == 2
