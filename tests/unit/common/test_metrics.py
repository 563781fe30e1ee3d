"""HTTP metrics are counted by route template, per service, and served at /metrics."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY

from git44_common.health import build_health_router
from git44_common.metrics import HttpMetricsMiddleware, watch_event_loop_lag
from git44_common.problems import install_problem_handlers


def build_app(service: str) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(build_health_router({}))
    app.add_middleware(HttpMetricsMiddleware, service=service)

    @app.get("/api/removal/{job_id}")
    async def get_job(job_id: str) -> dict[str, str]:
        return {"id": job_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaput")

    return app


def count(service: str, method: str, route: str, status: str) -> float:
    labels = {"service": service, "method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("git44_http_requests_total", labels) or 0.0


async def test_requests_are_counted_by_route_template_not_path() -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    transport = httpx.ASGITransport(app=build_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for job_id in ("a1", "b2", "c3"):
            await http.get(f"/api/removal/{job_id}")
        await http.get("/no/such/thing")
        await http.post("/api/removal/a1")
    assert count(service, "GET", "/api/removal/{job_id}", "200") == 3
    assert count(service, "GET", "unmatched", "404") == 1
    assert count(service, "POST", "/api/removal/{job_id}", "405") == 1
    assert count(service, "GET", "/api/removal/a1", "200") == 0
    duration = REGISTRY.get_sample_value(
        "git44_http_request_duration_seconds_count",
        {"service": service, "method": "GET", "route": "/api/removal/{job_id}"},
    )
    assert duration == 3
    in_progress = REGISTRY.get_sample_value(
        "git44_http_requests_in_progress", {"service": service, "method": "GET"}
    )
    assert in_progress == 0


async def test_a_crash_is_counted_as_a_500() -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    transport = httpx.ASGITransport(app=build_app(service), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        await http.get("/boom")
    assert count(service, "GET", "/boom", "500") == 1


async def test_odd_methods_do_not_create_new_series() -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    transport = httpx.ASGITransport(app=build_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        await http.request("BREW", "/api/removal/x")
    assert count(service, "other", "/api/removal/{job_id}", "405") == 1


async def test_two_apps_in_one_process_keep_their_own_counts() -> None:
    first, second = (f"svc-{uuid.uuid4().hex[:8]}" for _ in range(2))
    for service, calls in ((first, 2), (second, 1)):
        transport = httpx.ASGITransport(app=build_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            for _ in range(calls):
                await http.get("/api/removal/x")
    assert count(first, "GET", "/api/removal/{job_id}", "200") == 2
    assert count(second, "GET", "/api/removal/{job_id}", "200") == 1


async def test_metrics_are_served_in_prometheus_text_format() -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    transport = httpx.ASGITransport(app=build_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        await http.get("/api/removal/x")
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert (
        f'git44_http_requests_total{{method="GET",route="/api/removal/{{job_id}}",service="{service}"'
        in response.text
    )


async def test_the_event_loop_lag_shows_a_blocked_loop() -> None:
    """Every service runs `watch_event_loop_lag` (ServiceRuntime.open): a loop blocked
    for 0.3 s runs the watcher's timer about that late."""
    watcher = asyncio.create_task(watch_event_loop_lag(interval=0.05))
    try:
        await asyncio.sleep(0.12)
        calm = REGISTRY.get_sample_value("git44_event_loop_lag_seconds")
        time.sleep(0.3)  # noqa: ASYNC251 - what a CPU-bound call in a handler does to the loop
        await asyncio.sleep(0.01)  # the overdue timer runs first: the watcher measures
        blocked = REGISTRY.get_sample_value("git44_event_loop_lag_seconds")
    finally:
        watcher.cancel()
    assert calm is not None
    assert calm < 0.1
    assert blocked is not None
    assert blocked >= 0.2
