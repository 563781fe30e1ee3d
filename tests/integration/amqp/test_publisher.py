"""Publishing: confirmed, persistent JSON; unroutable is an error; delays by tier."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from aio_pika import DeliveryMode
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from git44_common.amqp import (
    JOB_EVENTS,
    REMOVAL_REQUESTED,
    Publisher,
    PublishError,
    PublishNacked,
    PublishUnroutable,
    QueueFamily,
    Topology,
    job_event_key,
)
from git44_common.contracts import JobEvent, JobStatus, RemovalRequested
from git44_common.correlation import (
    CORRELATION_HEADER,
    TRACEPARENT_HEADER,
    reset_correlation_id,
    reset_traceparent,
    set_correlation_id,
    set_traceparent,
)

pytestmark = pytest.mark.integration

GetMessage = Callable[[str, float], Awaitable[AbstractIncomingMessage | None]]
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_confirmed_publish_delivers_persistent_json_with_tracing_headers(
    topology: Topology, publisher: Publisher, get_message: GetMessage
) -> None:
    sent = RemovalRequested(job_id="j1", user_id="u1", attempt=2)
    tokens = set_correlation_id("corr-1"), set_traceparent(TRACEPARENT)
    try:
        await publisher.publish(topology.jobs_exchange, REMOVAL_REQUESTED, sent, message_id="j1:2")
    finally:
        reset_correlation_id(tokens[0])
        reset_traceparent(tokens[1])

    message = await get_message(topology.removal_queue, 5)
    assert message is not None
    assert RemovalRequested.model_validate_json(message.body) == sent
    assert message.content_type == "application/json"
    assert message.delivery_mode == DeliveryMode.PERSISTENT
    assert message.type == "RemovalRequested"
    assert message.message_id == "j1:2"
    assert message.timestamp is not None
    assert message.headers[CORRELATION_HEADER] == "corr-1"
    assert message.headers[TRACEPARENT_HEADER] == TRACEPARENT


async def test_publishing_to_an_unroutable_key_raises(
    topology: Topology, publisher: Publisher
) -> None:
    payload = RemovalRequested(job_id="j1", user_id="u1")
    with pytest.raises(PublishUnroutable):
        await publisher.publish(topology.jobs_exchange, "no.such.key", payload)
    with pytest.raises(PublishError):
        await publisher.publish("", "git44.no-such-queue" + topology.namespace, payload)


async def test_publisher_recovers_after_its_channel_is_closed_by_the_broker(
    topology: Topology, publisher: Publisher, get_message: GetMessage
) -> None:
    payload = RemovalRequested(job_id="j1", user_id="u1")
    with pytest.raises(PublishError):  # 404: the broker closes the channel
        await publisher.publish("git44.missing" + topology.namespace, "x", payload)
    await publisher.publish(topology.jobs_exchange, REMOVAL_REQUESTED, payload)
    assert await get_message(topology.removal_queue, 5) is not None


async def test_a_nacked_publish_gets_the_publisher_a_new_channel(
    topology: Topology, publisher: Publisher, channel: AbstractChannel, get_message: GetMessage
) -> None:
    """A RabbitMQ 3.10 channel can stay nacked for good after a quorum queue's leader
    election (rabbitmq-server#9241): after a nack the publisher reopens its channel. A
    full queue that rejects publishes stands in for the broker's refusal."""
    full = "git44.full" + topology.namespace
    args = {"x-max-length": 0, "x-overflow": "reject-publish"}
    await channel.declare_queue(full, arguments=args)
    payload = RemovalRequested(job_id="j1", user_id="u1")
    try:
        await publisher.publish(topology.jobs_exchange, REMOVAL_REQUESTED, payload)
        before = await publisher._channel.get_underlay_channel()
        nacked = [publisher.publish("", full, payload) for _ in range(3)]
        outcomes = await asyncio.gather(*nacked, return_exceptions=True)
        assert all(isinstance(outcome, PublishNacked) for outcome in outcomes), outcomes
        await publisher.publish(topology.jobs_exchange, REMOVAL_REQUESTED, payload)
        after = await publisher._channel.get_underlay_channel()
        assert after is not before
        assert before.is_closed
        for _ in range(2):
            assert await get_message(topology.removal_queue, 5) is not None
    finally:
        await channel.queue_delete(full)


async def test_delayed_publish_arrives_after_the_tier_ttl_and_not_before(
    topology: Topology, publisher: Publisher, channel: AbstractChannel
) -> None:
    arrived: asyncio.Queue[float] = asyncio.Queue()
    queue = await channel.get_queue(topology.removal_queue)

    async def on_message(message: AbstractIncomingMessage) -> None:
        await message.ack()
        await arrived.put(time.monotonic())

    await queue.consume(on_message)
    started = time.monotonic()
    tier = await publisher.publish_delayed(
        QueueFamily.REMOVAL, RemovalRequested(job_id="j1", user_id="u1"), 1.4
    )
    assert tier == 1
    at = await asyncio.wait_for(arrived.get(), 5)
    assert 0.9 <= at - started < 2.5


async def test_job_events_reach_a_subscriber_of_the_topic(
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
    publisher: Publisher,
    channel: AbstractChannel,
    get_message: GetMessage,
) -> None:
    subscriber = await channel.declare_queue(exclusive=True)
    await subscriber.bind(topology.events_exchange, JOB_EVENTS)
    event = JobEvent(job_id="j1", user_id="u1", status=JobStatus.SUCCESS, output_link="https://x")
    await publisher.publish_event(job_event_key(event.status), event)
    # Nobody subscribes to key events here: that must not be an error.
    await publisher.publish_event("key.limited", event)

    message = await get_message(subscriber.name, 5)
    assert message is not None
    assert message.routing_key == "job.success"
    assert message.message_id == event.event_id
    assert JobEvent.model_validate_json(message.body) == event
