"""AMQP fixtures: a freshly declared topology per test (deleted afterwards) and helpers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from git44_common.amqp import Publisher, Topology, declare_topology, delete_topology

# Small, so the poison-message test needs only a few deliveries.
TEST_DELIVERY_LIMIT = 2

GetMessage = Callable[[str, float], Awaitable[AbstractIncomingMessage | None]]


@pytest.fixture
async def topology(
    amqp_connection: AbstractRobustConnection, amqp_namespace: str
) -> AsyncIterator[Topology]:
    topology = Topology(namespace=amqp_namespace, delivery_limit=TEST_DELIVERY_LIMIT)
    async with amqp_connection.channel() as channel:
        await declare_topology(channel, topology)
    yield topology
    async with amqp_connection.channel() as channel:
        await delete_topology(channel, topology)


@pytest.fixture
async def channel(amqp_connection: AbstractRobustConnection) -> AsyncIterator[AbstractChannel]:
    channel = await amqp_connection.channel()
    try:
        yield channel
    finally:
        if not channel.is_closed:
            await channel.close()


@pytest.fixture
async def publisher(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[Publisher]:
    publisher = await Publisher.open(amqp_connection, topology)
    try:
        yield publisher
    finally:
        await publisher.close()


@pytest.fixture
def get_message(channel: AbstractChannel) -> GetMessage:
    """Poll a queue (basic.get, auto-ack) until a message arrives or `within` s pass."""

    async def get(queue_name: str, within: float) -> AbstractIncomingMessage | None:
        queue = await channel.get_queue(queue_name)
        deadline = asyncio.get_running_loop().time() + within
        while True:
            message = await queue.get(no_ack=True, fail=False)
            if message is not None or asyncio.get_running_loop().time() >= deadline:
                return message
            await asyncio.sleep(0.05)

    return get
