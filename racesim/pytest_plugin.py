"""pytest plugin: ``pytest --racesim scenarios/`` collects scenarios' expect blocks as tests.

Each scenario YAML file (a mapping with a ``workflow`` key) becomes a collector and each
of its expect entries one test item, judged exactly as ``racesim check`` judges it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

SUFFIXES = (".yaml", ".yml")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("racesim")
    group.addoption("--racesim", action="store_true", default=False, help="Collect racesim scenario files as tests.")
    group.addoption("--racesim-runs", type=int, default=None, help="Runs per expect entry (default: each entry's).")
    group.addoption("--racesim-seed", type=int, default=1, help="First seed of every sweep (default: 1).")
    group.addoption("--racesim-jobs", type=int, default=1, help="Worker processes per sweep (results identical to 1).")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in SUFFIXES and parent.config.getoption("racesim") and _is_scenario(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def _is_scenario(path: Path) -> bool:
    """Only scenario files: a project's other YAML (CI config, fixtures) is left alone."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "workflow" in data


class ScenarioFile(pytest.File):
    def collect(self):
        from racesim.commands.check import entry_deployment_label, load_scenario
        from racesim.options import InputError

        try:
            scenario = load_scenario(str(self.path))
        except InputError as exc:
            raise self.CollectError(str(exc)) from None
        seen: dict[str, int] = {}
        for i, entry in enumerate(scenario.expect):
            name = entry_deployment_label(scenario, entry)
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:  # two entries on the same cell (e.g. different runs) need distinct ids
                name = f"{name} #{seen[name]}"
            yield ExpectItem.from_parent(self, name=name, scenario=scenario, index=i)


class ExpectationContradicted(AssertionError):
    pass


class ExpectItem(pytest.Item):
    def __init__(self, *, scenario, index: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.index = index

    def runtest(self) -> None:
        from racesim.engine.expectations import evaluate
        from racesim.reports import reproduce

        opt = self.config.getoption
        one = replace(self.scenario, expect=[self.scenario.expect[self.index]])
        [result] = evaluate(one, opt("racesim_seed"), opt("racesim_runs"), opt("racesim_jobs"))
        if not result.ok:
            lines = [*result.failures, f"first seed: {result.first_seed()}", f"replay: {reproduce.for_expectation(result)}"]
            if result.entry.get("note"):
                lines.append(f"note: {result.entry['note']}")
            raise ExpectationContradicted("\n".join(lines))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ExpectationContradicted):
            return f"racesim expectation contradicted: {self.scenario.name} [{self.name}]\n{excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"racesim {self.scenario.name} [{self.name}]"
