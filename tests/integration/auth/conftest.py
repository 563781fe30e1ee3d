"""An in-process auth app per test (real MongoDB-wire server and RabbitMQ, own database
and AMQP namespace), and log capture: no test may leave a secret in a log line."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from git44_auth.core.config import AuthSettings
from git44_auth.main import create_app
from git44_common.amqp import Topology, delete_topology
from git44_common.logs import build_handler
from tests.integration.auth.flows import ADMIN_PASSWORD, leaked_secrets
from tests.utils.smtp import SmtpSink, smtp_sink

ADMIN_EMAIL = "root@example.com"


class RawRecords(logging.Handler):
    """Every record's message and extra fields as logged, before any redaction."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.__dict__!r}")


class LogCapture:
    """What the redacting handler wrote, and the raw records it was given."""

    def __init__(self) -> None:
        self.raw = RawRecords()
        self.stream = io.StringIO()
        self.handler = build_handler(service="auth", json=True)
        assert isinstance(self.handler, logging.StreamHandler)
        self.handler.setStream(self.stream)

    @property
    def output(self) -> str:
        return self.stream.getvalue()


@pytest.fixture(autouse=True)
def log_capture() -> Iterator[LogCapture]:
    """Capture through git44_common.logs' handler (and raw); assert nothing secret leaked."""
    root = logging.getLogger()
    capture = LogCapture()
    previous_level = root.level
    root.addHandler(capture.raw)  # first, so it sees records before the redacting filter runs
    root.addHandler(capture.handler)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture.handler)
        root.removeHandler(capture.raw)
        root.setLevel(previous_level)
    assert leaked_secrets(capture.output) == []
    assert leaked_secrets("\n".join(capture.raw.lines)) == []


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) for the test; `sink.url` is AUTH_SMTP_URL."""
    async with smtp_sink() as running:
        yield running


@pytest.fixture
def settings_factory(test_settings: dict[str, Any]) -> Callable[..., AuthSettings]:
    def build(**overrides: Any) -> AuthSettings:
        values: dict[str, Any] = {
            **test_settings,
            "bcrypt_rounds": 4,
            "bootstrap_admin_email": ADMIN_EMAIL,
            "bootstrap_admin_password": ADMIN_PASSWORD,
            **overrides,
        }
        return AuthSettings(**values)

    return build


@pytest.fixture
def auth_settings(settings_factory: Callable[..., AuthSettings]) -> AuthSettings:
    return settings_factory()


@pytest.fixture
async def auth_app(
    auth_settings: AuthSettings, mongo_db: Any, amqp_connection: AbstractRobustConnection
) -> AsyncIterator[FastAPI]:
    app = create_app(auth_settings)
    try:
        async with LifespanManager(app):
            yield app
    finally:
        async with amqp_connection.channel() as channel:
            await delete_topology(channel, Topology(namespace=auth_settings.amqp_namespace))


def asgi_client(app: FastAPI, *, client_ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(client_ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://auth.test")


@pytest.fixture
def run_app(
    amqp_connection: AbstractRobustConnection, mongo_db: Any
) -> Callable[[AuthSettings], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Start another auth app (a replica, or one with other keys) on the test's database."""

    @asynccontextmanager
    async def start(
        settings: AuthSettings, *, client_ip: str = "127.0.0.1"
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings)
        try:
            async with LifespanManager(app), asgi_client(app, client_ip=client_ip) as http:
                yield http
        finally:  # leave no quorum queues behind (they pile up and slow the broker)
            async with amqp_connection.channel() as channel:
                await delete_topology(channel, Topology(namespace=settings.amqp_namespace))

    return start


@pytest.fixture
async def client(auth_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(auth_app) as http:
        yield http
