"""The auth service: users, tokens, API keys and the JWKS."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from git44_auth.core.config import AuthSettings
from git44_auth.core.db import INDEXES
from git44_common.app import create_service_app
from git44_common.runtime import ServiceRuntime

SERVICE = "auth"


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    """The auth app; connections open in its lifespan."""
    settings = settings or AuthSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = ServiceRuntime(settings, name=SERVICE)
        await runtime.open(indexes=INDEXES)
        app.state.runtime = runtime
        app.state.readiness.update(runtime.readiness_checks())
        try:
            yield
        finally:
            await runtime.close()

    return create_service_app(service=SERVICE, settings=settings, lifespan=lifespan)
