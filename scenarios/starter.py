"""Starter scenario files for `racesim init`: every field present or shown, each with a comment
saying what it means, so a new user can adapt one in minutes. The text is checked with the
scenario loader before it is returned (``render`` raises ``ScenarioError`` otherwise)."""

from __future__ import annotations

from pathlib import Path

import yaml
from racesim.scenarios import importer, schema
from racesim.sim.config import FAULTS, Deployment
from racesim.sim.findings import NAMES
from racesim.sim.timing import DEFAULT_TIMING

# Workflow graphs to start from: the seed shape, a join barrier, a plain sequence.
TEMPLATES: dict[str, tuple[str, list[dict]]] = {
    "fanin": (
        "a with_items task whose items finish close together, then one successor (the seed's shape)",
        [
            {
                "name": "process_items",
                "action": "demo.handle_one",
                "with_items": 5,
                "concurrency": 3,
                "next": [{"when": "{{ succeeded() }}", "do": ["validate"]}],
            },
            {"name": "validate", "action": "demo.verify_all"},
        ],
    ),
    "join": (
        "two branches that both lead to one task behind a join barrier",
        [
            {"name": "build_api", "action": "demo.build", "next": [{"when": "{{ succeeded() }}", "do": ["release"]}]},
            {"name": "build_web", "action": "demo.build", "next": [{"when": "{{ succeeded() }}", "do": ["release"]}]},
            {"name": "release", "action": "demo.release", "join": 2},
        ],
    ),
    "sequence": (
        "three tasks one after another, with a failure branch",
        [
            {
                "name": "fetch",
                "action": "demo.fetch",
                "next": [
                    {"when": "{{ succeeded() }}", "publish": [{"fetched": True}], "do": ["transform"]},
                    {"when": "{{ failed() }}", "do": ["alert"]},
                ],
            },
            {"name": "transform", "action": "demo.transform", "next": [{"when": "{{ succeeded() }}", "do": ["store"]}]},
            {"name": "store", "action": "demo.store"},
            {"name": "alert", "action": "demo.notify"},
        ],
    ),
}
DEFAULT_TEMPLATE = "fanin"

TASK_HELP = """\
  # tasks: one entry per task, as in attune's `tasks:` list.
  #   name         unique task name (letters, digits, '_', '.', '-')
  #   action       the action the task dispatches; leave it out for a task that dispatches nothing
  #   with_items   how many items the task fans out to: a number (racesim renders no templates)
  #   concurrency  at most this many items in flight (attune: 1 when with_items is set)
  #   join         wait until this many inbound tasks have finished (a barrier)
  #   retry        {count, delay, backoff: constant|linear|exponential, max_delay}: only HEAD re-runs
  #   next         transitions, looked at when the task finishes:
  #     when       "{{ succeeded() }}", "{{ failed() }}", "{{ timed_out() }}", or left out (always);
  #                any other condition is not evaluated and fires when the task succeeded
  #     do         the tasks to dispatch
  #     publish    workflow variables to write: [{name: value}] or [name] (the task's result)
"""


def _dump(value: object, indent: int) -> str:
    text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=False)
    pad = " " * indent
    return "".join(pad + line + "\n" for line in text.splitlines())


