"""The jobs-api service: removal jobs, quotas, live events and the Dev API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from git44_common.app import create_service_app
from git44_common.clock import Clock, utc_now
from git44_common.runtime import ServiceRuntime
from git44_common.security import Authenticator
from git44_common.tasks import stop_task
from git44_common.tokens import JWKSClient, TokenVerifier
from git44_jobs.api.routes import admin, dev, events, removals
from git44_jobs.context import JobsContext
from git44_jobs.core.config import JobsSettings
from git44_jobs.core.db import INDEXES
from git44_jobs.live.hub import EventHub
from git44_jobs.outbox.relay import OutboxRelay, RelayTiming

SERVICE = "jobs-api"


def build_authenticator(
    settings: JobsSettings, runtime: ServiceRuntime, jwks: JWKSClient
) -> Authenticator:
    verifier = TokenVerifier(
        jwks,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    return Authenticator(
        verifier=verifier, db=runtime.db, status_cache_seconds=settings.user_status_cache_seconds
    )


def create_app(settings: JobsSettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    """The jobs-api app; connections open in its lifespan. `clock` is injectable for tests."""
    settings = settings or JobsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = ServiceRuntime(settings, name=SERVICE)
        async with AsyncExitStack() as stack:
            stack.push_async_callback(runtime.close)
            await runtime.open(indexes=INDEXES)
            jwks = JWKSClient(settings.jwks_url)
            stack.push_async_callback(jwks.aclose)
            authenticator = build_authenticator(settings, runtime, jwks)
            context = JobsContext(
                settings=settings,
                mongo=runtime.mongo,
                db=runtime.db,
                topology=runtime.topology,
                publisher=runtime.publisher,
                clock=clock,
            )
            stack.push_async_callback(context.close)
            app.state.runtime = runtime
            app.state.context = context
            app.state.authenticator = authenticator
            app.state.readiness.update(runtime.readiness_checks())
            hub = EventHub(
                runtime.amqp,
                db=runtime.db,
                topology=runtime.topology,
                queue_size=settings.sse_queue_size,
            )
            await hub.start()
            stack.push_async_callback(hub.stop)
            app.state.event_hub = hub
            relay = OutboxRelay(runtime.db, context.outbox, relay_timing(settings), clock)
            relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
            stack.push_async_callback(stop_task, relay_task)
            yield

    app = create_service_app(
        service=SERVICE,
        settings=settings,
        lifespan=lifespan,
        routers=[events.router, removals.router, dev.router, admin.router],
        description="Removal jobs, quotas, live job events, the Dev API and admin job tools.",
    )
    document_page_size(app, settings)
    return app


def relay_timing(settings: JobsSettings) -> RelayTiming:
    return RelayTiming(
        interval=settings.outbox_interval_seconds,
        grace=settings.outbox_grace_seconds,
        overdue=settings.outbox_overdue_seconds,
        abandoned=settings.outbox_abandoned_seconds,
        claim=settings.outbox_claim_seconds,
        batch_size=settings.outbox_batch_size,
    )


def document_page_size(app: FastAPI, settings: JobsSettings) -> None:
    """The OpenAPI document shows each list's `limit` bounds from the settings."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        for path in document.get("paths", {}).values():
            for operation in path.values():
                for parameter in operation.get("parameters", []):
                    if parameter.get("name") == "limit" and parameter.get("in") == "query":
                        schema = parameter["schema"]
                        schema.pop("anyOf", None)
                        schema.update(
                            type="integer",
                            minimum=1,
                            maximum=settings.page_size_max,
                            default=min(settings.page_size_default, settings.page_size_max),
                        )
        return document

    app.openapi = openapi  # type: ignore[method-assign]
