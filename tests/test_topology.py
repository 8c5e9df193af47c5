"""One topology: the simulator and the live driver build the same deployment from
``sim/topology.py`` (processes, consumers, who consumes what)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from racesim.engine.runner import config_for, make_scheduler
from racesim.models.guards import Guards
from racesim.models.rows import COMPLETED_QUEUE
from racesim.sim import topology
from racesim.sim.choices import ChoiceSource
from racesim.sim.config import Deployment
from racesim.sim.world import World

live_driver = pytest.importorskip("racesim.live.driver")  # needs psycopg and pika installed, not running


def _sim(config):
    world = World(config, make_scheduler("random"), ChoiceSource(1, config.timing))
    consumers = {c.name: (c.queue, c.prefetch, c.ack_on_take) for c in world.broker.consumers.values()}
    actors = {a.name: a.op.consumer for a in world.actors.values() if a.op is not None and hasattr(a.op, "consumer")}
    world.run()  # worker slots appear as work arrives
    slots = {a.name: a.group for a in world.actors.values() if ".slot" in a.name}
    return consumers, actors, slots


def _live(config):
    run = live_driver._Run(config, live_driver.LiveSettings(), 1, live_driver.Gates(), "t")
    live_driver.build_actors(run)
    consumers: dict[str, tuple[str, int]] = {}
    actors: dict[str, str] = {}
    for a in run.actors:
        consumers.update(a.consumers)
        if a.consumers and not a.actor.endswith(".feed"):
            [actors[a.actor]] = a.consumers
    feeds = {a.actor[: -len(".feed")]: next(iter(a.consumers.values())) for a in run.actors if a.actor.endswith(".feed")}
    slots = [a.actor for a in run.actors if ".slot" in a.actor]
    return consumers, actors, feeds, slots, run.local


@pytest.mark.parametrize("dep", [Deployment(), Deployment(replicas=2, workers=2, worker_slots=3, prefetch=4)])
def test_simulator_and_live_driver_build_the_same_deployment(fanin, dep):
    config = config_for(fanin, Guards.parse("serialized"), deployment=dep)
    sim_consumers, sim_actors, sim_slots = _sim(config)
    live_consumers, live_actors, feeds, live_slots, local = _live(config)
    # executors: the same consumers (queue, prefetch, manual ack), read by the same actors
    for name, spec in sim_consumers.items():
        if spec[2]:  # a worker's consumer: live, a feeder thread reads the queue (manual ack, same prefetch)
            assert feeds[name] == (spec[0], dep.worker_slots + 2) and name in local
            assert spec[1] == dep.worker_slots + 2  # attune's worker prefetch: its permits + 2
        else:
            assert live_consumers[name] == spec[:2]
    executor_consumers = {n for n in live_consumers if not n.endswith(".mq")}  # the feeders' are ".mq"
    assert {n for n, s in sim_consumers.items() if not s[2]} == executor_consumers
    assert live_actors == {n: c for n, c in sim_actors.items() if not sim_consumers[c][2]}
    # workers: the simulator's slots (created on demand) are among the live ones, all of them
    assert set(sim_slots) <= set(live_slots)
    assert len(live_slots) == dep.workers * dep.worker_slots
    assert len(feeds) == dep.workers
    # one completion consumer per executor process, as the spec has it
    completions = [n for n, s in live_consumers.items() if s[0] == COMPLETED_QUEUE]
    assert len(completions) == dep.replicas


def test_the_description_is_one_completion_consumer_per_executor_shared_by_its_handlers():
    dep = Deployment(replicas=2, listeners=3)
    procs = topology.topology(dep)
    execs = [p for p in procs if p.group.startswith("exec")]
    assert len(execs) == 2
    for p in execs:
        [completions] = [c for c in p.consumers if c.name.endswith(".completions")]
        listeners = [a for a in p.actors if a.role == topology.LISTENER]
        assert len(listeners) == 3 and {a.consumer for a in listeners} == {completions.name}
    assert [a.name for a in topology.executor(dep, 0, 2).actors][0] == "exec0r2.scheduler"


def test_live_refuses_more_than_one_handler_per_executor(fanin):
    config = config_for(fanin, Guards.parse("fix"), deployment=replace(fanin.deployment, listeners=2))
    with pytest.raises(ValueError, match="one completion handler per executor"):
        live_driver.run_live(config)
