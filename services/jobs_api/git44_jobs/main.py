"""The jobs-api service: removal jobs, quotas, live events and the Dev API."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from git44_common.app import create_service_app
from git44_common.runtime import ServiceRuntime
from git44_jobs.core.config import JobsSettings
from git44_jobs.core.db import INDEXES

SERVICE = "jobs-api"


def create_app(settings: JobsSettings | None = None) -> FastAPI:
    """The jobs-api app; connections open in its lifespan."""
    settings = settings or JobsSettings()

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
