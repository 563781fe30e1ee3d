"""The FastAPI app factory and server entry point every HTTP service uses.

Every app gets, in this order from the outside in: correlation ids, HTTP metrics,
a body-size limit, a request time limit; problem+json errors; `/healthz`, `/readyz`
and `/metrics`. A service adds its routers and its lifespan.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import uvicorn
from fastapi import APIRouter, FastAPI

from git44_common.health import ReadinessCheck, build_health_router
from git44_common.logs import configure_logging
from git44_common.metrics import HttpMetricsMiddleware
from git44_common.middleware import (
    BodySizeLimitMiddleware,
    CorrelationIdMiddleware,
    RequestTimeoutMiddleware,
)
from git44_common.openapi import document_problems, operation_id
from git44_common.problems import install_problem_handlers
from git44_common.settings import ServiceSettings
from git44_common.tracing import configure_tracing, instrument_app


class Lifespan(Protocol):
    def __call__(self, app: FastAPI) -> AbstractAsyncContextManager[Any]: ...


def create_service_app(
    *,
    service: str,
    settings: ServiceSettings,
    lifespan: Lifespan | None = None,
    routers: Sequence[APIRouter] = (),
    title: str | None = None,
    description: str = "",
    openapi: bool = True,
    max_body_bytes: int = 64 * 1024,
    version: str = "0.1.0",
) -> FastAPI:
    """A FastAPI app with Git44's middleware, error handling and health endpoints;
    `version` (its package's) is the OpenAPI document's."""
    app = FastAPI(
        title=title or f"Git44 {service}",
        description=description,
        version=version,
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
        docs_url="/docs" if openapi else None,
        redoc_url=None,
        openapi_url="/openapi.json" if openapi else None,
    )
    readiness: dict[str, ReadinessCheck] = {}
    app.state.readiness = readiness
    app.state.settings = settings
    install_problem_handlers(app)
    document_problems(app)
    app.include_router(build_health_router())
    for router in routers:
        app.include_router(router)
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(RequestTimeoutMiddleware, seconds=settings.request_timeout_seconds)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(HttpMetricsMiddleware, service=service)
    app.add_middleware(CorrelationIdMiddleware)
    return app


def serve(app: FastAPI, settings: ServiceSettings, *, service: str) -> None:
    """Run `app` with uvicorn on the configured host and port, logging as JSON."""
    configure_logging(service=service, level=settings.log_level, json=settings.log_json)
    configure_tracing(service)
    instrument_app(app)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    # Server.run picks the loop as `uvicorn.run` does: uvloop (installed with
    # uvicorn[standard]) — asyncio.run(server.serve()) would leave the default loop.
    uvicorn.Server(config).run()
