"""The step map covers every label the models use, its racesim refs resolve to code that names
the step, its attune refs are well-formed, and docs/step-map.md is generated from it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from racesim.engine.runner import config_for, run_one
from racesim.models import step_map
from racesim.models.guards import NAMED_SETS, Guards
from racesim.scenarios import loader

ROOT = Path(step_map.__file__).resolve().parent.parent
MODELS = ROOT / "models"
NOT_MODEL_CODE = {"step_map.py", "__init__.py"}


def labels_in_source(source: str) -> set[str]:
    """Every string constant that is a step label (docstrings excluded)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and step_map.LABEL_PATTERN.match(node.value)
    }


def model_labels() -> set[str]:
    found: set[str] = set()
    for path in sorted(MODELS.glob("*.py")):
        if path.name not in NOT_MODEL_CODE:
            found |= labels_in_source(path.read_text())
    return found


def test_scanner_finds_a_planted_label_and_ignores_docstrings():
    source = '"""P99 in a docstring."""\ndef f():\n    """H98 too."""\n    yield Op("Q7\'", 1)\n    x = "completed"\n'
    assert labels_in_source(source) == {"Q7'"}


def test_every_label_in_the_models_has_an_entry():
    labels = model_labels()
    assert {"P6e", "F2", "H21", "D5'", "W6", "S4", "L4"} <= labels  # the scan sees real labels
    missing = sorted(labels - set(step_map.BY_LABEL))
    assert not missing, f"labels used by models/ but missing from models/step_map.py: {missing}"


def test_every_label_a_run_records_has_an_entry():
    seen: set[str] = set()
    for path in loader.catalog():
        scenario = loader.load(str(path))
        for name in NAMED_SETS:
            output = run_one(config_for(scenario, Guards.parse(name)), seed=1, record=True).output
            seen |= {record[2] for record in output.records}
    assert {"P2", "H4", "F2", "D5'", "W8", "S2"} <= seen
    missing = sorted(seen - set(step_map.BY_LABEL))
    assert not missing, f"labels recorded in traces but missing from the step map: {missing}"


@pytest.mark.parametrize("label", step_map.labels())
def test_racesim_refs_point_at_code_naming_the_step(label):
    for target in step_map.step(label).racesim:
        ref = step_map.racesim_ref(label, target)
        assert ref is not None
        line = (ROOT / ref.path).read_text().splitlines()[ref.line - 1]
        assert re.search(r"(?<![A-Za-z0-9_'])" + re.escape(label) + r"(?![A-Za-z0-9_'])", line), (ref, line)


def test_a_stale_target_is_reported_not_silently_mapped_to_its_def():
    with pytest.raises(LookupError, match="does not name step 'P6e'"):
        step_map.racesim_ref("P6e", "racesim.models.worker:run_execution")


def test_unmodelled_steps_say_so():
    unmodelled = [s.label for s in step_map.STEPS if not s.racesim]
    for label in unmodelled:
        ref = step_map.lookup(label, step_map.step(label).versions[0])
        assert ref.racesim is None and ref.racesim_ref is None


def test_attune_spans_are_well_formed():
    for entry in step_map.STEPS:
        assert entry.summary and entry.summary[-1] == ".", entry.label
        assert set(entry.attune) <= set(step_map.VERSIONS), entry.label
        assert entry.versions, f"{entry.label} exists in no version"
        for spans in entry.attune.values():
            assert spans
            for span in spans:
                assert 1 <= span.start <= span.end, (entry.label, span)
                assert span.path.startswith("crates/") and span.path.endswith(".rs"), span.path


def test_commits_are_full_shas_matching_their_short_names():
    for version, (name, sha) in step_map.COMMITS.items():
        assert re.fullmatch(r"[0-9a-f]{40}", sha)
        assert name.split()[1] == sha[:7]
        assert step_map.normalise_version(sha[:7]) == version


