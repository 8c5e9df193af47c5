"""A RabbitMQ adapter over pika with ``sim/broker.py``'s semantics.

One ``AmqpSession`` per actor thread (pika's BlockingConnection is not thread-safe). Queues
are per run: every name the model uses is prefixed with the run's prefix, declared by the
driver up front and deleted at cleanup. Publishes go through the default exchange straight
to the queue, as the simulated broker routes by queue name. Consumers take deliveries with
manual ack and a prefetch window (executor queues) or auto-ack (worker queues: attune's
worker acks on receipt, before the run).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial

import pika
import pika.exceptions
from racesim.models.ops import StoreError
from racesim.models.rows import Delivery, Message

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
POLL_SECONDS = 0.01  # how often a blocked consumer looks at the stop flag


def encode(message: Message) -> bytes:
    return json.dumps(
        {"kind": message.kind, "execution_id": message.execution_id, "status": message.status, "worker_id": message.worker_id}
    ).encode()


def decode(body: bytes) -> Message:
    d = json.loads(body)
    return Message(d["kind"], d["execution_id"], d.get("status"), d.get("worker_id"))


def connect(url: str, name: str) -> pika.BlockingConnection:
    params = pika.URLParameters(url)
    params.client_properties = {"connection_name": name}
    params.heartbeat = 0  # actors may sit in a long DB wait; short runs need no heartbeat
    params.blocked_connection_timeout = 10
    params.socket_timeout = 5
    return pika.BlockingConnection(params)


class AmqpSession:
    """One connection and channel, owned by one thread."""

    def __init__(self, url: str, prefix: str, name: str) -> None:
        self.prefix = prefix
        try:
            self.connection = connect(url, name)
            self.channel = self.connection.channel()
        except pika.exceptions.AMQPError as exc:
            raise StoreError(f"amqp connect: {type(exc).__name__}", transport=True) from exc
        self._deliveries: Iterator | None = None

    def qname(self, queue: str) -> str:
        return f"{self.prefix}{queue}"

    def publish(self, queue: str, message: Message) -> None:
        try:
            self.channel.basic_publish("", self.qname(queue), encode(message))
        except pika.exceptions.AMQPError as exc:
            raise StoreError(f"publish: {type(exc).__name__}", transport=True) from exc

    def start_consuming(self, queue: str, prefetch: int, auto_ack: bool) -> None:
        if not auto_ack:
            self.channel.basic_qos(prefetch_count=prefetch)
        self._deliveries = self.channel.consume(self.qname(queue), auto_ack=auto_ack, inactivity_timeout=POLL_SECONDS)

    def next_delivery(self, stop: threading.Event) -> Delivery | None:
        """Block until a delivery arrives (None once ``stop`` is set)."""
        assert self._deliveries is not None, "start_consuming first"
        while not stop.is_set():
            try:
                method, _props, body = next(self._deliveries)
            except pika.exceptions.AMQPError as exc:
                raise StoreError(f"consume: {type(exc).__name__}", transport=True) from exc
            if method is not None:
                return Delivery(method.delivery_tag, decode(body), bool(method.redelivered))
        return None

    def ack(self, tag: int) -> None:
        self.channel.basic_ack(tag)

    def ack_from_another_thread(self, tag: int) -> None:
        """Ack on this session's own thread, asked from another (a pika connection is not
        thread-safe; this is its one thread-safe call). Once the connection is closed there is
        nothing left to ack: its unacked deliveries went back to the queue."""
        try:
            self.connection.add_callback_threadsafe(partial(self.ack, tag))
        except pika.exceptions.AMQPError:
            pass

    def nack(self, tag: int, requeue: bool) -> None:
        # Without requeue the message is dropped (no dead-letter exchange here), as in the sim.
        self.channel.basic_nack(tag, requeue=requeue)

    def close(self) -> None:
        try:
            if self._deliveries is not None and self.channel.is_open:
                self.channel.cancel()  # unacked deliveries go back to the queue, as on a crash
            if self.connection.is_open:
                self.connection.close()
        except pika.exceptions.AMQPError:
            pass


class QueueAdmin:
    """Declares, measures and deletes a run's queues on its own connection."""

    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self.connection = connect(url, f"{prefix}admin")
        self.channel = self.connection.channel()
        self.declared: list[str] = []

    def declare(self, queue: str, ttl: float | None = None) -> None:
        """``ttl``: the queue's message TTL in seconds (x-message-ttl), if it has one."""
        name = f"{self.prefix}{queue}"
        # x-expires: a safety net should cleanup itself die; normal cleanup deletes at once.
        arguments: dict[str, int] = {"x-expires": 600_000}
        if ttl is not None:
            arguments["x-message-ttl"] = max(1, round(ttl * 1000))
        self.channel.queue_declare(name, durable=False, arguments=arguments)
        self.declared.append(name)

    def depth(self, queue: str) -> int:
        """Ready messages (not counting deliveries already pushed to a consumer)."""
        return self.channel.queue_declare(f"{self.prefix}{queue}", passive=True).method.message_count

    def delete_all(self) -> None:
        for name in self.declared:
            try:
                self.channel.queue_delete(name)
            except pika.exceptions.AMQPError:
                self.channel = self.connection.channel()  # a failed delete closes the channel
        self.declared.clear()

    def close(self) -> None:
        try:
            if self.connection.is_open:
                self.connection.close()
        except pika.exceptions.AMQPError:
            pass


def _rabbitmqctl(*args: str) -> list[str] | None:
    """Output lines of ``rabbitmqctl -q ARGS``, or None when it is unavailable or fails."""
    import shutil
    import subprocess

    if shutil.which("rabbitmqctl") is None:
        return None
    try:
        out = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=30, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    return out.splitlines()


def list_queues(prefix: str) -> list[str] | None:
    """Queue names starting with ``prefix`` via rabbitmqctl, or None if it is unavailable."""
    lines = _rabbitmqctl("list_queues", "name")
    return None if lines is None else [line.strip() for line in lines if line.strip().startswith(prefix)]


def list_connections(prefix: str) -> list[str] | None:
    """Client connection names starting with ``prefix`` via rabbitmqctl, or None."""
    lines = _rabbitmqctl("list_connections", "client_properties")
    return None if lines is None else [line for line in lines if prefix in line]
