"""Hypothesis mutates valid scenario files; every mutant is refused with exit 2 and exactly one
stderr line naming the file, never a traceback. Also: nothing in a scenario is ever evaluated."""

import copy
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from racesim.models.graph import CUSTOM, classify_when
from racesim.scenarios import loader

from racesim.cli import cli

SEEDS = [yaml.safe_load(p.read_text()) for p in loader.catalog()]
WORKDIR = Path(tempfile.mkdtemp(prefix="racesim-fuzz-"))

WRONG = st.one_of(
    st.text(max_size=20).map(lambda s: "x" + s),
    st.integers(min_value=10**7, max_value=10**40),
    st.integers(max_value=-1),
    st.floats(allow_nan=False).filter(lambda f: f != int(f) if f == f and abs(f) != float("inf") else True),
    st.just(float("inf")),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.just("k"), st.integers(), min_size=1),
    st.booleans(),
    st.none(),
)


def _tasks(data):
    return data["workflow"]["tasks"]


@st.composite
def bad_value(draw, data):
    """Put a value that breaks the schema where the schema types it strictly."""
    tasks = _tasks(data)
    i = draw(st.integers(0, len(tasks) - 1))
    task = tasks[i]
    slot = draw(
        st.sampled_from(["runs", "items", "concurrency", "join", "replicas", "dist", "fault", "guards", "finding", "target"])
    )
    if slot == "runs":
        data["runs"] = draw(
            st.one_of(WRONG, st.just(0), st.just(10**6)).filter(lambda v: not (type(v) is int and 1 <= v <= 100_000))
        )
    elif slot == "items":
        task["with_items"] = draw(
            st.one_of(st.text(min_size=1, max_size=9), st.integers(10**4 + 1, 10**30), st.integers(max_value=-1))
        )
    elif slot == "concurrency":
        task["concurrency"] = draw(
            st.one_of(st.just(0), st.text(min_size=1, max_size=5), st.lists(st.integers(), max_size=2), st.just(1.5))
        )
    elif slot == "join":
        task["join"] = draw(st.one_of(st.just(0), st.just(True), st.text(min_size=1, max_size=5), st.integers(max_value=-1)))
    elif slot == "replicas":
        data["deployment"] = {"replicas": draw(st.one_of(st.just(0), st.integers(65, 10**30), st.text(max_size=4), st.none()))}
    elif slot == "dist":
        data["timing"] = {"db_latency": {"dist": draw(st.sampled_from(["gauss", "uniform", "exponential"])), "mean": -1}}
    elif slot == "fault":
        data["faults"] = {"db-error": draw(st.one_of(st.floats(1.01, 1e300), st.floats(-1e300, -0.01), st.text(max_size=3)))}
    elif slot == "guards":
        data["expect"] = [{"guards": draw(st.sampled_from(["bogus", "both+nope", "", "lock+"])), "duplicates": 0}]
    elif slot == "finding":
        data["expect"] = [
            {"guards": "both", "duplicates": draw(st.one_of(st.integers(1, 10**9), st.just("many"), st.just(True)))}
        ]
    else:
        task["next"] = [{"do": ["no_such_task_" + draw(st.text(alphabet="abc", max_size=4))]}]
    return data