def test_lookup_cites_the_commit_line_and_permalink():
    ref = step_map.lookup("P6e", "pre")
    assert ref.exists and ref.version == "pre"
    assert ref.attune_ref == "crates/executor/src/scheduler.rs:987-1010"
    assert ref.attune_url == (
        "https://github.com/AndroxxTraxxon/attune/blob/b54aa3ec26b32ae822168b96dbcf93bf14dfbadd"
        "/crates/executor/src/scheduler.rs#L987-L1010"
    )
    assert ref.racesim_ref is not None and ref.racesim_ref.startswith("models/advance.py:")
    assert step_map.lookup("F2", "head").exists is False  # Layer 2 is gone at HEAD
    assert step_map.lookup("F1", "pre").attune is None  # and Layer 1 did not exist before FIX
    assert step_map.lookup("W6", "serialized").version == "f93"


def test_guard_set_names_map_to_versions_only_when_they_are_one():
    assert step_map.version_for("serialized") == "f93"
    assert step_map.version_for("head+recovery") == "head"
    assert step_map.version_for("head+no-reconcile") is None  # an ablation is no released version
    assert step_map.version_for("layer1") is None
    assert step_map.version_for("lock+dedupe") is None
    for version in step_map.VERSIONS:
        assert step_map.version_for(version) == version
        assert version in NAMED_SETS  # the models name the same four versions


def test_a_run_s_guards_map_to_the_version_whose_lines_describe_it():
    for version in step_map.VERSIONS:
        assert step_map.version_of(Guards.parse(version)) == version
    assert step_map.version_of(Guards.parse("serialized")) == "f93"
    assert step_map.version_of(Guards.parse("head+recovery")) == "head"
    assert step_map.version_of(Guards.parse("head+no-reconcile")) == "head"
    assert step_map.version_of(Guards.parse("f93+reconcile")) == "head"
    assert step_map.version_of(Guards.parse("lock+dedupe")) == "f93"
    assert step_map.version_of(Guards.parse("layer1")) == "fix"
    assert step_map.version_of(Guards.parse("none")) == "pre"


def test_unknown_label_or_version_is_an_error():
    with pytest.raises(KeyError):
        step_map.lookup("P99", "pre")
    with pytest.raises(ValueError, match="unknown version"):
        step_map.lookup("P6e", "v2")


def test_anchors_are_unique_and_present_in_the_doc():
    anchors = [step_map.anchor(label) for label in step_map.labels()]
    assert len(set(anchors)) == len(anchors)
    assert step_map.anchor("D5'") == "step-d5-prime" and step_map.anchor("D5") == "step-d5"
    assert step_map.doc_link("P6e") == "docs/step-map.md#step-p6e"
    doc = step_map.render_markdown()
    for anchor in anchors:
        assert f'<a id="{anchor}"></a>' in doc


def test_committed_step_map_doc_is_up_to_date():
    committed = (ROOT / "docs" / "step-map.md").read_text()
    assert committed == step_map.render_markdown(), (
        "docs/step-map.md is stale: python -m racesim.models.step_map --markdown > docs/step-map.md"
    )


def test_main_renders_markdown_and_rejects_other_arguments(capsys):
    assert step_map.main(["--markdown"]) == 0
    assert capsys.readouterr().out.startswith("# Step map")
    assert step_map.main(["--html"]) == 2


DOCS = ("docs/model.md", "docs/step-map.md")


@pytest.mark.parametrize("doc", DOCS)
def test_doc_links_stay_inside_the_repository_and_anchors_exist(doc):
    text = (ROOT / doc).read_text()
    anchors = {step_map.anchor(label) for label in step_map.labels()}
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith("https://"):
            assert target.startswith(step_map.ATTUNE_REPO), target
            continue
        path, _, fragment = target.partition("#")
        resolved = (ROOT / doc).parent / path if path else ROOT / doc
        assert resolved.resolve().is_relative_to(ROOT), f"{doc} links outside the repository: {target}"
        assert resolved.exists(), f"{doc} links a missing file: {target}"
        if resolved.name == "step-map.md" and fragment:
            assert fragment in anchors, f"{doc} links a missing step anchor: {target}"


def test_model_doc_names_every_mapped_step_label():
    text = (ROOT / "docs" / "model.md").read_text()
    linked = set(re.findall(r"step-map\.md#(step-[a-z0-9-]+)", text))
    missing = sorted(label for label in step_map.labels() if step_map.anchor(label) not in linked)
    assert not missing, f"docs/model.md does not link these steps: {missing}"
