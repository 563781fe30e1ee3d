"""A consumed message is acked only when handled; otherwise requeued or dead-lettered."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from git44_common.amqp import (
    REMOVAL_REQUESTED,
    Publisher,
    RejectMessage,
    Topology,
    start_consumer,
)
from git44_common.contracts import RemovalRequested
from git44_common.correlation import get_correlation_id, reset_correlation_id, set_correlation_id

pytestmark = pytest.mark.integration

GetMessage = Callable[[str, float], Awaitable[AbstractIncomingMessage | None]]
Seen = asyncio.Queue[tuple[RemovalRequested, AbstractIncomingMessage]]


def job(job_id: str = "job-1") -> RemovalRequested:
    return RemovalRequested(job_id=job_id, user_id="user-1")


async def submit(publisher: Publisher, payload: RemovalRequested) -> None:
    topology = publisher.topology
    await publisher.publish(topology.jobs_exchange, REMOVAL_REQUESTED, payload)


async def test_unacked_message_survives_a_consumer_crash(
    amqp_url: str, topology: Topology, publisher: Publisher, channel: AbstractChannel
) -> None:
    crashing = await aio_pika.connect(amqp_url)
    crash_channel = await crashing.channel()
    delivered = asyncio.Event()

    async def take_without_ack(message: AbstractIncomingMessage) -> None:
        delivered.set()

    queue = await crash_channel.get_queue(topology.removal_queue)
    await queue.consume(take_without_ack)
    await submit(publisher, job())
    await asyncio.wait_for(delivered.wait(), 5)
    await crashing.close()  # the worker dies mid-job

    seen: Seen = asyncio.Queue()

    async def handle(payload: RemovalRequested, message: AbstractIncomingMessage) -> None:
        await seen.put((payload, message))

    consumer = await start_consumer(
        channel, topology.removal_queue, handle, model=RemovalRequested, prefetch=1
    )
    payload, message = await asyncio.wait_for(seen.get(), 5)
    await consumer.cancel()
    assert payload.job_id == "job-1"
    assert message.redelivered is True


async def test_rejected_message_is_dead_lettered(
    topology: Topology, publisher: Publisher, channel: AbstractChannel, get_message: GetMessage
) -> None:
    async def handle(payload: RemovalRequested, message: AbstractIncomingMessage) -> None:
        raise RejectMessage("job does not exist")

    consumer = await start_consumer(
        channel, topology.removal_queue, handle, model=RemovalRequested, prefetch=1
    )
    await submit(publisher, job("doomed"))
    dead = await get_message(topology.removal_dead_queue, 5)
    await consumer.cancel()
    assert dead is not None
    assert RemovalRequested.model_validate_json(dead.body).job_id == "doomed"


async def test_malformed_body_is_dead_lettered_without_calling_the_handler(
    topology: Topology, channel: AbstractChannel, get_message: GetMessage
) -> None:
    calls: list[RemovalRequested] = []

    async def handle(payload: RemovalRequested, message: AbstractIncomingMessage) -> None:
        calls.append(payload)

    consumer = await start_consumer(
        channel, topology.removal_queue, handle, model=RemovalRequested, prefetch=1
    )
    jobs = await channel.get_exchange(topology.jobs_exchange)
    await jobs.publish(aio_pika.Message(b"{not json"), REMOVAL_REQUESTED)
    await jobs.publish(aio_pika.Message(b'{"schema_version": 9}'), REMOVAL_REQUESTED)
    first = await get_message(topology.removal_dead_queue, 5)
    second = await get_message(topology.removal_dead_queue, 5)
    await consumer.cancel()
    assert first is not None
    assert second is not None
    assert {first.body, second.body} == {b"{not json", b'{"schema_version": 9}'}
    assert calls == []


async def test_handler_exception_requeues_the_message(
    topology: Topology, publisher: Publisher, channel: AbstractChannel
) -> None:
    redelivered: list[bool] = []
    done = asyncio.Event()

    async def handle(payload: RemovalRequested, message: AbstractIncomingMessage) -> None:
        redelivered.append(bool(message.redelivered))
        if len(redelivered) == 1:
            raise RuntimeError("upstream hiccup")
        done.set()

    consumer = await start_consumer(
        channel, topology.removal_queue, handle, model=RemovalRequested, prefetch=1
    )
    await submit(publisher, job())
    await asyncio.wait_for(done.wait(), 5)
    await consumer.cancel()
    assert redelivered == [False, True]


async def test_poison_message_is_dead_lettered_after_the_delivery_limit(
    topology: Topology, publisher: Publisher, channel: AbstractChannel, get_message: GetMessage
) -> None:
    attempts = 0

    async def handle(payload: RemovalRequested, message: AbstractIncomingMessage) -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("always fails")

    consumer = await start_consumer(
        channel, topology.removal_queue, handle, model=RemovalRequested, prefetch=1
    )
    await submit(publisher, job("poison"))
    dead = await get_message(topology.removal_dead_queue, 5)
    await consumer.cancel()
    assert dead is not None
    assert attempts == topology.delivery_limit + 1


async def test_publisher_correlation_id_reaches_the_handler(
    topology: Topology, publisher: Publisher, channel: AbstractChannel
) -> None:
    seen: asyncio.Queue[str | None] = asyncio.Queue()

    async def handle(payload: RemovalRequested, message: AbstractIncomingMessage) -> None:
        await seen.put(get_correlation_id())

    consumer = await start_consumer(
        channel, topology.removal_queue, handle, model=RemovalRequested, prefetch=1
    )
    token = set_correlation_id("req-42")
    try:
        await submit(publisher, job())
    finally:
        reset_correlation_id(token)
    assert await asyncio.wait_for(seen.get(), 5) == "req-42"
    await consumer.cancel()
    assert get_correlation_id() is None  # the handler's context did not leak


async def test_cancel_waits_for_the_handler_in_flight(
    amqp_connection: AbstractRobustConnection, topology: Topology, publisher: Publisher
) -> None:
    started, finished = asyncio.Event(), asyncio.Event()

    async def handle(payload: RemovalRequested, message: AbstractIncomingMessage) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.set()

    channel = await amqp_connection.channel()
    consumer = await start_consumer(
        channel, topology.removal_queue, handle, model=RemovalRequested, prefetch=1
    )
    await submit(publisher, job())
    await asyncio.wait_for(started.wait(), 5)
    await consumer.cancel(grace=5)
    assert finished.is_set()
    assert consumer.in_flight == 0
    queue = await channel.declare_queue(topology.removal_queue, passive=True)
    assert queue.declaration_result.message_count == 0  # it was acked, not requeued
    await channel.close()
