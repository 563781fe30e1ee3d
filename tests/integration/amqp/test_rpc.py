"""RPC over direct reply-to: round trip, timeouts, error envelopes, correlation ids."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from git44_common.amqp import RpcClient, RpcError, RpcHandler, RpcServer, RpcTimeout, Topology
from git44_common.contracts import KeyAcquireRequest, KeyAcquireResult, KeyLease
from git44_common.correlation import get_correlation_id, reset_correlation_id, set_correlation_id

pytestmark = pytest.mark.integration

LEASE_UNTIL = datetime(2030, 1, 1, tzinfo=UTC)


async def acquire(params: dict[str, Any]) -> KeyAcquireResult:
    request = KeyAcquireRequest.model_validate(params)
    if request.worker_id == "cooling":
        return KeyAcquireResult.cooling_down(LEASE_UNTIL + timedelta(minutes=5))
    lease = KeyLease(key_id="k1", api_key="secret-key", lease_id="l1", lease_expires_at=LEASE_UNTIL)
    return KeyAcquireResult.granted(lease)


async def echo_correlation(params: dict[str, Any]) -> dict[str, Any]:
    return {"correlation_id": get_correlation_id()}


async def refuse(params: dict[str, Any]) -> dict[str, Any]:
    raise RpcError("no_such_job", "job j9 does not exist")


async def crash(params: dict[str, Any]) -> dict[str, Any]:
    raise ValueError("boom with a secret inside")


async def slow(params: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(float(params["seconds"]))
    return {"slept": params["seconds"]}


HANDLERS: dict[str, RpcHandler] = {
    "acquire": acquire,
    "correlation": echo_correlation,
    "refuse": refuse,
    "crash": crash,
    "slow": slow,
}


@pytest.fixture
async def server(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[RpcServer]:
    channel = await amqp_connection.channel()
    server = RpcServer(channel, queue_name=topology.keys_rpc_queue, handlers=HANDLERS, prefetch=4)
    await server.start()
    yield server
    await server.close(grace=2)
    await channel.close()


@pytest.fixture
async def client(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[RpcClient]:
    channel = await amqp_connection.channel()
    client = RpcClient(channel, queue_name=topology.keys_rpc_queue)
    await client.start()
    yield client
    await client.close()
    await channel.close()


@pytest.mark.usefixtures("server")
async def test_round_trip_returns_the_handler_result(client: RpcClient) -> None:
    request = KeyAcquireRequest(worker_id="w1", job_id="j1")
    reply = await client.call("acquire", request, timeout=5)
    result = KeyAcquireResult.model_validate(reply)
    assert result.outcome == "lease"
    assert result.lease is not None
    assert result.lease.api_key.get_secret_value() == "secret-key"
    assert result.lease.lease_expires_at == LEASE_UNTIL

    cooling = await client.call("acquire", {"worker_id": "cooling"}, timeout=5)
    assert KeyAcquireResult.model_validate(cooling).outcome == "cooldown"


async def test_call_times_out_cleanly_when_nobody_serves(
    client: RpcClient, topology: Topology, channel: AbstractChannel
) -> None:
    started = time.monotonic()
    with pytest.raises(RpcTimeout):
        await client.call("acquire", {"worker_id": "w1"}, timeout=0.5)
    assert 0.45 <= time.monotonic() - started < 1.5

    await asyncio.sleep(0.3)  # the request expired: no server will ever work on it
    queue = await channel.declare_queue(topology.keys_rpc_queue, passive=True)
    assert queue.declaration_result.message_count == 0


@pytest.mark.usefixtures("server")
async def test_errors_come_back_as_rpc_errors_and_the_server_keeps_serving(
    client: RpcClient,
) -> None:
    with pytest.raises(RpcError) as refused:
        await client.call("refuse", {}, timeout=5)
    assert refused.value.code == "no_such_job"

    with pytest.raises(RpcError) as crashed:
        await client.call("crash", {}, timeout=5)
    assert crashed.value.code == "internal_error"
    assert "secret" not in crashed.value.message

    with pytest.raises(RpcError) as unknown:
        await client.call("no_such_method", {}, timeout=5)
    assert unknown.value.code == "unknown_method"

    with pytest.raises(RpcError) as invalid:
        await client.call("acquire", {"job_id": "j1"}, timeout=5)
    assert invalid.value.code == "invalid_params"

    assert (await client.call("acquire", {"worker_id": "w1"}, timeout=5))["outcome"] == "lease"


@pytest.mark.usefixtures("server")
async def test_a_late_reply_is_dropped_and_does_not_answer_the_next_call(
    client: RpcClient,
) -> None:
    with pytest.raises(RpcTimeout):
        await client.call("slow", {"seconds": 0.4}, timeout=0.2)
    assert await client.call("slow", {"seconds": 0.3}, timeout=5) == {"slept": 0.3}


@pytest.mark.usefixtures("server")
async def test_correlation_id_travels_through_rpc(client: RpcClient) -> None:
    token = set_correlation_id("req-rpc-7")
    try:
        reply = await client.call("correlation", {}, timeout=5)
    finally:
        reset_correlation_id(token)
    assert reply == {"correlation_id": "req-rpc-7"}


@pytest.mark.usefixtures("server")
async def test_concurrent_calls_each_get_their_own_reply(client: RpcClient) -> None:
    replies = await asyncio.gather(
        *(client.call("slow", {"seconds": 0.01 * i}, timeout=5) for i in range(20))
    )
    assert replies == [{"slept": 0.01 * i} for i in range(20)]