@st.composite
def mutant(draw) -> bytes:
    data = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    kind = draw(st.sampled_from(["value", "missing", "unknown", "yaml", "binary", "control"]))
    if kind == "value":
        data = draw(bad_value(data))
    elif kind == "missing":
        victim = draw(st.sampled_from(["workflow", "tasks", "name", "guards"]))
        if victim == "workflow":
            del data["workflow"]
        elif victim == "tasks":
            del data["workflow"]["tasks"]
        elif victim == "name":
            del _tasks(data)[draw(st.integers(0, len(_tasks(data)) - 1))]["name"]
        else:
            data["expect"] = [{"duplicates": 0}]
    elif kind == "unknown":
        key = "x_" + draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=12))
        where = draw(st.sampled_from(["top", "workflow", "task", "deployment", "expect", "timing"]))
        target = {
            "top": data,
            "workflow": data["workflow"],
            "task": _tasks(data)[0],
            "deployment": data.setdefault("deployment", {}),
            "expect": data["expect"][0],
            "timing": data.setdefault("timing", {}),
        }[where]
        target[key] = draw(st.integers())
    text = yaml.safe_dump(data, sort_keys=False).encode()
    if kind == "yaml":
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + b'\n"unterminated ' + draw(st.binary(max_size=8).filter(lambda b: b'"' not in b and b"\\" not in b))
        try:  # the tail can close what the cut opened (a quote, a block scalar): then it is valid YAML
            yaml.safe_load(text)
        except Exception:
            pass
        else:
            assume(False)
    elif kind == "binary":
        text = draw(st.binary(max_size=200))
    elif kind == "control":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from([b"\x00", b"\x07", b"\x1b", b"\xff\xfe"])) + text[at:]
    return text


COUNTER = iter(range(10**9))


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutant())
def test_mutated_scenario_is_refused_with_one_line(content):
    path = WORKDIR / f"mutant{next(COUNTER)}.yaml"
    path.write_bytes(content)
    r = CliRunner().invoke(cli, ["validate", str(path)])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 2, (r.output, content[:300])
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"{path}:"), lines[0]
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_hostile_files_in_real_processes(tmp_path):
    cases = {
        "billion-laughs.yaml": b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
        "deep.yaml": b"workflow: " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "huge.yaml": b"name: x\n" + b"# padding\n" * 120_000,
        "python-tag.yaml": b"workflow: !!python/object/apply:os.system ['touch /tmp/racesim-pwned']\n",
        "garbage.yaml": bytes(range(256)),
        "huge-int.yaml": b"runs: " + b"9" * 5000 + b"\nworkflow: {tasks: [{name: a}]}\n",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        r = subprocess.run(
            [sys.executable, "-m", "racesim.cli", "validate", str(path)], capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 2, (name, r.stderr)
        assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith(f"{path}:"), (name, r.stderr)
        assert "Traceback" not in r.stderr
    assert not Path("/tmp/racesim-pwned").exists()


def test_validate_prints_ok_per_good_file():
    paths = [str(p) for p in loader.catalog()]
    r = CliRunner().invoke(cli, ["validate", *paths])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [f"{p}: ok" for p in paths]


def test_unknown_field_gets_a_did_you_mean_hint(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("workflow:\n  tasks:\n    - name: a\n      action: x.y\n      concurency: 3\n")
    r = CliRunner().invoke(cli, ["validate", str(path)])
    assert r.exit_code == 2
    assert r.stderr.strip() == f"{path}:5: workflow.tasks[0].concurency: unknown field 'concurency' (did you mean 'concurrency'?)"


def test_no_expression_is_ever_evaluated(tmp_path):
    sentinel = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {sentinel}')"
    path = tmp_path / "evil.yaml"
    path.write_text(
        f"""
name: evil
workflow:
  ref: "{{{{ __import__('os').getpid() }}}}"
  tasks:
    - name: a
      action: demo.a
      next:
        - when: "{{{{ {payload} }}}}"
          publish:
            - out: "{{{{ {payload} }}}}"
          do: [b]
        - when: "{{{{ succeeded() and {payload} }}}}"
          do: [b]
    - name: b
      action: "__import__('os').abort()"
runs: 3
"""
    )
    sc = loader.load(str(path))
    first, second = sc.graph.nodes["a"].transitions
    assert first.kind == CUSTOM and first.when == f"{{{{ {payload} }}}}"  # kept as text
    assert second.kind == classify_when("{{ succeeded() }}")
    assert first.publish == (("out", f"{{{{ {payload} }}}}"),)
    r = subprocess.run(
        [sys.executable, "-m", "racesim.cli", "run", str(path), "--runs", "3", "--json"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert not sentinel.exists()
