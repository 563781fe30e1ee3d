"""HTTP metrics in Prometheus' default registry, labelled by service and route template.

The metrics are module-level (created once per process) and carry a `service` label,
so several apps in one process (tests) share them without clashing. Routes are
labelled with their template (`/api/removal/{job_id}`), never the concrete path, so ids
in paths cannot explode the number of series; requests that match no route are
labelled `unmatched`.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "unmatched"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "git44_http_requests_total",
    "HTTP requests answered, by route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "git44_http_request_duration_seconds",
    "Time from receiving an HTTP request to the end of its response.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
HTTP_IN_PROGRESS = Gauge(
    "git44_http_requests_in_progress",
    "HTTP requests being handled right now.",
    ["service", "method"],
)


def route_template(scope: Scope) -> str:
    """The path template of the route that handled `scope`, or `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


def method_label(method: str) -> str:
    """`method` if it is a standard HTTP method, else `other` (clients choose methods)."""
    return method if method in _KNOWN_METHODS else "other"


class HttpMetricsMiddleware:
    """Counts requests and observes their duration by method, route template and status."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = method_label(scope["method"])
        status = 500
        started_at = time.perf_counter()
        in_progress = HTTP_IN_PROGRESS.labels(self.service, method)
        in_progress.inc()

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            in_progress.dec()
            route = route_template(scope)
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_REQUEST_DURATION.labels(self.service, method, route).observe(
                time.perf_counter() - started_at
            )


def metrics_endpoint() -> Response:
    """The process's metrics in Prometheus' text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


EVENT_LOOP_LAG = Gauge(
    "git44_event_loop_lag_seconds",
    "How late the event loop ran a timer, measured once a second: work that blocks the "
    "loop (a CPU-bound call, a synchronous read) shows here before it shows in latency.",
)


async def watch_event_loop_lag(interval: float = 1.0) -> None:
    """Set EVENT_LOOP_LAG every `interval` seconds, for as long as the task runs."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval)
        EVENT_LOOP_LAG.set(max(0.0, loop.time() - started - interval))
