"""Tracing with OpenTelemetry: off unless configured, by the standard `OTEL_*` variables.

On when an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; OTLP over HTTP/protobuf) and neither
`OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none` says otherwise.
`OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` name the process (default: the
service), `OTEL_TRACES_SAMPLER`/`_ARG` sample, `OTEL_BSP_*` tune the batching exporter.

When on, a span is made for every HTTP request served (FastAPI; not health or
metrics) and sent (httpx: upstream calls, webhooks, JWKS), every MongoDB command
(PyMongo) and every AMQP publish and consume (aio-pika). The context travels in each
message's `traceparent` header, so one job's trace runs from its submission through
the worker, the key-lease RPC to key-manager and the upstream calls to its webhook; a
job the outbox relay publishes carries the traceparent its submission stored
(`traceparent()` / `restored()`).

When off, nothing is patched and no span is made: the W3C `traceparent` an HTTP
request or a message brought is still passed on (`git44_common.correlation`), and log
lines carry its ids.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from git44_common.correlation import get_traceparent, sanitize_traceparent

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
# Probes and scrapes every few seconds would bury the traces worth reading.
EXCLUDED_URLS = "/healthz,/readyz,/metrics"

_PROPAGATOR = TraceContextTextMapPropagator()
_configured: str | None = None  # the service tracing was configured for


def tracing_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the `OTEL_*` variables ask for traces to be exported."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def tracing_enabled() -> bool:
    """Whether this process exports traces (`configure_tracing` turned it on)."""
    return _configured is not None


def configure_tracing(service: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Install the SDK and the library instrumentations if `environ` asks for traces;
    True when tracing is on. Idempotent; call once, before the app serves."""
    global _configured
    if _configured is not None:
        return True
    if not tracing_requested(environ):
        return False
    # imported here: a process with tracing off loads none of the SDK
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over this
    name = environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(
        request_hook=_scrub_request, async_request_hook=_scrub_async_request
    )
    PymongoInstrumentor().instrument()  # command names only, never their documents
    AioPikaInstrumentor().instrument()
    _configured = service
    log.info("tracing on", extra={"otel_service_name": name})
    return True


def instrument_app(app: Any) -> None:
    """Spans for the requests `app` (FastAPI) serves, if tracing is on."""
    if not tracing_enabled():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls=EXCLUDED_URLS,
        server_request_hook=_scrub_served,
        exclude_spans=["receive", "send"],  # one span per request, not one per ASGI event
    )


# A span keeps the URL it was made for; ours carry secrets: ScraperAPI keys in the
# query (`api_key=`), tokens in webhook receivers' URLs (in any part of them: Slack's
# and Discord's are in the path), the capability token in a provider's callback path.
# Bodies and headers are never recorded.
_URL_ATTRIBUTES = ("http.url", "url.full", "http.target", "url.path", "url.query")
_CALLBACK_TOKEN = re.compile(r"(/callback/)[^/?#]+")
REDACTED_PATH = "/[REDACTED]"


def scrub_url(url: str) -> str:
    """`url` as a span may keep it: secrets in its query or callback path redacted."""
    from git44_common.logs import redact  # logs imports this module for the trace ids

    return _CALLBACK_TOKEN.sub(r"\1[REDACTED]", redact(url))


def origin_only(url: str) -> str:
    """`url` with its path and query replaced: what a span may keep of a URL a user
    chose, whose every part may be a secret."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return REDACTED_PATH
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{REDACTED_PATH}"


def _scrub(span: Any, *, users_url: bool = False) -> None:
    if not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    for name in _URL_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str):
            span.set_attribute(name, origin_only(value) if users_url else scrub_url(value))


def _is_webhook(request: Any) -> bool:
    """A webhook delivery (Standard Webhooks headers): to a URL its owner chose."""
    headers = getattr(request, "headers", None)
    return headers is not None and "webhook-id" in headers


def _scrub_request(span: Any, request: Any) -> None:
    _scrub(span, users_url=_is_webhook(request))


async def _scrub_async_request(span: Any, request: Any) -> None:
    _scrub(span, users_url=_is_webhook(request))


def _scrub_served(span: Any, scope: Any) -> None:
    _scrub(span)


def tracer(name: str) -> trace.Tracer:
    """A tracer for spans of our own (a no-op one while tracing is off)."""
    return trace.get_tracer(name)


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the work in progress: the current span's, else
    those of the traceparent an HTTP request or a message brought; None outside both."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        return format(context.trace_id, "032x"), format(context.span_id, "016x")
    traceparent = get_traceparent()
    if traceparent is None:
        return None
    _, trace_id, span_id, _ = traceparent.split("-")
    return trace_id, span_id


def traceparent() -> str | None:
    """The W3C traceparent of the work in progress (to store with work that another
    process continues later, as the outbox does), or None."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return sanitize_traceparent(carrier.get("traceparent")) or get_traceparent()


@contextmanager
def restored(value: str | None) -> Iterator[None]:
    """Make `value` (a stored traceparent) the current context meanwhile: spans made
    inside are its children, so they join the trace they were stored from."""
    value = sanitize_traceparent(value)
    if value is None:
        yield
        return
    token = otel_context.attach(_PROPAGATOR.extract({"traceparent": value}))
    try:
        yield
    finally:
        otel_context.detach(token)
