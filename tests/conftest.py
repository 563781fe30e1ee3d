"""Fixtures shared by the whole suite.

Every test that touches infrastructure gets its own database name and its own AMQP
namespace (a uuid suffix on every exchange and queue), so tests never see each
other's data or messages.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection
from gateway import nginx_binary

from git44_common.amqp import Topology, declare_topology, delete_topology
from git44_common.mongo import Database, MongoClient, create_mongo_client
from tests.utils.compose import COMPOSE, DEVELOPMENT, render
from tests.utils.infra import SYSTEM_PACKAGES_HINT, mongo_server, rabbitmq_server
from tests.utils.tokens import TokenIssuer, serve_jwks


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    with mongo_server() as url:
        yield url


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    with rabbitmq_server() as url:
        yield url


@pytest.fixture(scope="session")
def nginx() -> str:
    """Debian's nginx, for the gateway in front of a stack (deployment and security tests)."""
    binary = nginx_binary()
    if binary is None:
        pytest.skip(f"nginx is not installed; {SYSTEM_PACKAGES_HINT}")
    return binary


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """docker-compose.yml as Compose renders it (production, the default)."""
    return render(COMPOSE)


@pytest.fixture(scope="session")
def development() -> dict[str, Any]:
    """docker-compose.yml with its development override, rendered."""
    return render(COMPOSE, DEVELOPMENT)


@pytest.fixture
def db_name() -> str:
    return f"git44_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def amqp_namespace() -> str:
    return f".t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def test_settings(
    mongo_url: str, amqp_url: str, db_name: str, amqp_namespace: str
) -> dict[str, Any]:
    """Settings every in-process service of a test shares: test mode, the test's own
    database and AMQP namespace."""
    return {
        "environment": "test",
        "mongodb_url": mongo_url,
        "mongodb_db": db_name,
        "amqp_url": amqp_url,
        "amqp_namespace": amqp_namespace,
    }


@pytest.fixture
async def mongo_client(mongo_url: str) -> AsyncIterator[MongoClient]:
    client = create_mongo_client(mongo_url, app_name="git44-tests")
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def mongo_db(mongo_client: MongoClient, db_name: str) -> AsyncIterator[Database]:
    yield mongo_client[db_name]
    await mongo_client.drop_database(db_name)


@pytest.fixture
async def amqp_connection(amqp_url: str) -> AsyncIterator[AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def token_issuer() -> Iterator[TokenIssuer]:
    """Mints tokens like auth does; its JWKS is served at `token_issuer.jwks_url`."""
    issuer = TokenIssuer()
    with serve_jwks(issuer):
        yield issuer


@pytest.fixture
async def topology(
    amqp_connection: AbstractRobustConnection, amqp_namespace: str
) -> AsyncIterator[Topology]:
    """The whole Git44 topology in this test's namespace, deleted afterwards."""
    topology = Topology(namespace=amqp_namespace)
    async with amqp_connection.channel() as channel:
        await declare_topology(channel, topology)
    yield topology
    async with amqp_connection.channel() as channel:
        await delete_topology(channel, topology)
