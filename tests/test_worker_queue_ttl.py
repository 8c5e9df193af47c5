"""Worker queues expire dispatches (attune: x-message-ttl 300,000 ms on every worker queue).

A dispatch still in the broker when the TTL runs out is dropped (attune's dead-letter
exchange routes it nowhere: tests/test_broker_dead_letters.py), so its row stays
`scheduled`. With a worker process down longer than the TTL, a dispatch published to its
queue meanwhile is lost; a shorter outage loses nothing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from racesim.engine.runner import config_for
from racesim.models import ops
from racesim.models.guards import Guards
from racesim.models.rows import WORKER_DISPATCH, WORKER_STALE_SECONDS, Message, worker_queue
from racesim.models.statuses import FAILED, SCHEDULED
from racesim.sim import schedule_file
from racesim.sim.broker import SimBroker
from racesim.sim.db import ManualClock
from racesim.sim.faults import CRASH_WORKER_PROCESS
from racesim.sim.timing import TimingModel
from racesim.sim.trace import events

from tests.test_crashes import CrashAt, _run


def _broker(ttl: float | None) -> tuple[SimBroker, ManualClock, list[object]]:
    clock = ManualClock()
    woken: list[object] = []
    broker = SimBroker(lambda actor, delivery: woken.append(delivery), clock=clock)
    broker.set_ttl("q", ttl)
    return broker, clock, woken


def test_a_message_ready_for_its_ttl_is_dropped_a_younger_one_delivered():
    broker, clock, _ = _broker(10.0)
    broker.publish("q", Message(WORKER_DISPATCH, 1))  # no consumer yet: it waits, ready
    clock.now = 4.0
    broker.publish("q", Message(WORKER_DISPATCH, 2))
    clock.now = 12.0  # 1 has waited 12 s, 2 has waited 8 s
    consumer = broker.add_consumer("c", "q", 10, ack_on_take=True)
    assert [d.message.execution_id for d in consumer.buffer] == [2]
    assert broker.expired == [("q", Message(WORKER_DISPATCH, 1))]


def test_a_queue_without_ttl_keeps_every_message():
    broker, clock, _ = _broker(None)
    broker.publish("q", Message(WORKER_DISPATCH, 1))
    clock.now = 10_000.0
    consumer = broker.add_consumer("c", "q", 10, ack_on_take=True)
    assert [d.message.execution_id for d in consumer.buffer] == [1] and broker.expired == []


def test_a_requeued_message_keeps_its_age():
    """RabbitMQ keeps a requeued message's original expiry: a redelivery does not renew it."""
    broker, clock, _ = _broker(10.0)
    consumer = broker.add_consumer("c", "q", 1)
    broker.publish("q", Message(WORKER_DISPATCH, 1))  # pushed at 0, held unacked
    [delivery] = consumer.buffer
    consumer.buffer.clear()
    broker.kill_consumer("c")  # back to the queue, redelivered, still stamped 0
    clock.now = 11.0
    again = broker.add_consumer("c2", "q", 1)
    assert not again.buffer and broker.expired == [("q", delivery.message)]


def _first_run_on_worker1(world, actor, op) -> bool:
    return type(op) is ops.RunAction and actor.group == "worker1"


def _worker1_down(fanin, guards: str, outage: float, ttl: float):
    """Worker 1's process crashes at its first action and is back after ``outage``; the
    scheduler keeps handing it work (two workers, round-robin) until its last heartbeat is
    90 s old, then only worker 2."""
    dep = replace(fanin.deployment, workers=2, restart_delay=outage, worker_queue_ttl=ttl)
    cfg = config_for(fanin, Guards.parse(guards), deployment=dep)
    return [_run(cfg, seed, CrashAt(CRASH_WORKER_PROCESS, _first_run_on_worker1)) for seed in (1, 2, 3)]


def test_a_worker_down_longer_than_the_ttl_loses_the_dispatches_sent_to_it(fanin):
    for r in _worker1_down(fanin, "pre", outage=600.0, ttl=300.0):
        assert r.output.expired, "a dispatch waited in the dead worker's queue past its TTL"
        for eid in r.output.expired:
            assert r.output.db.executions[eid].status == SCHEDULED  # dropped: nobody ever runs it
        assert r.verdict.stuck_workflows == 1
        assert any(reason.startswith("dispatch expired: ") for reason in r.verdict.stuck_reasons)
        shown = [e.args[1] for e in events(r.output.records) if e.op == "Expire"]
        assert shown == list(r.output.expired)  # the trace shows the broker dropping each