def render(name: str, description: str, ref: str, tasks: list[dict], notes: list[str] | None = None) -> str:
    """The commented scenario text for ``tasks`` (scenario task dicts)."""
    d = Deployment()
    faults = "\n".join(f"#   {k}: {v}" for k, v in FAULTS.items())
    timing = "".join(f"  {k}: {{{', '.join(f'{p}: {v}' for p, v in spec.items())}}}\n" for k, spec in DEFAULT_TIMING.items())
    header = [
        "# A racesim scenario: an attune workflow's dispatch graph plus how attune is deployed, how",
        "# long things take and which tasks fail. Check it with `racesim validate FILE`, sweep it with",
        "# `racesim run FILE` or `racesim matrix FILE`. Only `workflow` is required: delete what you",
        "# do not need and the defaults shown here apply.",
    ]
    if notes:
        header.append("#")
        header.append("# Notes from the import (attune's verdicts, and what racesim does not simulate):")
        header += [f"#   {n}" for n in notes]
    return (
        "\n".join(header)
        + "\n\n# name: what commands and reports call this scenario; default: the file name.\n"
        + f"name: {_scalar(name)}\n"
        + "# description: one line, shown by `racesim list` and in reports.\n"
        + f"description: {_scalar(description)}\n\n"
        + "# workflow: the graph attune advances. racesim simulates who dispatches what and when;\n"
        + "# inputs, templates and action results are never evaluated.\n"
        + "workflow:\n"
        + "  # ref: the attune workflow ref (a label only).\n"
        + f"  ref: {_scalar(ref)}\n"
        + TASK_HELP
        + "  tasks:\n"
        + _dump(tasks, 4)
        + "\n# deployment: how many attune processes compete (the races need more than one actor).\n"
        + "deployment:\n"
        + f"  replicas: {d.replicas}          # executor processes consuming the same queues (attune's chart: 2)\n"
        + f"  listeners: {d.listeners}         # concurrent completion handlers per executor (attune: 1)\n"
        + f"  prefetch: {d.prefetch}         # messages one consumer may hold unacknowledged (attune: 10)\n"
        + f"  workers: {d.workers}           # worker processes running actions\n"
        + f"  worker_slots: {d.worker_slots}     # actions one worker runs at once (attune: 10)\n"
        + f"  restart_delay: {d.restart_delay}  # seconds until a crashed executor is back\n"
        + "\n# faults: the probability (0 to 1) that each fault strikes in a run; {} for none. Names:\n"
        + faults
        + "\n# e.g. faults: {crash-before-publish: 0.1}\n"
        + "faults: {}\n"
        + "\n# timing: seconds per channel, drawn per event from a distribution: constant {value},\n"
        + "# uniform {low, high}, exponential {mean} or normal {mean, sd}. Items of equal work\n"
        + "# finishing close together (a narrow worker_duration) is what makes races likely.\n"
        + "timing:\n"
        + timing
        + "\n# load: several executions of this workflow sharing one deployment: count (default 1),\n"
        + "# arrival all (started together), interval or poisson, and gap (seconds between starts,\n"
        + "# their mean for poisson). e.g. load: {count: 20, arrival: poisson, gap: 0.05}\n"
        + "load: {count: 1}\n"
        + "\n# outcomes: which tasks fail, per task: fail_items (item indexes of a with_items task),\n"
        + "# fail: true (the whole task), fail_probability (0 to 1 per run). Unlisted tasks succeed.\n"
        + "# e.g. outcomes: {process_items: {fail_items: [2]}}\n"
        + "outcomes: {}\n"
        + "\n# runs: how many seeded runs `racesim run` does by default (one seed = one interleaving).\n"
        + "runs: 1000\n"
        + "\n# max_steps: steps after which a run is cut and its verdict is unknown (a livelock). The\n"
        + "# default, 200000 plus 100 per task and per item, fits every run that ends; raise it only\n"
        + "# for a bounded loop that is longer, e.g. max_steps: 1000000.\n"
        + "\n# expect: what `racesim check` asserts. Each entry names guards (a version: pre, fix, f93,\n"
        + "# head, or a guard set), optionally runs, replicas, listeners, prefetch, workers, faults and a\n"
        + '# note, and at least one finding, each 0 or "some": duplicates, missed, stuck, lost_updates,\n'
        + '# wrong_outcomes, by_task {TASK: 0 or "some"}, or a name of the findings registry\n'
        + f"# ({', '.join(NAMES[:4])},\n# {', '.join(NAMES[4:])}).\n"
        + "# Write only what you have seen hold, e.g.:\n"
        + "# expect:\n"
        + "#   - guards: head\n"
        + "#     replicas: 2\n"
        + "#     runs: 300\n"
        + "#     duplicates: 0\n"
        + '#     note: "HEAD dispatches every task once with two executors"\n'
        + "expect: []\n"
    )


def _scalar(value: str) -> str:
    return yaml.safe_dump(value, default_style='"', width=1000).strip()


def from_template(template: str, name: str) -> str:
    if template not in TEMPLATES:
        raise schema.ScenarioError(f"--template: unknown template {template!r} (choose from: {', '.join(TEMPLATES)})")
    description, tasks = TEMPLATES[template]
    return checked(render(name, description[:300], f"demo.{template}", tasks), name)


def from_workflow(path: Path, name: str, items: dict[str, int], lenient: bool) -> tuple[str, list[str]]:
    """A starter from an attune workflow file: its imported graph, commented; the import's notes."""
    imported = importer.import_workflow(path, items, lenient=lenient)
    importer.loadable(imported, str(path))
    sc = imported.scenario
    text = render(name, sc["description"], sc["workflow"]["ref"], sc["workflow"]["tasks"], imported.notes)
    return checked(text, name), imported.notes


def checked(text: str, name: str) -> str:
    """The text, after the scenario loader has accepted it."""
    doc = schema.parse_text(text.encode("utf-8"), "<starter>")
    schema.check(doc, name)
    return text
