"""JUnit XML for ``racesim check``: one testsuite per scenario, one testcase per expect entry.

Deterministic by design: no timestamps, hostnames or durations (``time`` is always "0"),
so two runs of the same check give byte-identical files and CI diffs stay quiet.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from racesim.sim import output


@dataclass(slots=True)
class Case:
    suite: str  # the scenario
    name: str  # guard set x deployment x faults
    failure: str | None = None  # one-line message: finding, failing seed, replay command
    detail: str = ""  # the failure element's text: every contradicted claim
    skipped: str | None = None
    output: str = ""  # system-out: runs, seeds, digest (testcase properties are not in the Ant/Jenkins schema)


def render(cases: list[Case], name: str = "racesim check") -> str:
    """The XML document; suites in first-appearance order, cases in the order given."""
    suites: dict[str, list[Case]] = {}
    for case in cases:
        suites.setdefault(case.suite, []).append(case)
    root = ET.Element("testsuites", _counts(name, cases))
    for suite_name, suite_cases in suites.items():
        suite = ET.SubElement(root, "testsuite", _counts(suite_name, suite_cases))
        for case in suite_cases:
            el = ET.SubElement(suite, "testcase", {"classname": case.suite, "name": case.name, "time": "0"})
            if case.failure is not None:
                failure = ET.SubElement(el, "failure", {"message": case.failure, "type": "ExpectationContradicted"})
                failure.text = case.detail or case.failure
            elif case.skipped is not None:
                ET.SubElement(el, "skipped", {"message": case.skipped})
            if case.output:
                ET.SubElement(el, "system-out").text = case.output
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _counts(name: str, cases: list[Case]) -> dict[str, str]:
    return {
        "name": name,
        "tests": str(len(cases)),
        "failures": str(sum(c.failure is not None for c in cases)),
        "errors": "0",
        "skipped": str(sum(c.failure is None and c.skipped is not None for c in cases)),
        "time": "0",
    }


def write(path: str | os.PathLike[str] | output.Target, cases: list[Case], name: str = "racesim check") -> output.Target:
    """Write atomically (``racesim.sim.output``): a CI step reading the file never sees half of it."""
    return output.write_text(path, render(cases, name))
