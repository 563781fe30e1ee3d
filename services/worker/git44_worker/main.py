"""The worker: consumes removal jobs; serves only health and metrics over HTTP."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn
from fastapi import FastAPI

from git44_common.app import create_service_app
from git44_common.logs import configure_logging
from git44_common.runtime import ServiceRuntime
from git44_worker.core.config import WorkerSettings
from git44_worker.core.db import INDEXES

SERVICE = "worker"
log = logging.getLogger(__name__)


def create_health_app(settings: WorkerSettings) -> FastAPI:
    """`/healthz`, `/readyz`, `/metrics`; no business endpoints, no OpenAPI."""
    return create_service_app(service=SERVICE, settings=settings, openapi=False)


async def run_worker(settings: WorkerSettings, stop: asyncio.Event) -> None:
    """Open the connections, serve health, work until `stop` is set."""
    runtime = ServiceRuntime(settings, name=SERVICE)
    health_app = create_health_app(settings)
    config = uvicorn.Config(health_app, host=settings.host, port=settings.port, log_config=None)
    server = uvicorn.Server(config)
    server_task = asyncio.create_task(server.serve())
    try:
        await runtime.open(indexes=INDEXES)
        health_app.state.readiness.update(runtime.readiness_checks())
        log.info("worker ready", extra={"concurrency": settings.concurrency})
        await stop.wait()
    finally:
        server.should_exit = True
        await server_task
        await runtime.close()


async def main() -> None:
    settings = WorkerSettings()
    configure_logging(service=SERVICE, level=settings.log_level, json=settings.log_json)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_worker(settings, stop)
