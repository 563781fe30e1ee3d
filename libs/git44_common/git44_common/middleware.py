"""Pure ASGI middlewares every service installs (see `install_middleware` for the order).

- `CorrelationIdMiddleware` (outermost): adopts or makes the request's correlation id,
  echoes it in `X-Correlation-ID` / `X-Request-ID`, and turns an unhandled exception
  into the generic 500 problem, so even that response and its log line carry the id.
- `BodySizeLimitMiddleware`: 413 problem when a body is, or turns out to be, too big.
- `RequestTimeoutMiddleware`: 503 problem when no response has started in time;
  a response that has started (e.g. an SSE stream) is never cut off.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from git44_common import correlation
from git44_common.exceptions import PayloadTooLarge, ProblemError, ServiceUnavailable
from git44_common.metrics import HttpMetricsMiddleware
from git44_common.problems import internal_error, problem_response

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
TIMEOUT_RETRY_AFTER_SECONDS = 1


async def _send_problem(error: ProblemError, scope: Scope, receive: Receive, send: Send) -> None:
    await problem_response(error, instance=scope.get("path", "/"))(scope, receive, send)


def _incoming_correlation_id(headers: Headers) -> str:
    for name in (correlation.CORRELATION_HEADER, correlation.REQUEST_ID_HEADER):
        adopted = correlation.sanitize_correlation_id(headers.get(name))
        if adopted:
            return adopted
    return correlation.new_correlation_id()


class CorrelationIdMiddleware:
    """Sets the correlation id (and W3C traceparent) for the request; see module doc."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        correlation_id = _incoming_correlation_id(headers)
        traceparent = correlation.sanitize_traceparent(headers.get(correlation.TRACEPARENT_HEADER))
        id_token = correlation.set_correlation_id(correlation_id)
        trace_token = correlation.set_traceparent(traceparent)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                response_headers = MutableHeaders(scope=message)
                response_headers["X-Correlation-ID"] = correlation_id
                response_headers["X-Request-ID"] = correlation_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if started or scope["type"] != "http":
                raise
            await _send_problem(internal_error(), scope, receive, send_with_id)
        finally:
            correlation.reset_traceparent(trace_token)
            correlation.reset_correlation_id(id_token)


class _BodyTooLarge(HTTPException):
    """Raised from `receive` so the app stops reading; answered with a 413 problem."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="Request body too large")


class BodySizeLimitMiddleware:
    """Answers 413 `payload_too_large` for bodies over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _problem(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The request body exceeds {self.max_bytes} bytes.", extra={"maxBytes": self.max_bytes}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _send_problem(self._problem(), scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # Whatever the app makes of the interrupted read, the client gets the 413.
            if exceeded and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await _send_problem(self._problem(), scope, receive, send)


class RequestTimeoutMiddleware:
    """Answers 503 `service_unavailable` when a handler has not responded within `seconds`."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        deadline = asyncio.timeout(self.seconds)

        async def send_and_disarm(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                if deadline.expired():
                    # The deadline fired just as the response was about to start: its
                    # cancellation is already pending, so let it land here, before
                    # anything is sent, and answer the 503 below.
                    await asyncio.sleep(0)
                started = True
                deadline.reschedule(None)
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive, send_and_disarm)
        except TimeoutError:
            # A TimeoutError of the app's own (not our deadline) is the app's to report.
            if started or not deadline.expired():
                raise
            log.warning(
                "request timed out",
                extra={"path": scope.get("path"), "timeout_seconds": self.seconds},
            )
            problem = ServiceUnavailable(
                f"The request took longer than {self.seconds:g} seconds.",
                retry_after=TIMEOUT_RETRY_AFTER_SECONDS,
            )
            await _send_problem(problem, scope, receive, send)


def install_middleware(
    app: FastAPI,
    *,
    service: str,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    timeout_seconds: float | None = 30.0,
) -> None:
    """Add the Git44 middlewares in the right order (correlation id outermost)."""
    # add_middleware wraps: the last one added runs first.
    if timeout_seconds is not None:
        app.add_middleware(RequestTimeoutMiddleware, seconds=timeout_seconds)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(HttpMetricsMiddleware, service=service)
    app.add_middleware(CorrelationIdMiddleware)
