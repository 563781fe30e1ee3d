"""The connections a service holds for its lifetime: MongoDB and RabbitMQ.

Opened in the service's lifespan (or the worker's `main`), closed in its `finally`.
Start-up waits for both servers up to `startup_timeout_seconds`, so a stack whose
database or broker comes up a little later still starts; after that, PyMongo and
aio-pika's robust connection reconnect by themselves and `/readyz` reports the gap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from typing import TypeVar

from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from fastapi import FastAPI

from git44_common.amqp.connection import connect, is_connection_open
from git44_common.amqp.publisher import Publisher
from git44_common.amqp.topology import Topology, declare_topology
from git44_common.faults import arm_fault_points
from git44_common.health import ReadinessCheck
from git44_common.metrics import watch_event_loop_lag
from git44_common.mongo import (
    Database,
    IndexSpec,
    MongoClient,
    create_mongo_client,
    ensure_indexes,
    ping_mongo,
)
from git44_common.settings import ServiceSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


async def _retry_until(action: Callable[[], Awaitable[T]], *, what: str, deadline: float) -> T:
    delay = 0.25
    while True:
        try:
            return await action()
        except Exception as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("waiting for %s: %s", what, type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


class ServiceRuntime:
    """MongoDB client + database, AMQP connection, a confirming publisher, the topology."""

    def __init__(self, settings: ServiceSettings, *, name: str) -> None:
        self.settings = settings
        self.name = name
        arm_fault_points(settings.fault_points)
        self.topology = Topology(namespace=settings.amqp_namespace)
        self.mongo: MongoClient = create_mongo_client(settings.mongodb_url, app_name=name)
        self.db: Database = self.mongo[settings.mongodb_db]
        self._amqp: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._publisher: Publisher | None = None
        self._lag_watch: asyncio.Task[None] | None = None

    @property
    def amqp(self) -> AbstractRobustConnection:
        assert self._amqp is not None, "runtime not opened"
        return self._amqp

    @property
    def channel(self) -> AbstractChannel:
        assert self._channel is not None, "runtime not opened"
        return self._channel

    @property
    def publisher(self) -> Publisher:
        assert self._publisher is not None, "runtime not opened"
        return self._publisher

    async def open(self, *, indexes: Iterable[IndexSpec] = (), wait_seconds: float = 60.0) -> None:
        """Connect to both servers (waiting for them), create indexes, declare the topology."""
        self._lag_watch = asyncio.create_task(watch_event_loop_lag(), name="event-loop-lag")
        deadline = time.monotonic() + wait_seconds
        await _retry_until(lambda: ping_mongo(self.mongo), what="MongoDB", deadline=deadline)
        await ensure_indexes(self.db, indexes)
        self._amqp = await _retry_until(
            lambda: connect(self.settings.amqp_url, name=self.name),
            what="RabbitMQ",
            deadline=deadline,
        )
        await _retry_until(self._declare_topology, what="the AMQP topology", deadline=deadline)
        self._channel = await self._amqp.channel(publisher_confirms=True)
        self._publisher = Publisher(self._channel, self.topology)

    async def _declare_topology(self) -> None:
        # RabbitMQ answers NOT_FOUND ("home node ... is down or inaccessible") when several
        # services declare the same new quorum queue at once; the error closes the
        # channel, so each try gets a fresh one.
        async with self.amqp.channel() as channel:
            await declare_topology(channel, self.topology)

    async def close(self) -> None:
        if self._lag_watch is not None:
            self._lag_watch.cancel()
        if self._amqp is not None:
            await self._amqp.close()
        await self.mongo.close()

    async def _check_mongo(self) -> None:
        await ping_mongo(self.mongo)

    async def _check_amqp(self) -> None:
        if not is_connection_open(self._amqp):
            raise ConnectionError("RabbitMQ connection is not open")
        if self._channel is None or self._channel.is_closed:
            raise ConnectionError("RabbitMQ channel is closed")

    def readiness_checks(self) -> dict[str, ReadinessCheck]:
        return {"mongodb": self._check_mongo, "rabbitmq": self._check_amqp}


async def open_runtime(
    app: FastAPI,
    stack: AsyncExitStack,
    settings: ServiceSettings,
    *,
    name: str,
    indexes: Iterable[IndexSpec] = (),
) -> ServiceRuntime:
    """A service lifespan's first step: the runtime opened (indexes created), closed by
    `stack` at shutdown, at `app.state.runtime`, its readiness checks registered."""
    runtime = ServiceRuntime(settings, name=name)
    stack.push_async_callback(runtime.close)
    await runtime.open(indexes=indexes)
    app.state.runtime = runtime
    app.state.readiness.update(runtime.readiness_checks())
    return runtime
