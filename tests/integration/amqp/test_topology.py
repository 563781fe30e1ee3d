"""The topology can be declared by every service, any number of times."""

from __future__ import annotations

import pytest
from aio_pika.abc import AbstractRobustConnection

from git44_common.amqp import (
    REMOVAL_REQUESTED,
    Publisher,
    QueueFamily,
    Topology,
    declare_topology,
    delete_topology,
)
from git44_common.contracts import RemovalRequested

pytestmark = pytest.mark.integration


async def test_declaring_twice_on_two_channels_keeps_it_working(
    amqp_connection: AbstractRobustConnection, amqp_namespace: str
) -> None:
    topology = Topology(namespace=amqp_namespace)
    first = await amqp_connection.channel()
    second = await amqp_connection.channel()
    try:
        await declare_topology(first, topology)
        await declare_topology(second, topology)  # e.g. a second service starting
        await declare_topology(first, topology)

        publisher = Publisher(second, topology)
        sent = RemovalRequested(job_id="j1", user_id="u1")
        await publisher.publish(topology.jobs_exchange, REMOVAL_REQUESTED, sent)

        queue = await first.get_queue(topology.removal_queue)
        message = await queue.get(no_ack=True, timeout=5)
        assert RemovalRequested.model_validate_json(message.body) == sent
    finally:
        await delete_topology(first, topology)
        await first.close()
        await second.close()


async def test_every_queue_of_the_topology_exists(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    async with amqp_connection.channel() as channel:
        for spec in topology.queues():
            await channel.get_queue(spec.name)  # passive: raises if missing
    names = {spec.name for spec in topology.queues()}
    assert topology.delay_queue_for(QueueFamily.REMOVAL, 1)[0] in names
    assert topology.delay_queue_for(QueueFamily.WEBHOOKS, 7200)[0] in names
    assert all(name.endswith(topology.namespace) for name in names)
