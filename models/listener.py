"""The executor's completion listener (spec 3.2): one message at a time, ack after."""

from __future__ import annotations

from collections.abc import Generator

from racesim.models.advance import advance_workflow
from racesim.models.guards import Guards
from racesim.models.ops import Ack, Consume, Nack, ReadExecution, StoreError
from racesim.models.rows import COMPLETED_QUEUE, Delivery


def completion_listener(guards: Guards, consumer: str) -> Generator:
    while True:
        delivery: Delivery = yield Consume("L0", consumer, COMPLETED_QUEUE)
        try:
            x = yield ReadExecution("L1", delivery.message.execution_id)
        except StoreError:
            # Not retriable: dead-lettered, never requeued.
            yield Nack("L1", consumer, COMPLETED_QUEUE, delivery.tag, False)
            continue
        if x.workflow_task is not None:
            try:
                yield from advance_workflow(guards, x)
            except StoreError as error:
                # SERIALIZED: transport errors requeue; everything else (and every error
                # in PRE/FIX) is logged and swallowed, and the message is acked.
                if guards.lock and error.transport:
                    yield Nack("L3", consumer, COMPLETED_QUEUE, delivery.tag, True)
                    continue
        yield Ack("L4", consumer, COMPLETED_QUEUE, delivery.tag)
