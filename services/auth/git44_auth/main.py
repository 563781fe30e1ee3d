"""The auth service: users, tokens, API keys and the JWKS."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version

import httpx
from fastapi import FastAPI

from git44_auth.api.routes import (
    admin_users,
    api_keys,
    auth,
    email_verification,
    jwks,
    password_reset,
)
from git44_auth.bootstrap import seed_bootstrap_admin
from git44_auth.context import build_context, load_key_ring
from git44_auth.core.config import AuthSettings
from git44_auth.core.db import INDEXES
from git44_auth.keys import KeyRing
from git44_auth.mail.delivery import start_mail_delivery
from git44_auth.mail.server import parse_smtp_url
from git44_common.app import create_service_app
from git44_common.logs import register_secret
from git44_common.ratelimit import RateLimitHeadersMiddleware
from git44_common.runtime import open_runtime
from git44_common.sessions import watch_sessions

SERVICE = "auth"
# the export asks jobs-api for every job of the user: one bounded query
JOBS_API_TIMEOUT_SECONDS = 30.0


def create_app(settings: AuthSettings | None = None, *, keys: KeyRing | None = None) -> FastAPI:
    """The auth app; connections open in its lifespan. `keys` overrides the settings' keys."""
    settings = settings or AuthSettings()
    key_ring = keys or load_key_ring(settings)
    if settings.bootstrap_admin_password is not None:
        register_secret(settings.bootstrap_admin_password.get_secret_value())
    if smtp_password := parse_smtp_url(settings.smtp_server_url()).password:
        register_secret(smtp_password)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            runtime = await open_runtime(app, stack, settings, name=SERVICE, indexes=INDEXES)
            jobs_api = httpx.AsyncClient(
                base_url=settings.jobs_api_url, timeout=JOBS_API_TIMEOUT_SECONDS
            )
            stack.push_async_callback(jobs_api.aclose)
            context = build_context(
                settings, runtime.db, key_ring, publisher=runtime.publisher, jobs_api=jobs_api
            )
            app.state.context = context
            app.state.authenticator = context.authenticator
            await context.hasher.dummy_hash()
            await seed_bootstrap_admin(context, settings)
            await start_mail_delivery(stack, runtime, context.mail, settings)
            authenticator = context.authenticator
            await watch_sessions(
                stack,
                runtime,
                ended=authenticator.ended_sessions,
                on_event=authenticator.sessions_ended,
            )
            yield

    app = create_service_app(
        service=SERVICE,
        settings=settings,
        lifespan=lifespan,
        routers=[
            auth.router,
            email_verification.router,
            password_reset.router,
            api_keys.router,
            admin_users.router,
            jwks.router,
        ],
        description="Accounts, rotating EdDSA tokens, Dev API keys, admin users, JWKS.",
        version=version("git44-auth"),
    )
    app.add_middleware(RateLimitHeadersMiddleware)
    return app