def test_a_worker_silent_for_90_s_gets_no_more_work(fanin):
    """attune's select_worker keeps only workers with a fresh heartbeat (three 30 s
    intervals). Worker 1 is down for 600 s and each item runs 100-110 s, so items are
    released well after the crash: the ones released in the first 90 s may still go to
    worker 1's queue, every later one goes to worker 2."""
    slow = replace(fanin, timing=TimingModel.from_spec({"worker_duration": {"dist": "uniform", "low": 100.0, "high": 110.0}}))
    for r in _worker1_down(slow, "pre", outage=600.0, ttl=3600.0):
        crash = next(e.time for e in events(r.output.records) if e.op == "Crash")
        sent = [(e.time, e.args[0]) for e in events(r.output.records) if e.op == "Publish" and e.step == "S5"]
        to_1 = [t for t, q in sent if q == worker_queue(1)]
        assert to_1 and all(t <= crash + WORKER_STALE_SECONDS for t in to_1)
        assert [t for t, q in sent if q == worker_queue(2) and t > crash + WORKER_STALE_SECONDS]


def test_a_worker_back_within_the_ttl_loses_nothing(fanin):
    for r in _worker1_down(fanin, "pre", outage=600.0, ttl=3600.0):
        assert r.output.expired == ()
        assert not [x for x in r.output.db.executions.values() if x.status == SCHEDULED]
        assert not any(reason.startswith("dispatch expired: ") for reason in r.verdict.stuck_reasons)


def test_heads_timeout_monitor_fails_the_row_an_expired_dispatch_left_scheduled(fanin):
    """HEAD with its recovery actors: the monitor finds the row still `scheduled` after its
    timeout (300 s, the same as the TTL) and fails it, so the row does not hang."""
    for r in _worker1_down(fanin, "head+recovery", outage=600.0, ttl=300.0):
        assert r.output.expired
        for eid in r.output.expired:
            assert r.output.db.executions[eid].status == FAILED


@pytest.mark.parametrize("ttl", [None, 45.5])
def test_schedule_files_carry_the_ttl_and_old_ones_default_it(tmp_path, ttl):
    """A schedule saved before the field existed ran with attune's 300 s."""
    from racesim.sim.config import Deployment

    dep = Deployment() if ttl is None else Deployment(worker_queue_ttl=ttl)
    sf = schedule_file.ScheduleFile("with-items-fanin", "none", dep, "none", "random", {}, 1, [], {}, "")
    path = tmp_path / "s.json"
    schedule_file.save(path, sf)
    if ttl is None:  # as an older racesim wrote it
        import json

        data = json.loads(path.read_text())
        del data["deployment"]["worker_queue_ttl"]
        path.write_text(json.dumps(data))
    assert schedule_file.load(path).deployment.worker_queue_ttl == (300.0 if ttl is None else ttl)


def test_a_worker_consumer_holds_at_most_its_prefetch_and_acks_as_a_slot_takes():
    """attune's worker acks a dispatch once a permit is free; until then it counts against
    the prefetch (permits + 2), and what does not fit waits in the broker."""
    broker, _clock, _ = _broker(None)
    consumer = broker.add_consumer("w", "q", 2, ack_on_take=True)
    for eid in (1, 2, 3):
        broker.publish("q", Message(WORKER_DISPATCH, eid))
    assert [d.message.execution_id for d in consumer.buffer] == [1, 2] and len(broker.queues["q"].ready) == 1
    taken = broker.consume(actor=7, consumer_name="w")  # a slot takes one: acked, credit for the next
    assert taken is not None and taken.message.execution_id == 1
    assert [d.message.execution_id for d in consumer.buffer] == [2, 3] and not broker.queues["q"].ready
    broker.kill_consumer("w")  # a crash: what no slot had taken goes back to the queue
    assert [(m.execution_id, redelivered) for m, redelivered, _at in broker.queues["q"].ready] == [(2, True), (3, True)]


