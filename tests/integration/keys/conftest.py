"""key-manager running in-process (real lifespan: Mongo, RabbitMQ, RPC server, release
consumer, maintenance) against the suite's servers, plus a worker-side client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from git44_common.amqp import (
    KEYS_RELEASE,
    Publisher,
    PublishUnroutable,
    RpcClient,
    Topology,
    keys_release_routing_key,
)
from git44_common.contracts import (
    KeyAcquireRequest,
    KeyAcquireResult,
    KeyLease,
    KeyRelease,
    ReleaseOutcome,
)
from git44_common.mongo import Database
from git44_keys.context import KeysContext
from git44_keys.core.config import KeysSettings
from git44_keys.main import create_app
from tests.utils.tokens import TokenIssuer

pytestmark = pytest.mark.integration

SEED = ("itest-key-aaaa-1111", "itest-key-bbbb-2222", "itest-key-cccc-3333")


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 5.0, every: float = 0.05
) -> None:
    """Wait until `check()` is true; fail the test after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(every)


class KeyManagerClient:
    """What a worker does: acquire over RPC, release over the keys exchange to the
    replica that granted the lease (the shared queue when that one is gone)."""

    def __init__(self, rpc: RpcClient, publisher: Publisher, topology: Topology) -> None:
        self.rpc = rpc
        self.publisher = publisher
        self.topology = topology

    async def acquire(self, worker_id: str = "w1", job_id: str | None = "j1") -> KeyAcquireResult:
        request = KeyAcquireRequest(worker_id=worker_id, job_id=job_id)
        reply = await self.rpc.call("acquire", request, timeout=10)
        return KeyAcquireResult.model_validate(reply)

    async def lease(self, **kwargs: Any) -> KeyLease:
        result = await self.acquire(**kwargs)
        assert result.lease is not None, result
        return result.lease

    async def release(
        self, lease: KeyLease, outcome: ReleaseOutcome = ReleaseOutcome.OK, status: int = 200
    ) -> None:
        message = KeyRelease(
            lease_id=lease.lease_id, key_id=lease.key_id, outcome=outcome, status_code=status
        )
        exchange = self.topology.keys_exchange
        try:
            await self.publisher.publish(
                exchange, keys_release_routing_key(lease.replica_id), message
            )
        except PublishUnroutable:
            await self.publisher.publish(exchange, KEYS_RELEASE, message)


def make_settings(
    *, mongo_url: str, db_name: str, amqp_url: str, namespace: str, **overrides: Any
) -> KeysSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "mongodb_url": mongo_url,
        "mongodb_db": db_name,
        "amqp_url": amqp_url,
        "amqp_namespace": namespace,
        "encryption_key": "integration-test-encryption-secret",
        "seed_keys": ",".join(SEED),
        "maintenance_interval_seconds": 0.2,
        "replica_heartbeat_seconds": 0.2,
        "replica_ttl_seconds": 1.0,
        "usage_flush_seconds": 0.2,
        "shutdown_drain_seconds": 0.2,
        "acquire_wait_seconds": 0.5,
        "log_json": False,
        **overrides,
    }
    return KeysSettings(**values)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[KeysContext]:
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        yield app.state.context


class KeyManagers:
    """Starts key-manager replicas in-process (call it again for another one); `stop`
    ends one the way a shutdown does (it leaves), the others stop at teardown."""

    def __init__(self, settings: Callable[..., KeysSettings]) -> None:
        self._settings = settings
        self._running: dict[int, AsyncExitStack] = {}
        self.apps: list[FastAPI] = []

    async def __call__(self, **overrides: Any) -> KeysContext:
        app = create_app(self._settings(**overrides))
        self.apps.append(app)
        stack = AsyncExitStack()
        context = await stack.enter_async_context(running(app))
        self._running[id(context)] = stack
        return context

    async def stop(self, context: KeysContext) -> None:
        await self._running.pop(id(context)).aclose()

    async def close(self) -> None:
        while self._running:
            await self._running.popitem()[1].aclose()


StartKeyManager = KeyManagers


@pytest.fixture
async def start_key_manager(
    mongo_url: str,
    db_name: str,
    mongo_db: Database,
    amqp_url: str,
    topology: Topology,
    token_issuer: TokenIssuer,
) -> AsyncIterator[KeyManagers]:
    """Start a key-manager replica (call again for a second one); stopped at teardown."""

    def settings(**overrides: Any) -> KeysSettings:
        overrides.setdefault("jwks_url", token_issuer.jwks_url)
        return make_settings(
            mongo_url=mongo_url,
            db_name=db_name,
            amqp_url=amqp_url,
            namespace=topology.namespace,
            **overrides,
        )

    replicas = KeyManagers(settings)
    try:
        yield replicas
    finally:
        await replicas.close()


@pytest.fixture
async def key_manager(start_key_manager: StartKeyManager) -> KeysContext:
    return await start_key_manager()


@pytest.fixture
async def client(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[KeyManagerClient]:
    channel = await amqp_connection.channel()
    rpc = RpcClient(channel, queue_name=topology.keys_rpc_queue)
    publisher = await Publisher.open(amqp_connection, topology)
    try:
        yield KeyManagerClient(rpc, publisher, topology)
    finally:
        await rpc.close()
        await publisher.close()
        await channel.close()


@pytest.fixture
def db(key_manager: KeysContext) -> Database:
    return key_manager.db


@asynccontextmanager
async def http_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://key-manager") as http:
        yield http
