"""Schedule files: one failing run as a small JSON document that ``racesim replay`` reproduces.

The run is a pure function of (scenario, guards, deployment, faults, choices), so the file
carries exactly those, plus the strategy and seed that found it and the finding and digest
it must reproduce. Writes go through ``racesim.sim.output`` (atomic, regular files only); loading validates every
field and raises ``ScheduleError`` with a one-line message.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from racesim.sim import output
from racesim.sim.config import DEPLOYMENT_LIMITS, Deployment

FORMAT = "racesim-schedule/1"
MAX_BYTES = 20 * 1024 * 1024
_DEPLOYMENT_FIELDS = tuple(Deployment.__dataclass_fields__)
# Fields added after schedules were first saved: a file without one ran with its default.
_DEPLOYMENT_OPTIONAL = {"worker_queue_ttl": Deployment().worker_queue_ttl}


class ScheduleError(ValueError):
    """A schedule file that cannot be used; ``str()`` is the one line shown to the user."""


@dataclass(slots=True)
class ScheduleFile:
    scenario: str  # catalog name or path
    guards: str
    deployment: Deployment
    faults: str  # Faults.label()
    strategy: str
    params: dict
    seed: int
    choices: list[list]
    finding: dict = field(default_factory=dict)  # {"duplicates": n, "by_task": {task: n}, ...}
    digest: str = ""
    items: dict[str, int] = field(default_factory=dict)  # with_items counts, when shrinking cut them

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "scenario": self.scenario,
            "guards": self.guards,
            "deployment": asdict(self.deployment),
            "faults": self.faults,
            "strategy": self.strategy,
            "params": self.params,
            "seed": self.seed,
            "choices": self.choices,
            "finding": self.finding,
            "digest": self.digest,
            **({"items": self.items} if self.items else {}),
        }


def save(path: str | Path | output.Target, schedule: ScheduleFile) -> output.Target:
    # choices one per line: small diffs, and a reader can see where the preemptions are
    body = json.dumps({**schedule.to_json(), "choices": []}, indent=1)
    rows = ",\n  ".join(json.dumps(c, separators=(",", ":")) for c in schedule.choices)
    text = body.replace('"choices": []', '"choices": [\n  ' + rows + "\n ]" if rows else '"choices": []')
    return output.write_text(path, text + "\n")


def load(path: str | Path) -> ScheduleFile:
    path = Path(path)
    try:
        raw = output.read_input(path, MAX_BYTES)  # regular files only: a FIFO would block
    except output.InputFileError as exc:
        raise ScheduleError(f"{path}: {exc}") from None
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScheduleError(f"{path}: not a valid JSON schedule file ({type(exc).__name__})") from None
    except RecursionError:
        raise ScheduleError(f"{path}: not a schedule file (JSON nested too deeply)") from None
    except _DuplicateKey as exc:
        raise ScheduleError(f"{path}: duplicate JSON key {exc.args[0]!r}") from None
    return from_json(data, str(path))


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """json's default keeps the last of two equal keys: a file that says two things is refused."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _strategies() -> tuple[str, ...]:
    from racesim.sim.schedulers import STRATEGIES

    # "replay" is how a file is run, not how one is found; "shrunk" marks a shrinker's output
    return (*sorted(set(STRATEGIES) - {"replay"}), "shrunk")


def _need(data: dict, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ScheduleError(f"{where}: missing field {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ScheduleError(f"{where}: field {key!r} must be {name}, got {type(value).__name__}")
    return value


def _choice(entry: object, i: int, where: str) -> list:
    if not (isinstance(entry, list) and entry and isinstance(entry[0], str)):
        raise ScheduleError(f"{where}: choice {i} is malformed: {json.dumps(entry)[:80]}")
    ok: bool
    if entry[0] == "p":
        ok = len(entry) == 3 and all(type(v) is int for v in entry[1:]) and 0 <= entry[1] < entry[2]
    elif entry[0] == "t":
        ok = len(entry) == 2 and type(entry[1]) in (int, float) and entry[1] >= 0
    elif entry[0] == "c":
        ok = len(entry) == 2 and entry[1] in (0, 1) and type(entry[1]) is int
    elif entry[0] == "x":
        ok = len(entry) == 3 and all(type(v) is int for v in entry[1:]) and 0 <= entry[1] < entry[2]
    else:
        ok = False
    if not ok:
        raise ScheduleError(f"{where}: choice {i} is malformed: {json.dumps(entry)[:80]}")
    return entry


def from_json(data: object, where: str = "<schedule>") -> ScheduleFile:
    if not isinstance(data, dict):
        raise ScheduleError(f"{where}: top level must be a JSON object")
    fmt = data.get("format")
    if fmt != FORMAT:
        raise ScheduleError(f"{where}: format is {fmt!r}, expected {FORMAT!r}")
    dep = _need(data, "deployment", dict, where)
    unknown = sorted(set(dep) - set(_DEPLOYMENT_FIELDS))
    if unknown:
        raise ScheduleError(f"{where}: unknown deployment field {unknown[0]!r}")
    dep = {**_DEPLOYMENT_OPTIONAL, **dep}
    for key in _DEPLOYMENT_FIELDS:
        kind = (int, float) if isinstance(getattr(Deployment(), key), float) else int
        value = cast(float, _need(dep, key, kind, f"{where}: deployment"))
        lo, hi = DEPLOYMENT_LIMITS[key]  # the scenario files' bounds: what a scenario may say, a schedule may
        if not lo <= value <= hi:
            raise ScheduleError(f"{where}: deployment {key} must be between {lo:g} and {hi:g}, got {value}")
    choices = _need(data, "choices", list, where)
    items = data.get("items", {})
    if not isinstance(items, dict) or not all(
        isinstance(k, str) and type(v) is int and 0 <= v <= 10_000 for k, v in items.items()
    ):
        raise ScheduleError(f"{where}: field 'items' must map task names to item counts between 0 and 10000")
    strategy = cast(str, _need(data, "strategy", str, where))
    if strategy not in _strategies():
        raise ScheduleError(f"{where}: unknown strategy {strategy!r} (one of: {', '.join(_strategies())})")
    seed = cast(int, _need(data, "seed", int, where))
    if seed < 0:
        raise ScheduleError(f"{where}: seed must be at least 0, got {seed}")
    return ScheduleFile(
        scenario=_need(data, "scenario", str, where),
        guards=_need(data, "guards", str, where),
        deployment=Deployment(**{k: dep[k] for k in _DEPLOYMENT_FIELDS}),
        faults=_need(data, "faults", str, where),
        strategy=strategy,
        params=_need(data, "params", dict, where),
        seed=seed,
        choices=[_choice(c, i, where) for i, c in enumerate(choices)],
        finding=_need(data, "finding", dict, where),
        digest=_need(data, "digest", str, where),
        items=dict(items),
    )
