"""An in-process jobs-api against the real MongoDB-wire server and RabbitMQ.

`start_jobs` starts the app (lifespan included) with settings overrides and an
optional clock; `users` makes users (and API keys) the way auth stores them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
import uvicorn
from aio_pika.abc import AbstractRobustConnection
from asgi_lifespan import LifespanManager

from git44_common.amqp import Topology, delete_topology
from git44_common.mongo import Database
from git44_jobs.core.config import JobsSettings
from git44_jobs.main import create_app
from tests.integration.jobs.support import Jobs, Users
from tests.utils.processes import free_port
from tests.utils.tokens import TokenIssuer


@pytest.fixture
def jobs_settings(
    test_settings: dict[str, Any], token_issuer: TokenIssuer
) -> Callable[..., JobsSettings]:
    def make(**overrides: Any) -> JobsSettings:
        values: dict[str, Any] = {
            **test_settings,
            "jwks_url": token_issuer.jwks_url,
            "log_json": False,
            "outbox_interval_seconds": 0.2,
            "outbox_grace_seconds": 0.5,
            **overrides,
        }
        return JobsSettings(**values)

    return make


@pytest.fixture
async def start_jobs(
    jobs_settings: Callable[..., JobsSettings],
    mongo_db: Database,
    amqp_connection: AbstractRobustConnection,
    amqp_namespace: str,
) -> AsyncIterator[Callable[..., Any]]:
    """`async with start_jobs(**settings, clock=...) as jobs:` — several may run at once."""

    @asynccontextmanager
    async def start(clock: Callable[[], datetime] | None = None, **overrides: Any):  # type: ignore[no-untyped-def]
        settings = jobs_settings(**overrides)
        app = create_app(settings, clock=clock) if clock else create_app(settings)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://jobs", timeout=120
            ) as client:
                yield Jobs(app, client, settings)

    yield start
    async with amqp_connection.channel() as channel:
        await delete_topology(channel, Topology(namespace=amqp_namespace))


@pytest.fixture
async def jobs(start_jobs: Callable[..., Any]) -> AsyncIterator[Jobs]:
    async with start_jobs() as running:
        yield running


@pytest.fixture
def users(mongo_db: Database, token_issuer: TokenIssuer) -> Users:
    return Users(mongo_db, token_issuer)


@pytest.fixture
async def serve_jobs(
    jobs_settings: Callable[..., JobsSettings],
    amqp_connection: AbstractRobustConnection,
    amqp_namespace: str,
    mongo_db: Database,
) -> AsyncIterator[Callable[..., Any]]:
    """`async with serve_jobs(**settings) as jobs:` — jobs-api on a real HTTP port
    (uvicorn in this process): needed for streaming SSE."""

    @asynccontextmanager
    async def serve(**overrides: Any) -> AsyncIterator[Jobs]:
        port = free_port()
        settings = jobs_settings(port=port, sse_heartbeat_seconds=1, **overrides)
        app = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, lifespan="on"))
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield Jobs(app, client, settings)
        server.should_exit = True
        done, _ = await asyncio.wait([task], timeout=30)
        if not done:  # say what the shutdown waits for before failing
            for other in asyncio.all_tasks():
                other.print_stack(limit=8)
            task.cancel()
            raise TimeoutError("jobs-api did not shut down within 30 s")

    yield serve
    async with amqp_connection.channel() as channel:
        await delete_topology(channel, Topology(namespace=amqp_namespace))


@pytest.fixture
async def served_jobs(serve_jobs: Callable[..., Any]) -> AsyncIterator[Jobs]:
    """jobs-api on a real HTTP port with the test settings."""
    async with serve_jobs() as jobs:
        yield jobs
