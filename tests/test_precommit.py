"""The repository carries a pre-commit configuration whose hooks are local (no download) and
run the checks CI relies on: ruff, ruff format, and the type check script."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".pre-commit-config.yaml"


def test_hooks_are_local_and_cover_lint_format_and_types() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert [r["repo"] for r in config["repos"]] == ["local"]
    entries = {h["id"]: h["entry"] for r in config["repos"] for h in r["hooks"]}
    assert entries["ruff"].startswith("ruff check")
    assert entries["ruff-format"].startswith("ruff format --check")
    assert entries["mypy"] == "bash .ci/typecheck.sh" and (ROOT / ".ci" / "typecheck.sh").is_file()


@pytest.mark.skipif(shutil.which("pre-commit") is None, reason="pre-commit is not installed")
def test_pre_commit_accepts_the_config() -> None:
    proc = subprocess.run(["pre-commit", "validate-config", str(CONFIG)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
