"""The key-manager service: the ScraperAPI key pool and its state machine."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from git44_common.app import create_service_app
from git44_common.runtime import ServiceRuntime
from git44_keys.core.config import KeysSettings
from git44_keys.core.db import INDEXES

SERVICE = "key-manager"


def create_app(settings: KeysSettings | None = None) -> FastAPI:
    """The key-manager app; connections open in its lifespan."""
    settings = settings or KeysSettings()

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
