"""Simulated broker: named FIFO queues, consumers with prefetch, ack/nack, redelivery.

Like RabbitMQ, the broker pushes ready messages to consumers round-robin while they have
prefetch credit; a delivery stays unacked until the consumer acks it, and the unacked
deliveries of a consumer that dies go back to the head of the queue, marked redelivered.

A queue may have a message TTL (attune: every worker queue, 300 s): a message still ready
(not yet pushed to a consumer) that long is dropped. attune declares a dead-letter exchange
for its queues, but as a direct exchange whose queue is bound with ``#``, so a message
dead-lettered under its own routing key is routed nowhere and RabbitMQ drops it
(``tests/test_broker_dead_letters.py`` shows it on the real broker): an expired message and
one rejected without requeue are both simply gone. Expiry is applied when the broker next
looks at the queue's head; no actor can tell that from expiry at the exact instant, since a
ready message is only ever seen by being pushed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from racesim.models.rows import Delivery, Message
from racesim.sim.db import Clock


@dataclass(slots=True)
class Consumer:
    name: str
    queue: str
    prefetch: int
    ack_on_take: bool  # acked as its actor takes a delivery (a worker slot, holding a permit), not by an Ack op
    buffer: deque[Delivery] = field(default_factory=deque)  # pushed, not yet taken
    unacked: dict[int, tuple[Delivery, float]] = field(default_factory=dict)  # tag -> (delivery, enqueued at)
    waiters: deque[int] = field(default_factory=deque)  # actor ids blocked in Consume
    alive: bool = True


@dataclass(slots=True)
class Queue:
    name: str
    ready: deque[tuple[Message, bool, float]] = field(default_factory=deque)  # (message, redelivered, enqueued at)
    consumers: list[Consumer] = field(default_factory=list)
    turn: int = 0
    published: int = 0
    ttl: float | None = None  # message TTL in seconds (x-message-ttl); None: messages never expire


class SimBroker:
    def __init__(
        self,
        wake: Callable[[int, Delivery], None],
        clock: Clock | None = None,
        on_expire: Callable[[str, Message], None] | None = None,
    ) -> None:
        """``clock``: read to stamp and age messages of a queue with a TTL (the world passes
        simpy's environment); without one, no queue may have a TTL. ``on_expire``: told of
        each message dropped at its TTL (the world records it in a traced run)."""
        self._clock: Clock = clock if clock is not None else _NO_CLOCK
        self._on_expire = on_expire
        self.queues: dict[str, Queue] = {}
        self.consumers: dict[str, Consumer] = {}
        self.expired: list[tuple[str, Message]] = []  # (queue, message) dropped at its TTL, in order
        self._wake = wake  # hands a delivery to a blocked actor
        self._next_tag = 1

    def close(self) -> None:
        """The run has ended: drop the wake-up hook (a bound method of the world, which
        would keep world and broker alive as a reference cycle)."""
        self._wake = _closed
        self._on_expire = None

    def queue(self, name: str) -> Queue:
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = Queue(name)
        return q

    def add_consumer(self, name: str, queue: str, prefetch: int, ack_on_take: bool = False) -> Consumer:
        consumer = Consumer(name, queue, prefetch, ack_on_take)
        self.consumers[name] = consumer
        q = self.queue(queue)
        q.consumers.append(consumer)
        self._push(q)
        return consumer

    def publish(self, queue: str, message: Message) -> None:
        q = self.queues.get(queue) or self.queue(queue)
        q.published += 1
        q.ready.append((message, False, 0.0 if q.ttl is None else self._clock.now))
        if q.consumers:
            self._push(q)

    def consume(self, actor: int, consumer_name: str) -> Delivery | None:
        """The next delivery, or None after parking ``actor`` until one arrives."""
        consumer = self.consumers[consumer_name]
        if consumer.buffer:
            delivery = consumer.buffer.popleft()
            if consumer.ack_on_take:  # taken: acked, and the credit goes to the next message
                consumer.unacked.pop(delivery.tag, None)
                q = self.queues[consumer.queue]
                if q.ready:
                    self._push(q)
            return delivery
        consumer.waiters.append(actor)
        return None

    def ack(self, consumer_name: str, tag: int) -> None:
        consumer = self.consumers[consumer_name]
        consumer.unacked.pop(tag, None)
        self._push(self.queues[consumer.queue])

    def set_ttl(self, queue: str, ttl: float | None) -> None:
        """Give ``queue`` a message TTL in seconds (None: messages never expire)."""
        if ttl is not None and self._clock is _NO_CLOCK:
            raise RuntimeError("a queue with a TTL needs the broker's clock")
        self.queue(queue).ttl = ttl

    def nack(self, consumer_name: str, tag: int, requeue: bool) -> None:
        consumer = self.consumers[consumer_name]
        held = consumer.unacked.pop(tag, None)
        q = self.queues[consumer.queue]
        if requeue and held is not None:
            delivery, at = held
            q.ready.appendleft((delivery.message, True, at))  # a requeued message keeps its age
        # without requeue the message is dead-lettered, and attune's dead-letter exchange
        # routes it nowhere (module docstring): gone from the race path
        self._push(q)

    def kill_consumer(self, consumer_name: str) -> int:
        """The consumer's connection died: its unacked deliveries return to the queue head
        in their original order. Returns how many were requeued."""
        consumer = self.consumers[consumer_name]
        consumer.alive = False
        consumer.waiters.clear()
        consumer.buffer.clear()
        q = self.queues[consumer.queue]
        q.consumers.remove(consumer)
        back = [consumer.unacked[tag] for tag in sorted(consumer.unacked)]
        consumer.unacked.clear()
        for delivery, at in reversed(back):
            q.ready.appendleft((delivery.message, True, at))
        self._push(q)
        return len(back)

    def _push(self, q: Queue) -> None:
        consumers = q.consumers
        n = len(consumers)
        ready = q.ready
        if q.ttl is not None and ready and n and self._clock.now - ready[0][2] >= q.ttl:
            self._expire(q)
        while ready and n:
            if n == 1:  # the common deployment: skip the round-robin scan (turn stays 0)
                consumer = consumers[0]
                if len(consumer.unacked) >= consumer.prefetch:
                    return
                q.turn = 0
            else:
                for step in range(n):
                    consumer = consumers[(q.turn + step) % n]
                    if len(consumer.unacked) < consumer.prefetch:
                        q.turn = (q.turn + step + 1) % n
                        break
                else:
                    return  # nobody has credit
            message, redelivered, at = ready.popleft()
            tag = self._next_tag
            self._next_tag = tag + 1
            delivery = Delivery(tag, message, redelivered)
            if consumer.waiters:  # an idle actor takes it at once
                if not consumer.ack_on_take:
                    consumer.unacked[tag] = (delivery, at)
                self._wake(consumer.waiters.popleft(), delivery)
            else:
                consumer.unacked[tag] = (delivery, at)
                consumer.buffer.append(delivery)

    def _expire(self, q: Queue) -> None:
        """Drop the messages at the head of ``q`` that have waited its TTL (one TTL for the
        whole queue, so the oldest are at the head; a requeued one is older still)."""
        ttl = q.ttl
        assert ttl is not None
        now = self._clock.now
        ready = q.ready
        while ready and now - ready[0][2] >= ttl:  # Q1: expired, and dead-lettered to nowhere
            message = ready.popleft()[0]
            self.expired.append((q.name, message))
            if self._on_expire is not None:
                self._on_expire(q.name, message)


class _NoClock:
    """The clock of a broker given none: fine until a queue would need the time."""

    @property
    def now(self) -> float:
        raise RuntimeError("a queue with a TTL needs the broker's clock")


_NO_CLOCK = _NoClock()


def _closed(actor: int, delivery: Delivery) -> None:
    raise RuntimeError("the run has ended: nothing can be delivered")
