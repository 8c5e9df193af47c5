"""Layers point only down: models <- sim <- scenarios <- engine <- analysis <- reports, live <- CLI.

Every import in every module (including imports inside functions) is checked against the
layer of the module that makes it. A layer may import its own package and any lower layer;
reports and live sit side by side and do not import each other; nothing below the CLI imports
``racesim.cli``, ``racesim.commands`` or ``racesim.options``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"models": 0, "sim": 1, "scenarios": 2, "engine": 3, "analysis": 4, "reports": 5, "live": 5, "cli": 6}
CLI_MODULES = ("racesim.cli", "racesim.commands", "racesim.options", "racesim.pytest_plugin")


def _package_of(path: Path) -> str:
    top = path.relative_to(ROOT).parts[0]
    return "cli" if top == "racesim" else top


def _layer_of_import(name: str) -> str | None:
    """The layer an absolute ``racesim.*`` import reaches, or None for third-party modules."""
    parts = name.split(".")
    if parts[0] != "racesim" or len(parts) == 1:
        return None
    if name.startswith(CLI_MODULES):
        return "cli"
    return parts[1] if parts[1] in LAYERS else None


def _imports(path: Path) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            if node.module == "racesim":
                out.extend((node.lineno, f"racesim.{a.name}") for a in node.names)
    return out


def _library_modules() -> list[Path]:
    return sorted(p for top in LAYERS if top != "cli" and (ROOT / top).is_dir() for p in (ROOT / top).rglob("*.py")) + sorted(
        (ROOT / "racesim").rglob("*.py")
    )


def test_every_import_points_down():
    violations = []
    for path in _library_modules():
        own = _package_of(path)
        for line, name in _imports(path):
            target = _layer_of_import(name)
            if target is None or target == own:
                continue
            same_floor = LAYERS[target] == LAYERS[own]
            if LAYERS[target] > LAYERS[own] or same_floor:
                violations.append(f"{path.relative_to(ROOT)}:{line}: {own} imports {name} ({target})")
    assert not violations, "imports pointing up or sideways:\n" + "\n".join(violations)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The check itself can fail: a planted upward import is reported."""
    planted = tmp_path / "x.py"
    planted.write_text("def f():\n    from racesim.commands import run\n", encoding="utf-8")
    assert [(line, _layer_of_import(name)) for line, name in _imports(planted)] == [(2, "cli")]
