"""The service connection: readiness reflects it, and publish/consume survive a reconnect."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aio_pika.abc import AbstractIncomingMessage

from git44_common.amqp import (
    REMOVAL_REQUESTED,
    Publisher,
    RpcClient,
    RpcServer,
    Topology,
    connect,
    is_connection_open,
    start_consumer,
)
from git44_common.contracts import RemovalRequested

pytestmark = pytest.mark.integration


async def test_is_connection_open_follows_the_connection(amqp_url: str) -> None:
    connection = await connect(amqp_url, name="git44-test-readiness")
    assert is_connection_open(connection)
    await connection.close()
    assert not is_connection_open(connection)
    assert not is_connection_open(None)


async def test_publisher_and_consumer_keep_working_after_a_reconnect(
    amqp_url: str, topology: Topology
) -> None:
    connection = await connect(amqp_url, name="git44-test-reconnect", reconnect_interval=0.2)
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def handle(payload: RemovalRequested, message: AbstractIncomingMessage) -> None:
        await seen.put(payload.job_id)

    try:
        publisher = await Publisher.open(connection, topology)
        channel = await connection.channel()
        await start_consumer(
            channel, topology.removal_queue, handle, model=RemovalRequested, prefetch=1
        )
        await connection.reconnect()  # drops the socket; the robust connection restores
        payload = RemovalRequested(job_id="after-reconnect", user_id="u1")
        await publisher.publish(topology.jobs_exchange, REMOVAL_REQUESTED, payload, timeout=10)
        assert await asyncio.wait_for(seen.get(), 10) == "after-reconnect"
        assert is_connection_open(connection)
    finally:
        await connection.close()


async def test_rpc_client_and_server_keep_working_after_a_reconnect(
    amqp_url: str, topology: Topology
) -> None:
    connection = await connect(amqp_url, name="git44-test-rpc-reconnect", reconnect_interval=0.2)

    async def ping(params: dict[str, Any]) -> dict[str, Any]:
        return {"pong": params["n"]}

    try:
        server_channel, client_channel = await connection.channel(), await connection.channel()
        server = RpcServer(
            server_channel, queue_name=topology.keys_rpc_queue, handlers={"ping": ping}
        )
        await server.start()
        client = RpcClient(client_channel, queue_name=topology.keys_rpc_queue)
        assert await client.call("ping", {"n": 1}, timeout=5) == {"pong": 1}
        await connection.reconnect()
        await connection.ready()
        assert await client.call("ping", {"n": 2}, timeout=5) == {"pong": 2}
    finally:
        await connection.close()
