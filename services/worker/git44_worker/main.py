"""The worker: consumes removal jobs and webhook deliveries; serves only health and
metrics over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn
from fastapi import FastAPI

from git44_common.app import create_service_app
from git44_common.logs import configure_logging
from git44_common.tracing import configure_tracing
from git44_worker.core.config import WorkerSettings
from git44_worker.service import SERVICE, WorkerService

log = logging.getLogger(__name__)


def create_health_app(settings: WorkerSettings) -> FastAPI:
    """`/healthz`, `/readyz`, `/metrics`; no business endpoints, no OpenAPI."""
    return create_service_app(service=SERVICE, settings=settings, openapi=False)


async def run_worker(settings: WorkerSettings, stop: asyncio.Event) -> None:
    """Open the connections, serve health, work until `stop` is set."""
    worker = WorkerService(settings)
    health_app = create_health_app(settings)
    # Registered before start-up so /readyz says "not ready" until both are connected.
    health_app.state.readiness.update(worker.runtime.readiness_checks())
    config = uvicorn.Config(health_app, host=settings.host, port=settings.port, log_config=None)
    server = uvicorn.Server(config)
    server_task = asyncio.create_task(server.serve())
    try:
        if await _started_before_stop(worker, stop):
            log.info("worker ready", extra={"concurrency": settings.concurrency})
            await stop.wait()
    finally:
        await worker.stop()
        server.should_exit = True
        await server_task


async def _started_before_stop(worker: WorkerService, stop: asyncio.Event) -> bool:
    """Start the worker unless `stop` is set first (a SIGTERM while waiting for servers)."""
    starting = asyncio.create_task(worker.start())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not starting.done():
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        return False
    starting.result()  # re-raise a failed start-up
    return True


async def main() -> None:
    settings = WorkerSettings()
    configure_logging(service=SERVICE, level=settings.log_level, json=settings.log_json)
    configure_tracing(SERVICE)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_worker(settings, stop)
