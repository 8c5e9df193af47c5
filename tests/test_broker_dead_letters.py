"""Where attune's dead-lettered messages go, checked against the real RabbitMQ.

attune declares its dead-letter exchange as a *direct* exchange and binds the dead-letter
queue to it with the key ``#``; no queue sets ``x-dead-letter-routing-key``, so a message
is dead-lettered under its own routing key (``execution.dispatch.worker.1``, or the queue's
name), which a direct binding on ``#`` never matches. RabbitMQ then drops it. This is why
racesim's broker drops a message that expires or is rejected without requeue, and why the
executor's dead-letter handler is not modelled: it never receives anything
(docs/spec-check.md). The control case, the same layout with a topic exchange, shows the
test would see a dead letter if one were routed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

pika = pytest.importorskip("pika", reason="pika not installed (pip install -e '.[live]')")

pytestmark = pytest.mark.services  # RabbitMQ

TTL_MS = 50  # attune: 300,000 ms on every worker queue
DISPATCH_KEY = "execution.dispatch.worker.1"  # attune's key for worker 1's queue


@pytest.fixture
def channel(rabbitmq) -> Iterator[object]:
    params = pika.ConnectionParameters("127.0.0.1", 5672, credentials=pika.PlainCredentials("guest", "guest"))
    connection = pika.BlockingConnection(params)
    try:
        yield connection.channel()
    finally:
        connection.close()


class Layout:
    """attune's layout under names of this test: a topic exchange for executions, a worker
    queue bound to it with a TTL and a dead-letter exchange, and the dead-letter queue bound
    to that exchange with ``#``."""

    def __init__(self, channel, dlx_kind: str, tag: str) -> None:
        prefix = f"racesim.dlxtest.{os.getpid()}.{tag}"
        self.channel = channel
        self.executions = f"{prefix}.executions"
        self.dlx = f"{prefix}.dlx"
        self.dlq = f"{prefix}.dlx.queue"
        self.worker = f"{prefix}.worker.1.executions"
        channel.exchange_declare(self.executions, "topic", auto_delete=False)
        channel.exchange_declare(self.dlx, dlx_kind, auto_delete=False)
        channel.queue_declare(self.dlq)
        channel.queue_bind(self.dlq, self.dlx, routing_key="#")
        channel.queue_declare(self.worker, arguments={"x-dead-letter-exchange": self.dlx, "x-message-ttl": TTL_MS})
        channel.queue_bind(self.worker, self.executions, routing_key=DISPATCH_KEY)

    def count(self, queue: str) -> int:
        return self.channel.queue_declare(queue, passive=True).method.message_count

    def settle(self, queue: str, expect: int) -> int:
        """The queue's count once it reaches ``expect`` or a second has passed."""
        deadline = time.monotonic() + 1.0
        while (n := self.count(queue)) != expect and time.monotonic() < deadline:
            time.sleep(0.02)
        return n

    def remove(self) -> None:
        for queue in (self.worker, self.dlq):
            self.channel.queue_delete(queue)
        for exchange in (self.executions, self.dlx):
            self.channel.exchange_delete(exchange)


@pytest.fixture
def layout(channel):
    made: list[Layout] = []

    def make(dlx_kind: str, tag: str) -> Layout:
        made.append(Layout(channel, dlx_kind, tag))
        return made[-1]

    yield make
    for lay in made:
        lay.remove()


def test_an_expired_dispatch_is_dropped_not_dead_lettered(layout):
    lay = layout("direct", "expire")
    lay.channel.basic_publish(lay.executions, DISPATCH_KEY, b'{"execution_id": 7}')
    time.sleep(4 * TTL_MS / 1000)
    assert lay.settle(lay.worker, 0) == 0  # it expired
    assert lay.settle(lay.dlq, 1) == 0  # and no dead letter arrived


def test_a_rejected_message_is_dropped_not_dead_lettered(layout):
    """A nack without requeue (the scheduler's S6, the listener's L0/L1) takes the same road."""
    lay = layout("direct", "reject")
    lay.channel.basic_publish(lay.executions, DISPATCH_KEY, b'{"execution_id": 8}')
    method, _props, _body = lay.channel.basic_get(lay.worker)
    assert method is not None
    lay.channel.basic_nack(method.delivery_tag, requeue=False)
    assert lay.settle(lay.dlq, 1) == 0


def test_control_a_topic_dead_letter_exchange_would_route_it(layout):
    """The same layout with a topic exchange: ``#`` matches every key, the expired message
    arrives in the dead-letter queue (so the tests above can tell the two apart)."""
    lay = layout("topic", "control")
    lay.channel.basic_publish(lay.executions, DISPATCH_KEY, b'{"execution_id": 9}')
    assert lay.settle(lay.dlq, 1) == 1
    assert lay.count(lay.worker) == 0