BUSY = """name: busy-worker
workflow:
  ref: demo.busy
  tasks:
    - name: process_items
      action: demo.handle_one
      with_items: 6
      concurrency: 6
      next:
        - when: "{{ succeeded() }}"
          do: [validate]
    - name: validate
      action: demo.verify_all
deployment: {workers: 1, worker_slots: 1, worker_queue_ttl: TTL}
"""


@pytest.mark.parametrize("ttl", [0.5, 100.0])
def test_a_busy_worker_lets_what_does_not_fit_its_prefetch_expire(tmp_path, ttl):
    """One worker with one permit (prefetch 3) and six items dispatched at once: one runs,
    three wait in the worker, two wait in the broker for about an action's length (1 s).
    A TTL shorter than that drops those two; a longer one loses nothing."""
    from racesim.engine.runner import run_one
    from racesim.scenarios import loader

    path = tmp_path / "busy.yaml"
    path.write_text(BUSY.replace("TTL", str(ttl)))
    cfg = config_for(loader.load(str(path)), Guards.parse("pre"))
    for seed in (1, 2, 3):
        r = run_one(cfg, seed)
        rows = r.output.db.executions
        if ttl < 1.0:
            assert sorted(rows[e].workflow_task.task_index for e in r.output.expired) == [4, 5]
            assert r.verdict.stuck_workflows == 1
        else:
            assert r.output.expired == () and r.verdict.stuck_workflows == 0


def test_a_completed_workflow_with_expired_items_names_why_they_failed():
    """saturated-worker under head+recovery: the wrong outcome says which items never ran and
    why, instead of guessing an early completion."""
    from racesim.engine.runner import run_one
    from racesim.scenarios.loader import load

    cfg = config_for(load("saturated-worker"), Guards.parse("head+recovery"))
    r = run_one(cfg, 1)
    assert r.verdict.workflow_status == "completed" and r.output.expired
    [reason] = r.verdict.wrong_reasons
    assert "never ran: the dispatch expired in a worker queue" in reason and "early completion" not in reason
    failed = {e for e in r.output.expired if r.output.db.executions[e].status == FAILED}
    assert failed and all(f"[{r.output.db.executions[e].workflow_task.task_index}]" in reason for e in failed)


def test_a_row_failed_while_waiting_in_a_busy_worker_still_runs_and_completes_twice():
    """saturated-worker under head+recovery: a dispatch waiting in the worker (delivered, no
    permit yet) for more than 300 s has its row failed by the timeout monitor, with a
    completion; the worker then runs it anyway (HEAD's pre-check runs a failed row) and
    publishes a second completion for the same row (docs/spec-check.md, item 3)."""
    from collections import Counter

    from racesim.engine.runner import run_one
    from racesim.scenarios.loader import load

    cfg = config_for(load("saturated-worker"), Guards.parse("head+recovery"))
    r = run_one(cfg, 1, trace=True)
    twice = sorted(e for e, n in Counter(r.output.completions_published).items() if n > 1)
    assert twice, "some row was completed twice"
    for eid in twice:
        assert eid not in r.output.expired and r.output.db.executions[eid].status == "completed"
        steps = [(e.step, e.op, e.result) for e in events(r.output.records) if e.args and e.args[0] == eid]
        failed_at = steps.index(("R1", "CasExecutionStatus", True))  # the monitor won its compare-and-set
        assert ("W6", "SetExecutionStatus", None) in steps[failed_at:]  # and the worker finished it after
    # the checker names it: each of those rows finished (failed by R1) and was written again
    found = r.verdict.results["finished_overwritten"]
    assert found.verdict == "true" and found.by_task == {"process_items": len(twice)}
    for eid in twice:
        label = f"process_items[{r.output.db.executions[eid].workflow_task.task_index}]"
        assert f"{label}: failed by step R1, then running by step W4 (handed to workers once)" in found.details
    # without the recovery actors nothing fails a waiting row, so nothing finishes twice
    quiet = run_one(config_for(load("saturated-worker"), Guards.parse("head")), 1)
    assert quiet.verdict.results["finished_overwritten"].verdict == "false"
