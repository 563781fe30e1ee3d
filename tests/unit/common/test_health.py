"""/healthz and /readyz answer what an orchestrator needs to know, and nothing more."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from git44_common.health import (
    ReadinessCheck,
    build_health_router,
    readiness_checks,
    register_readiness_check,
)


async def ok() -> None:
    return None


async def broken() -> None:
    raise ConnectionError("mongodb://admin:s3cret@db:27017 refused")


async def hangs() -> None:
    await asyncio.sleep(10)


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
def app() -> FastAPI:
    app = FastAPI()
    app.include_router(build_health_router(timeout=0.1))
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http:
        yield http


async def test_healthz_says_the_process_is_alive(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_with_no_checks_is_ready(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready", "checks": {}})


async def test_checks_registered_after_startup_are_used(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    register_readiness_check(app, "mongo", ok)
    readiness_checks(app)["amqp"] = ok
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"mongo": "ok", "amqp": "ok"}}


async def test_a_failing_check_makes_readyz_503_without_details(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    register_readiness_check(app, "mongo", broken)
    register_readiness_check(app, "amqp", ok)
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"mongo": "failed", "amqp": "ok"}}
    assert "s3cret" not in response.text


async def test_a_hanging_check_times_out_and_checks_run_concurrently(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for name in ("one", "two", "three"):
        register_readiness_check(app, name, hangs)
    started = time.monotonic()
    response = await client.get("/readyz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert set(response.json()["checks"].values()) == {"timeout"}
    assert elapsed < 1.0  # three 0.1 s timeouts side by side, not one after another


async def test_a_mapping_or_a_callable_can_supply_the_checks() -> None:
    checks: dict[str, ReadinessCheck] = {}
    app = FastAPI()
    app.include_router(build_health_router(checks))
    other = FastAPI()
    other.include_router(build_health_router(lambda: {"down": broken}))
    async with client_for(app) as http, client_for(other) as other_http:
        checks["late"] = ok  # filled in after the router was built
        ready = await http.get("/readyz")
        unavailable = await other_http.get("/readyz")
    assert ready.json()["checks"] == {"late": "ok"}
    assert unavailable.status_code == 503


async def test_metrics_are_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert "python_info" in response.text or "process_" in response.text
