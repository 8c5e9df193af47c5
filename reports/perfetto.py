"""Chrome/Perfetto trace-event export of one run (open it at ui.perfetto.dev or chrome://tracing).

One track (tid) per actor, named by ``thread_name`` metadata. Every trace record becomes one
complete ("X") event that ends at the record's simulated time and starts at the actor's
previous record, so a slice spans the op's latency (or the wait, for a blocking consume).
Publish -> consume pairs are drawn as flow arrows. Times are microseconds of simulated time.
"""

from __future__ import annotations

import json
import os

from racesim.analysis.accesses import message_links
from racesim.engine.runner import RunResult
from racesim.sim import output
from racesim.sim.trace import events

PID = 1


def actor_order(names: list[str]) -> list[str]:
    """Actors in a stable, readable order: starter, executors, workers, then the rest."""

    def key(name: str) -> tuple:
        rank = 0 if name == "starter" else 1 if name.startswith("exec") else 2 if name.startswith("worker") else 3
        parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in _split_digits(name))
        return (rank, parts)

    return sorted(set(names), key=key)


def _split_digits(name: str) -> list[str]:
    out: list[str] = []
    cur = ""
    for ch in name:
        if cur and (ch.isdigit() != cur[-1].isdigit()):
            out.append(cur)
            cur = ""
        cur += ch
    if cur:
        out.append(cur)
    return out


def _us(t: float) -> float:
    return round(t * 1_000_000, 3)


def trace_events(result: RunResult) -> dict:
    evs = events(result.output.records)
    actors = actor_order([e.actor for e in evs])
    tid = {name: i + 1 for i, name in enumerate(actors)}
    cfg = result.output.config
    out: list[dict] = [
        {
            "ph": "M",
            "name": "process_name",
            "pid": PID,
            "tid": 0,
            "args": {"name": f"racesim {cfg.scenario} [{cfg.guards.name}] seed {result.seed}"},
        }
    ]
    for name in actors:
        out.append({"ph": "M", "name": "thread_name", "pid": PID, "tid": tid[name], "args": {"name": name}})
        out.append({"ph": "M", "name": "thread_sort_index", "pid": PID, "tid": tid[name], "args": {"sort_index": tid[name]}})
    last: dict[str, float] = {}
    span: dict[int, tuple[float, float]] = {}
    for i, ev in enumerate(evs):
        start = last.get(ev.actor, ev.time)
        last[ev.actor] = ev.time
        span[i] = (start, ev.time)
        out.append(
            {
                "ph": "X",
                "name": f"{ev.step} {ev.op}",
                "cat": ev.op,
                "pid": PID,
                "tid": tid[ev.actor],
                "ts": _us(start),
                "dur": round(_us(ev.time) - _us(start), 3),
                "args": {
                    "index": i,
                    "time": ev.time,
                    "step": ev.step,
                    "op": ev.op,
                    "args": [str(a) for a in ev.args],
                    "result": None if ev.result is None else str(ev.result),
                },
            }
        )
    for n, (p, c) in enumerate(message_links(evs)):
        # Flow points sit mid-slice so each binds to its own slice, not a neighbour.
        for ph, i in (("s", p), ("f", c)):
            a, b = span[i]
            point = {"ph": ph, "id": n + 1, "name": "message", "cat": "message", "pid": PID, "tid": tid[evs[i].actor]}
            point["ts"] = round((_us(a) + _us(b)) / 2, 3)
            if ph == "f":
                point["bp"] = "e"
            out.append(point)
    return {"traceEvents": out, "displayTimeUnit": "ms", "otherData": {"digest": result.digest, "seed": result.seed}}


def write_trace(path: str | os.PathLike[str] | output.Target, result: RunResult) -> output.Target:
    text = json.dumps(trace_events(result), separators=(",", ":"), sort_keys=True)
    return output.write_text(path, text)
