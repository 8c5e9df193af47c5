"""`racesim explain FILE`: the point of no return of a saved failing schedule."""

from __future__ import annotations

import json

import click

from racesim.commands.explore import replay_file
from racesim.options import InputError, _stdout, check_outputs, invocation, write_output, wrote

BAR = 40


def _event_of_step(result, step: int) -> str:
    """The trace record of scheduling step ``step`` (0-based) of a replayed run: the actor's
    n-th record for its n-th step (a step that only waited on a lock has no record)."""
    schedule = result.output.schedule
    if not 0 <= step < len(schedule):
        return "(end of run)"
    actor_id = schedule[step]
    nth = schedule[: step + 1].count(actor_id) - 1
    names = [r for r in result.output.records if r[1] == _actor_name(result, actor_id)]
    if nth >= len(names):
        return "(a step without a record)"
    t, actor, label, op, args, _ = names[nth]
    return f"{actor} at {label} ({op}{'(' + ', '.join(map(str, args[:3])) + ')' if args else ''}, t={t:.6f})"


def _actor_name(result, actor_id: int) -> str:
    """An actor's name from its id: actors take their first step in the order their first
    record appears (a first step always executes an op; only a wait on a lock records nothing)."""
    order = list(dict.fromkeys(result.output.schedule))
    names = list(dict.fromkeys(r[1] for r in result.output.records))
    index = order.index(actor_id)
    return names[index] if index < len(names) else f"actor {actor_id}"


@click.command()
@click.argument("file")
@click.option("--continuations", "-k", "k", type=int, default=20, show_default=True, help="Random continuations per prefix.")
@click.option("--points", type=int, default=40, show_default=True, help="Prefix lengths sampled before refining.")
@click.option("--seed", "-s", type=int, default=1, show_default=True, help="Seed of the continuations.")
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="Worker processes (results identical to 1).")
@click.option("--json", "as_json", is_flag=True, help="Print the curve and the step of no return as JSON.")
@click.option("--html", "html_path", default=None, help="Also write an HTML report: the curve, then the run explained.")
def explain(file, k, points, seed, jobs, as_json, html_path) -> None:
    """Find the step after which a saved failing schedule's finding is certain.

    For prefixes of FILE's choice sequence (a schedule saved by `run --save-failing` or
    `explore --save-failing`), K seeded random continuations each decide the rest of the run;
    the share that still shows the finding estimates P(finding | prefix).
    """
    from racesim.analysis import no_return

    if not 1 <= k <= 1000:
        raise InputError(f"--continuations: must be between 1 and 1000, got {k}")
    if not 2 <= points <= 1000:
        raise InputError(f"--points: must be between 2 and 1000, got {points}")
    if not 1 <= jobs <= 64:
        raise InputError(f"--jobs: must be between 1 and 64, got {jobs}")
    targets = check_outputs({"--html": html_path})
    schedule, replayed = replay_file(file)
    from racesim.commands.explore import config_of

    _, config = config_of(schedule)
    result = no_return.analyse(config, schedule.choices, schedule.finding, k=k, points=points, jobs=jobs, seed=seed)
    certain = result.certain_from
    decisive = None if certain is None or certain == 0 else certain - 1
    if "--html" in targets:
        from racesim.reports import html

        last = result.last_avoidable
        view = html.no_return_view(
            result,
            _event_of_step(replayed, decisive) if decisive is not None else "",
            _event_of_step(replayed, last) if last is not None else "",
        )
        report = dict(title=f"explain {file}", command=invocation(), summaries=[], failing=replayed, contrast=None)
        wrote(write_output(targets["--html"], html.write_report, no_return=view, **report), "HTML report")
    if as_json:
        data = {
            "file": file,
            "finding": schedule.finding,
            "steps": result.total_steps,
            "continuations": k,
            "seed": seed,
            "certain_after_step": certain,
            "last_avoidable_prefix": result.last_avoidable,
            "decisive_event": _event_of_step(replayed, decisive) if decisive is not None else None,
            "curve": [[p.steps, p.hits, p.trials] for p in result.points],
        }
        click.echo(json.dumps(data, indent=2))
        return
    out = _stdout()
    out.print(
        f"{file}: {result.total_steps} scheduling steps; P(finding | first j steps kept, the rest random) "
        f"from {k} continuations per prefix (seed {seed})",
        highlight=False,
    )
    for p in result.points:
        bar = "#" * round(BAR * p.p)
        mark = " <- no return" if p.steps == certain else ""
        out.print(f"  j={p.steps:>5}  P={p.p:5.2f}  {bar:<{BAR}}{mark}", highlight=False)
    if certain is None:
        out.print("The finding never became certain: even the whole schedule replayed loosely avoided it sometimes.")
    elif certain == 0:
        out.print("The finding is certain from the start: every continuation of the empty prefix showed it.")
    else:
        out.print(
            f"Point of no return: step {certain} of {result.total_steps}, {_event_of_step(replayed, certain - 1)}. "
            f"After it, all {k} continuations of each later prefix evaluated "
            f"({sum(1 for q in result.points if q.steps >= certain)} of {result.total_steps - certain + 1} prefixes) "
            "showed the finding.",
            highlight=False,
        )
        avoid = result.last_avoidable
        assert avoid is not None  # certain > 0, so a shorter prefix avoided it
        avoided = next(p for p in result.points if p.steps == avoid)
        out.print(
            f"Last chance to avoid it: with only the first {avoid} steps kept, {avoided.trials - avoided.hits} of "
            f"{avoided.trials} continuations avoided it (the next step was {_event_of_step(replayed, avoid)}).",
            highlight=False,
        )


commands = [explain]
