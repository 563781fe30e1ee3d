"""Tracing's switches and scrubbing, without exporting anything (the e2e test
tests/e2e/test_tracing.py exports for real)."""

from __future__ import annotations

import json
import logging

import pytest

from git44_common.amqp.publisher import tracing_headers
from git44_common.correlation import reset_traceparent, set_traceparent
from git44_common.logs import build_handler
from git44_common.tracing import (
    current_ids,
    origin_only,
    restored,
    scrub_url,
    traceparent,
    tracing_requested,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{PARENT}-01"


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
    ],
)
def test_tracing_is_off_unless_an_otlp_endpoint_is_set(environ: dict[str, str], on: bool) -> None:
    assert tracing_requested(environ) is on


def test_secrets_in_urls_never_reach_a_span() -> None:
    proxied = "https://api.scraperapi.com/?api_key=sk-live-0123456789&url=https%3A%2F%2Fx"
    assert (
        scrub_url(proxied) == "https://api.scraperapi.com/?api_key=[REDACTED]&url=https%3A%2F%2Fx"
    )
    callback = "/api/providers/kie/callback/cb_9f8e7d6c5b4a39281706?x=1"
    assert scrub_url(callback) == "/api/providers/kie/callback/[REDACTED]?x=1"
    assert scrub_url("https://hooks.example/in?token=abcdef123456") == (
        "https://hooks.example/in?token=[REDACTED]"
    )


def test_with_tracing_off_a_stored_traceparent_is_passed_on() -> None:
    """The outbox relay restores the submission's traceparent: what it publishes then
    carries it, and its log lines its ids."""
    assert traceparent() is None
    with restored(TRACEPARENT):
        assert traceparent() == TRACEPARENT
        assert tracing_headers()["traceparent"] == TRACEPARENT
        assert current_ids() == (TRACE, PARENT)
    assert traceparent() is None
    with restored("not a traceparent"):
        assert traceparent() is None


def test_log_lines_carry_the_trace_and_span_ids(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("test_tracing.lines")
    logger.propagate = False
    logger.addHandler(build_handler(service="test"))
    logger.setLevel(logging.INFO)
    token = set_traceparent(TRACEPARENT)
    try:
        logger.info("inside")
    finally:
        reset_traceparent(token)
    logger.info("outside")
    inside, outside = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (inside["trace_id"], inside["span_id"]) == (TRACE, PARENT)
    assert (outside["trace_id"], outside["span_id"]) == (None, None)


def test_a_url_its_owner_chose_keeps_only_its_origin() -> None:
    assert origin_only("https://hooks.slack.com/services/T0/B0/s3cr3t?x=1") == (
        "https://hooks.slack.com/[REDACTED]"
    )
    assert origin_only("http://127.0.0.1:9000/hooks/abc") == "http://127.0.0.1:9000/[REDACTED]"
    assert origin_only("not a url") == "/[REDACTED]"
