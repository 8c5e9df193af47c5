"""The one output layer (racesim.sim.output) and every command's use of it: paths checked
before any work, atomic writes only over regular files, modes from the umask, a 'wrote' line."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from racesim.sim import output

from racesim.cli import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_exit_2(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture
def no_work(monkeypatch):
    """Any sweep or single run after a bad output path would be work done for nothing."""

    def refuse(*a, **k):
        raise AssertionError("work started before the output paths were checked")

    for module in ("racesim.commands.run", "racesim.commands.explore"):
        monkeypatch.setattr(f"{module}.run_sweeps", refuse)
        monkeypatch.setattr(f"{module}.run_one", refuse)


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


# ---- the library ---------------------------------------------------------------------------------
def test_new_file_mode_comes_from_the_umask(tmp_path, umask_027):
    target = output.write_text(tmp_path / "a.txt", "x")
    assert stat.S_IMODE(target.real.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temp file left behind"


def test_replacing_keeps_the_files_mode(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("old")
    f.chmod(0o604)
    output.write_text(f, "new")
    assert f.read_text() == "new" and stat.S_IMODE(f.stat().st_mode) == 0o604


def test_symlink_to_a_regular_file_is_written_through(tmp_path):
    real = tmp_path / "real.html"
    real.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    target = output.write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert "through the symlink" in target.describe()


@pytest.mark.parametrize("kind", ["directory", "fifo", "socket", "chardev", "dangling", "link-to-fifo"])
def test_only_regular_files_are_replaced(tmp_path, kind):
    p = tmp_path / "out"
    if kind == "directory":
        p.mkdir()
    elif kind == "fifo":
        os.mkfifo(p)
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(p))
        s.close()
    elif kind == "chardev":
        if os.geteuid() != 0:
            pytest.skip("mknod needs root")
        os.mknod(p, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    elif kind == "dangling":
        p.symlink_to(tmp_path / "missing")
    else:
        os.mkfifo(tmp_path / "fifo")
        p.symlink_to(tmp_path / "fifo")
    before = os.lstat(p)
    with pytest.raises(output.OutputError):
        output.write_text(p, "x")
    after = os.lstat(p)
    assert (before.st_ino, before.st_mode) == (after.st_ino, after.st_mode)


def test_read_only_file_is_refused_even_for_root(tmp_path):
    f = tmp_path / "ro.json"
    f.write_text("keep")
    f.chmod(0o444)
    with pytest.raises(output.OutputError, match="read-only"):
        output.write_text(f, "x")
    assert f.read_text() == "keep" and stat.S_IMODE(f.stat().st_mode) == 0o444


def test_missing_parent_is_an_error_and_is_not_created(tmp_path):
    with pytest.raises(output.OutputError, match="does not exist"):
        output.check_file(tmp_path / "no" / "dir" / "x.json", "-o")
    assert not (tmp_path / "no").exists()


# ---- every command, before any work ---------------------------------------------------------------
def bad_paths(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_text("x")
    ro = tmp_path / "ro.html"
    ro.write_text("keep")
    ro.chmod(0o444)
    return {
        "directory": str(tmp_path / "dir"),
        "dot": ".",
        "missing parent": str(tmp_path / "nonexistent" / "dir" / "x.html"),
        "fifo": str(tmp_path / "fifo"),
        "read-only": str(ro),
        "unwritable directory": "/proc/sys/x.html",
    }


@pytest.mark.parametrize(
    "command",
    [
        ["run", "with-items-fanin", "--runs", "5", "--html"],
        ["run", "with-items-fanin", "--runs", "5", "--trace-json"],
        ["matrix", "with-items-fanin", "--runs", "5", "--html"],
        ["matrix", "with-items-fanin", "--runs", "5", "--trace-json"],
        ["explore", "with-items-fanin", "--runs", "5", "--html"],
        ["check", "with-items-fanin", "--runs", "5", "--junit"],
    ],
)
def test_unusable_output_file_is_one_line_before_any_work(tmp_path, command, no_work, monkeypatch):
    monkeypatch.setattr("racesim.commands.check.evaluate", lambda *a, **k: pytest.fail("check ran"))
    for why, path in bad_paths(tmp_path).items():
        before = sorted(p.name for p in tmp_path.rglob("*"))
        line = one_line_exit_2(invoke(*command, path))
        assert line.startswith("racesim: error: ") and path in line, (why, line)
        assert sorted(p.name for p in tmp_path.rglob("*")) == before, why
    assert (tmp_path / "ro.html").read_text() == "keep"


def test_save_failing_onto_an_existing_file_or_under_a_missing_parent(tmp_path, no_work):
    (tmp_path / "file").write_text("x")
    for cmd in ("run", "explore"):
        line = one_line_exit_2(invoke(cmd, "with-items-fanin", "--runs", "5", "--save-failing", str(tmp_path / "file")))
        assert "not a directory" in line
        line = one_line_exit_2(invoke(cmd, "with-items-fanin", "--runs", "5", "--save-failing", str(tmp_path / "a" / "b")))
        assert "does not exist" in line and not (tmp_path / "a").exists()


def test_two_options_naming_one_file_are_refused(tmp_path, no_work):
    f = str(tmp_path / "same")
    line = one_line_exit_2(invoke("run", "with-items-fanin", "--runs", "5", "--html", f, "--trace-json", f))
    assert "name the same file" in line


@pytest.fixture(scope="module")
def failing_schedule(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sched")
    r = invoke("run", "with-items-fanin", "--guards", "none", "--runs", "6", "--save-failing", str(d))
    assert r.exit_code == 0, r.output
    return sorted(d.glob("*.json"))[0]


def test_shrink_and_replay_check_their_outputs_first(tmp_path, failing_schedule, monkeypatch):
    monkeypatch.setattr("racesim.commands.explore.replay_file", lambda *a: pytest.fail("replayed before the check"))
    assert "directory" in one_line_exit_2(invoke("shrink", str(failing_schedule), "-o", "."))
    missing = tmp_path / "nonexistent" / "dir" / "x.json"
    assert "does not exist" in one_line_exit_2(invoke("shrink", str(failing_schedule), "-o", str(missing)))
    assert not (tmp_path / "nonexistent").exists()
    assert "directory" in one_line_exit_2(invoke("replay", str(failing_schedule), "--html", str(tmp_path)))


def test_import_output_checked_before_importing(tmp_path):
    src = Path(__file__).parent / "data"
    workflow = next(iter(sorted(src.rglob("*.yaml"))), None)
    if workflow is None:
        pytest.skip("no workflow fixture")
    line = one_line_exit_2(invoke("import", str(workflow), "-o", str(tmp_path / "none" / "x.yaml")))
    assert "does not exist" in line


# ---- modes, and the 'wrote' line ------------------------------------------------------------------
def test_written_files_take_the_umask_and_are_announced(tmp_path, failing_schedule, umask_027):
    html = tmp_path / "r.html"
    trace = tmp_path / "t.json"
    saved = tmp_path / "saved"
    r = invoke(
        "run", "with-items-fanin", "--guards", "none", "--runs", "6",
        "--html", str(html), "--trace-json", str(trace), "--save-failing", str(saved),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    shrunk = tmp_path / "small.json"
    s = invoke("shrink", str(failing_schedule), "-o", str(shrunk), "--max-runs", "50")
    assert s.exit_code == 0, s.output
    files = [html, trace, shrunk, *saved.glob("*.json")]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o640, f
    for f in (html, trace):
        assert f"wrote {f}" in r.stderr
    assert f"wrote {shrunk}" in s.stderr


def test_trace_json_with_no_failing_run_says_so(tmp_path):
    trace = tmp_path / "t.json"
    r = invoke("run", "with-items-fanin", "--guards", "serialized", "--runs", "3", "--trace-json", str(trace))
    assert r.exit_code == 0 and not trace.exists()
    assert "not written, no run failed" in r.stderr


def test_html_report_written_through_a_symlink(tmp_path):
    real = tmp_path / "real.html"
    real.write_text("")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    r = invoke("run", "with-items-fanin", "--guards", "none", "--runs", "3", "--html", str(link))
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and real.read_text().lstrip().startswith("<")
    assert "through the symlink" in r.stderr


def test_saved_schedule_is_valid_json(failing_schedule):
    assert json.loads(failing_schedule.read_text())["format"] == "racesim-schedule/1"
