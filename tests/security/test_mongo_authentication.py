"""A service reaches an authenticating MongoDB with the credentials of its `mongodb_url`
secret file, as docker-compose.yml runs it, and is refused without them.

The server is SecantusDB started with `--auth` (SCRAM-SHA-256); the user is the
services' one, with readWrite on one database only, as deploy/mongo/healthcheck.js
creates it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from asgi_lifespan import LifespanManager
from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from git44_auth.core.config import AuthSettings
from git44_auth.main import create_app
from git44_common.amqp import Topology, delete_topology
from git44_common.runtime import ServiceRuntime
from tests.utils.infra import embedded_mongo

pytestmark = pytest.mark.integration

SERVICE_USER, SERVICE_PASSWORD = "git44", f"app-{uuid.uuid4().hex}"
DATABASE = "git44_auth_test"
UNAUTHORIZED = 13  # MongoDB's code for a command that needs an authenticated user


@pytest.fixture(scope="module")
def authenticating_mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server's address (no credentials in it), authentication required."""
    storage = str(tmp_path_factory.mktemp("secantus-auth"))
    with embedded_mongo(storage) as (url, _), MongoClient(url) as client:
        client.admin.command(
            "createUser",
            SERVICE_USER,
            pwd=SERVICE_PASSWORD,
            roles=[{"role": "readWrite", "db": DATABASE}],
        )
    with embedded_mongo(storage, auth=True) as (url, _):
        yield url


def with_credentials(url: str, password: str = SERVICE_PASSWORD) -> str:
    return url.replace("mongodb://", f"mongodb://{SERVICE_USER}:{password}@", 1)


@pytest.fixture
def secrets_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, amqp_url: str
) -> Callable[[str], None]:
    """Writes the `mongodb_url` secret file the settings read (GIT44_SECRETS_DIR)."""
    (tmp_path / "amqp_url").write_text(amqp_url)
    for variable in ("MONGODB_URL", "AMQP_URL", "AUTH_MONGODB_URL", "AUTH_AMQP_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("GIT44_SECRETS_DIR", str(tmp_path))
    return lambda mongodb_url: (tmp_path / "mongodb_url").write_text(mongodb_url + "\n")


@pytest.fixture
async def auth_settings(
    amqp_connection: AbstractRobustConnection, amqp_namespace: str
) -> AsyncIterator[Callable[[], AuthSettings]]:
    """Auth's settings as the container builds them: the connections from the files."""
    yield lambda: AuthSettings(
        environment="test",
        mongodb_db=DATABASE,
        amqp_namespace=amqp_namespace,
        bcrypt_rounds=4,
    )
    async with amqp_connection.channel() as channel:
        await delete_topology(channel, Topology(namespace=amqp_namespace))


async def test_auth_works_with_the_credentials_of_its_secret_file(
    authenticating_mongo: str,
    secrets_dir: Callable[[str], None],
    auth_settings: Callable[[], AuthSettings],
) -> None:
    secrets_dir(with_credentials(authenticating_mongo))
    settings = auth_settings()
    assert settings.mongodb_url == with_credentials(authenticating_mongo)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://auth.test") as client,
    ):
        password = "correct horse battery staple"
        body: dict[str, Any] = {"email": "a@example.com", "password": password}
        registered = await client.post(
            "/api/auth/register", json={**body, "confirmPassword": password}
        )
        assert registered.status_code == 201, registered.text
        assert (await client.post("/api/auth/login", json=body)).status_code == 200


async def test_without_credentials_auth_cannot_start(
    authenticating_mongo: str,
    secrets_dir: Callable[[str], None],
    auth_settings: Callable[[], AuthSettings],
) -> None:
    secrets_dir(authenticating_mongo)
    app = create_app(auth_settings())
    with pytest.raises(OperationFailure) as refused:
        async with LifespanManager(app):
            pass
    assert refused.value.code == UNAUTHORIZED


async def test_a_wrong_password_is_refused(
    authenticating_mongo: str,
    secrets_dir: Callable[[str], None],
    auth_settings: Callable[[], AuthSettings],
) -> None:
    secrets_dir(with_credentials(authenticating_mongo, password="not-the-password"))
    runtime = ServiceRuntime(auth_settings(), name="auth")
    try:
        with pytest.raises(PyMongoError, match="authentication failed"):
            await runtime.open(wait_seconds=1)
    finally:
        await runtime.close()
