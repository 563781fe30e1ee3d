"""The key-manager service: the ScraperAPI key pool and its state machine.

One process serves the admin HTTP API, the `acquire` RPC, the release consumers, its
heartbeat (its registration and share of the keys, ADR 0010), the usage flush and the
periodic maintenance; every replica runs all of them against the same MongoDB.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI

from git44_common.app import create_service_app
from git44_common.runtime import ServiceRuntime, open_runtime
from git44_common.sessions import watch_sessions
from git44_common.tasks import run_every, stop_task
from git44_keys.api.routes import scraper_keys
from git44_keys.consumers.acquire import start_acquire_server
from git44_keys.consumers.release import (
    start_replica_release_consumer,
    start_shared_release_consumer,
)
from git44_keys.context import KeysContext
from git44_keys.core.config import KeysSettings
from git44_keys.core.db import INDEXES
from git44_keys.maintenance import run_maintenance
from git44_keys.plans import PlanChecker, run_plan_checks

SERVICE = "key-manager"
_SHUTDOWN_GRACE_SECONDS = 5.0


async def _start_leasing(
    stack: AsyncExitStack, runtime: ServiceRuntime, context: KeysContext
) -> None:
    """Releases, registration and share, heartbeats, then the acquire RPC. They stop in
    reverse: no more acquires, no more heartbeats, the leases in flight come back (the
    release consumers still run), the replica leaves, the release consumers stop."""
    settings, pool = context.settings, context.pool
    for start_releases in (start_shared_release_consumer, start_replica_release_consumer):
        channel = await runtime.amqp.channel()
        consumer = await start_releases(
            channel, runtime.topology, pool, prefetch=settings.release_prefetch
        )
        stack.push_async_callback(consumer.cancel, grace=_SHUTDOWN_GRACE_SECONDS)
    await pool.join()
    stack.push_async_callback(pool.leave, drain_seconds=settings.shutdown_drain_seconds)
    rounds = (
        (settings.replica_heartbeat_seconds, pool.heartbeat, "key-manager heartbeat"),
        (settings.usage_flush_seconds, pool.flush_usage, "key usage flush"),
    )
    for interval, round_, what in rounds:
        task = asyncio.create_task(run_every(interval, round_, what=what), name=what)
        stack.push_async_callback(stop_task, task)
    rpc_channel = await runtime.amqp.channel()
    server = await start_acquire_server(
        rpc_channel, runtime.topology, pool, prefetch=settings.rpc_prefetch
    )
    stack.push_async_callback(server.close, grace=_SHUTDOWN_GRACE_SECONDS)


async def _start_maintenance(stack: AsyncExitStack, context: KeysContext) -> None:
    task = asyncio.create_task(
        run_maintenance(
            context.pool,
            context.lifecycle,
            interval=context.settings.maintenance_interval_seconds,
        )
    )
    stack.push_async_callback(stop_task, task)
    settings = context.settings
    if settings.account_check_seconds <= 0:
        return
    checker = PlanChecker(
        context.db,
        cipher=context.cipher,
        lifecycle=context.lifecycle,
        pool=context.pool,
        scraperapi_url=settings.scraperapi_url,
        every_seconds=settings.account_check_seconds,
        credit_reserve=settings.credit_reserve,
    )
    stack.push_async_callback(checker.aclose)
    interval = min(max(settings.account_check_seconds / 10, 0.2), 60.0)
    plans = asyncio.create_task(run_plan_checks(checker, interval=interval), name="key plans")
    stack.push_async_callback(stop_task, plans)


def create_app(settings: KeysSettings | None = None) -> FastAPI:
    """The key-manager app; connections, consumers and maintenance run in its lifespan."""
    settings = settings or KeysSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            runtime = await open_runtime(app, stack, settings, name=SERVICE, indexes=INDEXES)
            context = KeysContext.build(settings, runtime.db, runtime.publisher)
            stack.push_async_callback(context.jwks.aclose)
            app.state.context = context
            app.state.authenticator = authenticator = context.authenticator
            await watch_sessions(
                stack,
                runtime,
                ended=authenticator.ended_sessions,
                on_event=authenticator.sessions_ended,
            )
            await context.registry.seed_keys(
                settings.seed_key_list, max_concurrency=settings.default_max_concurrency
            )
            await _start_leasing(stack, runtime, context)
            await _start_maintenance(stack, context)
            yield

    return create_service_app(
        service=SERVICE,
        settings=settings,
        lifespan=lifespan,
        routers=[scraper_keys.router],
        version=version("git44-keys"),
    )
