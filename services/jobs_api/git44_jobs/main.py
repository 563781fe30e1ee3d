"""The jobs-api service: removal jobs, quotas, live events and the Dev API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI

from git44_common.app import create_service_app
from git44_common.clock import Clock, utc_now
from git44_common.contracts import ACCOUNT_DELETED_REASON, SessionsEnded
from git44_common.ratelimit import RateLimitHeadersMiddleware
from git44_common.runtime import open_runtime
from git44_common.security import Authenticator, build_authenticator
from git44_common.sessions import watch_sessions
from git44_common.tasks import stop_task
from git44_common.tokens import JWKSClient
from git44_jobs.accounts.consumer import start_account_deletions
from git44_jobs.api.routes import (
    admin,
    contract,
    dead_letters,
    dev,
    events,
    providers,
    removals,
    webhooks,
)
from git44_jobs.context import JobsContext
from git44_jobs.core.config import JobsSettings
from git44_jobs.core.db import INDEXES
from git44_jobs.credits.service import Quotas
from git44_jobs.live.hub import EventHub
from git44_jobs.outbox.relay import OutboxRelay, RelayTiming
from git44_jobs.webhooks.rotation import seal_plain_secrets

SERVICE = "jobs-api"


def create_app(settings: JobsSettings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    """The jobs-api app; connections open in its lifespan. `clock` is injectable for tests."""
    settings = settings or JobsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            runtime = await open_runtime(app, stack, settings, name=SERVICE, indexes=INDEXES)
            jwks = JWKSClient(settings.jwks_url)
            stack.push_async_callback(jwks.aclose)
            authenticator = build_authenticator(
                settings, runtime.db, jwks, status_cache_seconds=settings.user_status_cache_seconds
            )
            context = JobsContext(
                settings=settings,
                mongo=runtime.mongo,
                db=runtime.db,
                topology=runtime.topology,
                publisher=runtime.publisher,
                clock=clock,
            )
            stack.push_async_callback(context.close)
            app.state.context = context
            app.state.authenticator = authenticator
            hub = EventHub(
                runtime.amqp,
                db=runtime.db,
                topology=runtime.topology,
                queue_size=settings.sse_queue_size,
            )
            await hub.start()
            stack.push_async_callback(hub.stop)
            app.state.event_hub = hub
            await watch_sessions(
                stack,
                runtime,
                ended=authenticator.ended_sessions,
                on_event=_on_sessions_ended(authenticator, hub, context.quotas),
            )
            await start_account_deletions(stack, runtime, clock=clock)
            relay = OutboxRelay(runtime.db, context.outbox, RelayTiming.of(settings), clock)
            relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
            stack.push_async_callback(stop_task, relay_task)
            sealing = seal_plain_secrets(runtime.db, context.webhook_keys)
            sealing_task = asyncio.create_task(sealing, name="seal-webhook-secrets")
            stack.push_async_callback(stop_task, sealing_task)
            yield

    app = create_service_app(
        service=SERVICE,
        settings=settings,
        lifespan=lifespan,
        routers=[
            contract.router,
            events.router,
            removals.router,
            dev.router,
            webhooks.router,
            providers.router,
            admin.router,
            dead_letters.router,
        ],
        description="Removal jobs, quotas, live job events, the Dev API and admin job tools.",
        version=version("git44-jobs"),
    )
    app.add_middleware(RateLimitHeadersMiddleware)
    document_page_size(app, settings)
    return app


def _on_sessions_ended(
    authenticator: Authenticator, hub: EventHub, quotas: Quotas
) -> Callable[[SessionsEnded], None]:
    """Forget the user's cached status, then close the ended sessions' streams; a
    deleted user is forgotten by this replica's quota cache too."""

    def hear(event: SessionsEnded) -> None:
        authenticator.sessions_ended(event)
        hub.end_sessions(event)
        if event.reason == ACCOUNT_DELETED_REASON:
            quotas.forget(event.user_id)

    return hear


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
