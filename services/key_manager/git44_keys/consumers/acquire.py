"""The `acquire` RPC on `git44.keys.acquire`: params `KeyAcquireRequest` → `KeyAcquireResult`."""

from __future__ import annotations

from typing import Any

from aio_pika.abc import AbstractChannel

from git44_common.amqp import RpcServer, Topology
from git44_common.contracts import KeyAcquireRequest, KeyAcquireResult
from git44_keys.pool import KeyPool

ACQUIRE = "acquire"


async def start_acquire_server(
    channel: AbstractChannel, topology: Topology, pool: KeyPool, *, prefetch: int
) -> RpcServer:
    """Serve `acquire` until the returned server is closed."""

    async def acquire(params: dict[str, Any]) -> KeyAcquireResult:
        # A ValidationError becomes an `invalid_params` error reply (RpcServer).
        return await pool.acquire(KeyAcquireRequest.model_validate(params))

    server = RpcServer(
        channel, queue_name=topology.keys_rpc_queue, handlers={ACQUIRE: acquire}, prefetch=prefetch
    )
    await server.start()
    return server
