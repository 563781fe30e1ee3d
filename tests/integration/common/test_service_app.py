"""A service built from git44_common, against the real broker and database: the
correlation id travels HTTP → AMQP → consumer, a unique-index conflict becomes a 409
problem, and /readyz reflects both connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI, Request
from pymongo import ASCENDING

from git44_common.amqp import Topology, start_consumer
from git44_common.amqp.topology import REMOVAL_REQUESTED
from git44_common.app import create_service_app
from git44_common.contracts import RemovalRequested
from git44_common.correlation import get_correlation_id
from git44_common.mongo import IndexSpec
from git44_common.runtime import ServiceRuntime
from git44_common.settings import ServiceSettings

INDEXES = [
    IndexSpec(collection="things", keys=[("name", ASCENDING)], name="name_unique", unique=True)
]
router = APIRouter()


@router.post("/things/{name}", status_code=201)
async def create_thing(name: str, request: Request) -> dict[str, str]:
    runtime: ServiceRuntime = request.app.state.runtime
    await runtime.db["things"].insert_one({"name": name})
    message = RemovalRequested(job_id=name, user_id="u1")
    await runtime.publisher.publish(runtime.topology.jobs_exchange, REMOVAL_REQUESTED, message)
    return {"name": name}


def build_app(settings: ServiceSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = ServiceRuntime(settings, name="test-service")
        await runtime.open(indexes=INDEXES)
        app.state.runtime = runtime
        app.state.readiness.update(runtime.readiness_checks())
        try:
            yield
        finally:
            await runtime.close()

    return create_service_app(
        service="test-service", settings=settings, lifespan=lifespan, routers=[router]
    )


@pytest.fixture
async def client(
    mongo_url: str, amqp_url: str, db_name: str, topology: Topology, mongo_client
) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings(
        mongodb_url=mongo_url,
        mongodb_db=db_name,
        amqp_url=amqp_url,
        amqp_namespace=topology.namespace,
    )
    app = build_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client,
    ):
        yield client
    await mongo_client.drop_database(db_name)


async def test_the_correlation_id_travels_from_http_to_the_consumer(
    client: httpx.AsyncClient, topology: Topology, amqp_connection: AbstractRobustConnection
) -> None:
    seen: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()

    async def handle(message: RemovalRequested, _raw: AbstractIncomingMessage) -> None:
        await seen.put((message.job_id, get_correlation_id()))

    channel = await amqp_connection.channel()
    consumer = await start_consumer(
        channel, topology.removal_queue, handle, model=RemovalRequested, prefetch=1
    )
    try:
        response = await client.post("/things/job-1", headers={"X-Correlation-ID": "req-4242"})
        assert response.status_code == 201
        assert response.headers["x-correlation-id"] == "req-4242"
        job_id, correlation_id = await asyncio.wait_for(seen.get(), timeout=10)
    finally:
        await consumer.cancel()
        await channel.close()
    assert (job_id, correlation_id) == ("job-1", "req-4242")


async def test_a_unique_index_conflict_is_a_409_problem(client: httpx.AsyncClient) -> None:
    assert (await client.post("/things/same")).status_code == 201
    response = await client.post("/things/same")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "conflict"
    assert "Traceback" not in response.text
    assert "E11000" not in response.text


async def test_readyz_checks_mongodb_and_rabbitmq(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"mongodb": "ok", "rabbitmq": "ok"}
