"""Corpus test: racesim's loader gives every workflow file of attune's repository and docs the
verdict attune's own parser gives it (tests/data/attune/SOURCES.md lists origins and reasons).

The expected verdicts were worked out by reading attune's parser at each modelled commit
(parser.rs: typed decoding, legacy normalisation, field limits, structure checks), not by
running racesim; a change in racesim's loader that disagrees with them fails here."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from racesim.scenarios import attune_parser

from racesim.cli import cli

DATA = Path(__file__).parent / "data" / "attune"
U = "upstream/"
ALL = ("PRE", "FIX", "F93", "HEAD")
FROM_FIX = ("FIX", "F93", "HEAD")

# file -> (versions that accept it, (line, words of HEAD's reason) or None, lenient outcome)
# lenient outcome: "same" (HEAD accepts), "imported", or (line, words of the reason) still refused.
CORPUS = {
    U + "docs/examples/simple-workflow.yaml": (ALL, None, "same"),
    U + "docs/examples/complete-workflow.yaml": ((), (114, "expected true or false"), (236, "'handle_canary_failure'")),
    U + "packs/core/workflows/install_packs.yaml": ((), (59, "expected a mapping, got a list"), "imported"),
    U + "tests/fixtures/packs/test_pack/workflows/simple_workflow.yaml": ((), (15, "expected a mapping"), "imported"),
    U + "docs-md/agent-personas__pack-architect-L247.yaml": ((), (3, "expected a mapping, got a list"), "imported"),
    U + "docs-md/agent-personas__workflow-author-L112.yaml": (FROM_FIX, None, "same"),
    U + "docs-md/api__api-pack-installation-L393.yaml": ((), (12, "mapping of task names"), (33, "'fail'")),
    U + "docs-md/workflows__workflow-orchestration-L25.yaml": (FROM_FIX, None, "same"),
    U + "docs-md/workflows__workflow-summary-L290.yaml": ((), (37, "'cleanup' is not a task"), (37, "'cleanup'")),
    # racesim's own test files (attune's rules apply to them too)
    "standalone.yaml": (FROM_FIX, None, "same"),
    "legacy.yaml": (FROM_FIX, None, "same"),  # no ref: PRE required one
    "unsupported.yaml": (FROM_FIX, None, "same"),
    "pack/actions/deploy.yaml": (FROM_FIX, None, "same"),
}


def test_the_corpus_is_every_file_committed():
    on_disk = {str(p.relative_to(DATA)) for p in DATA.rglob("*.yaml")} - {"pack/actions/workflows/deploy.workflow.yaml"}
    assert on_disk == set(CORPUS)


@pytest.mark.parametrize("name", list(CORPUS))
def test_each_modelled_version_gives_attunes_verdict(name):
    accepted, head_reason, lenient = CORPUS[name]
    path = DATA / name
    try:
        loaded, _ = attune_parser.load_file(path)
    except attune_parser.Rejection as exc:
        assert head_reason is not None, f"racesim refuses a file attune accepts: {exc.line_text()}"
        line, words = head_reason
        assert (exc.line, words in exc.reason) == (line, True), exc.line_text()
        assert exc.source == str(path)
    else:
        assert head_reason is None, "racesim accepts a file attune refuses"
        assert tuple(v for v, _ in attune_parser.VERSIONS if v not in loaded.refused_by) == accepted
    if lenient == "same":
        return
    try:
        loaded, _ = attune_parser.load_file(path, lenient=True)
    except attune_parser.Rejection as exc:
        assert lenient != "imported", exc.line_text()
        line, words = lenient
        assert (exc.line, words in exc.reason) == (line, True), exc.line_text()
    else:
        assert lenient == "imported"
        assert loaded.lenient and not loaded.loads_in_head


@pytest.mark.parametrize("name", list(CORPUS))
def test_racesim_import_agrees(name, tmp_path):
    accepted, head_reason, lenient = CORPUS[name]
    out = tmp_path / "s.yaml"
    r = CliRunner().invoke(cli, ["import", str(DATA / name), "-o", str(out)])
    if head_reason is None:
        assert r.exit_code == 0, r.stderr
        assert out.is_file()
        return
    assert r.exit_code == 2 and not out.exists()
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    line, words = head_reason
    assert lines[0].startswith(f"{DATA / name}:{line}: ")  # the INPUT file and line, not the output's
    assert "attune HEAD rejects this file" in lines[0] and words in lines[0] and "(fix: " in lines[0]
    r = CliRunner().invoke(cli, ["import", str(DATA / name), "-o", str(out), "--lenient"])
    if lenient == "imported":
        assert r.exit_code == 0, r.stderr
        assert "attune HEAD would reject this file: " in r.stderr
    else:
        assert r.exit_code == 2 and not out.exists()


def test_counts():
    head = sum(1 for a, _, _ in CORPUS.values() if "HEAD" in a)
    lenient = sum(1 for _, _, x in CORPUS.values() if x == "imported")
    upstream = [k for k in CORPUS if k.startswith(U)]
    assert (len(upstream), head, len(CORPUS) - head, lenient) == (9, 7, 6, 3)
