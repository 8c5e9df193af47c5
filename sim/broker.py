"""Simulated broker: named FIFO queues, consumers with prefetch, ack/nack, redelivery.

Like RabbitMQ, the broker pushes ready messages to consumers round-robin while they have
prefetch credit; a delivery stays unacked until the consumer acks it, and the unacked
deliveries of a consumer that dies go back to the head of the queue, marked redelivered.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from racesim.models.rows import Delivery, Message


@dataclass(slots=True)
class Consumer:
    name: str
    queue: str
    prefetch: int
    auto_ack: bool  # the worker acks a dispatch on receipt, before it runs
    buffer: deque[Delivery] = field(default_factory=deque)  # pushed, not yet taken
    unacked: dict[int, Delivery] = field(default_factory=dict)
    waiters: deque[int] = field(default_factory=deque)  # actor ids blocked in Consume
    alive: bool = True


@dataclass(slots=True)
class Queue:
    name: str
    ready: deque[tuple[Message, bool]] = field(default_factory=deque)
    consumers: list[Consumer] = field(default_factory=list)
    turn: int = 0
    published: int = 0


class SimBroker:
    def __init__(self, wake: Callable[[int, Delivery], None]) -> None:
        self.queues: dict[str, Queue] = {}
        self.consumers: dict[str, Consumer] = {}
        self._wake = wake  # hands a delivery to a blocked actor
        self._next_tag = 1

    def close(self) -> None:
        """The run has ended: drop the wake-up hook (a bound method of the world, which
        would keep world and broker alive as a reference cycle)."""
        self._wake = _closed

    def queue(self, name: str) -> Queue:
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = Queue(name)
        return q

    def add_consumer(self, name: str, queue: str, prefetch: int, auto_ack: bool = False) -> Consumer:
        consumer = Consumer(name, queue, prefetch, auto_ack)
        self.consumers[name] = consumer
        q = self.queue(queue)
        q.consumers.append(consumer)
        self._push(q)
        return consumer

    def publish(self, queue: str, message: Message) -> None:
        q = self.queues.get(queue) or self.queue(queue)
        q.published += 1
        q.ready.append((message, False))
        if q.consumers:
            self._push(q)

    def consume(self, actor: int, consumer_name: str) -> Delivery | None:
        """The next delivery, or None after parking ``actor`` until one arrives."""
        consumer = self.consumers[consumer_name]
        if consumer.buffer:
            return consumer.buffer.popleft()
        consumer.waiters.append(actor)
        return None

    def ack(self, consumer_name: str, tag: int) -> None:
        consumer = self.consumers[consumer_name]
        consumer.unacked.pop(tag, None)
        self._push(self.queues[consumer.queue])

    def nack(self, consumer_name: str, tag: int, requeue: bool) -> None:
        consumer = self.consumers[consumer_name]
        delivery = consumer.unacked.pop(tag, None)
        q = self.queues[consumer.queue]
        if requeue and delivery is not None:
            q.ready.appendleft((delivery.message, True))
        # without requeue the message is dead-lettered: gone from the race path
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
        for delivery in reversed(back):
            q.ready.appendleft((delivery.message, True))
        self._push(q)
        return len(back)

    def _push(self, q: Queue) -> None:
        consumers = q.consumers
        n = len(consumers)
        ready = q.ready
        while ready and n:
            if n == 1:  # the common deployment: skip the round-robin scan (turn stays 0)
                consumer = consumers[0]
                if not (consumer.auto_ack or len(consumer.unacked) < consumer.prefetch):
                    return
                q.turn = 0
            else:
                for step in range(n):
                    consumer = consumers[(q.turn + step) % n]
                    if consumer.auto_ack or len(consumer.unacked) < consumer.prefetch:
                        q.turn = (q.turn + step + 1) % n
                        break
                else:
                    return  # nobody has credit
            message, redelivered = ready.popleft()
            tag = self._next_tag
            self._next_tag = tag + 1
            delivery = Delivery(tag, message, redelivered)
            if not consumer.auto_ack:
                consumer.unacked[tag] = delivery
            if consumer.waiters:
                self._wake(consumer.waiters.popleft(), delivery)
            else:
                consumer.buffer.append(delivery)


def _closed(actor: int, delivery: Delivery) -> None:
    raise RuntimeError("the run has ended: nothing can be delivered")
