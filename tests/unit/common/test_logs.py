"""Log lines are JSON with context, and no secret ever reaches them."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from git44_common.correlation import reset_correlation_id, set_correlation_id
from git44_common.logs import REDACTED, configure_logging, redact, register_secret

JWT = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0"
    ".eyJzdWIiOiJ1c2VyLTEiLCJyb2xlIjoidXNlciJ9"
    ".c2lnbmF0dXJlLWJ5dGVzLWhlcmUtYWJjZGVmZ2hpams"
)
GIT44_KEY = "g44_" + "Ab3_dE-fGh1jKlMnOpQrStUvWxYz0123456789"
SCRAPER_KEY = "0123456789abcdef0123456789abcdef"
BCRYPT = "$2b$12$" + "R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFakeKeyMaterial\n-----END PRIVATE KEY-----"


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def text(self) -> str:
        return self.stream.getvalue()


def _install(json_format: bool) -> tuple[Captured, logging.Handler]:
    configure_logging(service="test-svc", level="DEBUG", json=json_format)
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_git44_handler", False))
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)
    return Captured(stream), handler


@pytest.fixture
def captured() -> Iterator[Captured]:
    root = logging.getLogger()
    level = root.level
    capture, handler = _install(json_format=True)
    yield capture
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_line_carries_time_level_logger_service_and_correlation_id(captured: Captured) -> None:
    token = set_correlation_id("corr-123")
    try:
        logging.getLogger("git44.jobs").info(
            "job %s claimed", "j1", extra={"job_id": "j1", "user_id": "u1"}
        )
    finally:
        reset_correlation_id(token)
    (line,) = captured.lines()
    assert line["message"] == "job j1 claimed"
    assert line["level"] == "INFO"
    assert line["logger"] == "git44.jobs"
    assert line["service"] == "test-svc"
    assert line["correlation_id"] == "corr-123"
    assert (line["job_id"], line["user_id"]) == ("j1", "u1")
    assert datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("template", "secret"),
    [
        ("verifying %s", JWT),
        ("header Authorization: Bearer %s", "opaque-token-value-123"),
        ("GET /?api_key=%s&url=https://x", "scraper-key-in-query"),
        ("GET /account?apikey=%s", "another-key-in-query"),
        ("call https://api.scraperapi.com/?key=%s", "yet-another-key-value"),
        ("created key %s", GIT44_KEY),
        ("hash is %s", BCRYPT),
        ("loaded %s", PEM),
        ("payload {'password': '%s'}", "hunter2-hunter2"),
        ('body {"refresh_token": "%s"}', "rt-value-1234567"),
        ("amqp://guest:%s@broker:5672/", "broker-password"),
    ],
)
def test_secrets_in_messages_and_arguments_are_redacted(
    captured: Captured, template: str, secret: str
) -> None:
    logging.getLogger("test").warning(template, secret)
    assert secret not in captured.text()
    assert REDACTED in captured.lines()[0]["message"]


def test_secret_named_extras_are_redacted_even_nested(captured: Captured) -> None:
    logging.getLogger("test").info(
        "login",
        extra={
            "password": "plain-password",
            "x_api_key": "key-value-abc",
            "request": {"headers": {"Authorization": "Bearer abc.def", "cookie": "sid=1"}},
            "note": f"see {JWT}",
        },
    )
    (line,) = captured.lines()
    assert line["password"] == REDACTED
    assert line["x_api_key"] == REDACTED
    assert line["request"]["headers"] == {"Authorization": REDACTED, "cookie": REDACTED}
    assert JWT not in captured.text()


def test_exception_text_is_redacted(captured: Captured) -> None:
    try:
        raise RuntimeError(f"upstream rejected api_key={SCRAPER_KEY} with token {JWT}")
    except RuntimeError:
        logging.getLogger("test").exception("call failed")
    (line,) = captured.lines()
    assert "RuntimeError" in line["exc_info"]
    assert SCRAPER_KEY not in captured.text()
    assert JWT not in captured.text()


def test_registered_secrets_are_redacted_wherever_they_appear(captured: Captured) -> None:
    register_secret("a-signing-key-with-no-shape")
    register_secret("short")  # too short to redact safely: ignored
    logging.getLogger("test").info("value a-signing-key-with-no-shape and short")
    message = captured.lines()[0]["message"]
    assert message == f"value {REDACTED} and short"


def test_uvicorns_loggers_go_through_the_same_handler(captured: Captured) -> None:
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "1.2.3.4:5", "GET", f"/?api_key={SCRAPER_KEY}", "1.1", 200
    )
    logging.getLogger("uvicorn.error").error("boom %s", f"Bearer {JWT}")
    lines = captured.lines()
    assert [line["logger"] for line in lines] == ["uvicorn.access", "uvicorn.error"]
    assert SCRAPER_KEY not in captured.text()
    assert JWT not in captured.text()


def test_configuring_twice_does_not_duplicate_lines(captured: Captured) -> None:
    root = logging.getLogger()
    capture, handler = _install(json_format=True)
    try:
        logging.getLogger("test").info("once")
        assert len(capture.lines()) == 1
        assert sum(getattr(h, "_git44_handler", False) for h in root.handlers) == 1
    finally:
        root.removeHandler(handler)


def test_plain_format_shows_the_correlation_id() -> None:
    root = logging.getLogger()
    capture, handler = _install(json_format=False)
    token = set_correlation_id("plain-corr")
    try:
        logging.getLogger("test").info("hello %s", f"token={JWT}")
    finally:
        reset_correlation_id(token)
        root.removeHandler(handler)
    assert "[plain-corr] hello" in capture.text()
    assert JWT not in capture.text()


@pytest.mark.parametrize(
    "harmless",
    [
        "job 65f1c2a9e4b0a1b2c3d4e5f6 moved to polling",
        "https://sora.chatgpt.com/p/s_68e5a1b2c3d4e5f6",
        "key k-42 limited (HTTP 403); 2 keys active",
        "trace 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "quota remaining=499 daily_used=1",
        # ids are uuid4 hex: logs must keep them (ScraperAPI keys are redacted by value)
        "job 3f2a6c1e9b8d4e7fa0c1d2e3f4a5b6c7 succeeded",
    ],
)
def test_ordinary_text_is_left_alone(harmless: str) -> None:
    assert redact(harmless) == harmless


def test_redaction_is_stable_when_applied_twice() -> None:
    once = redact(f"Authorization: Bearer {JWT} password=abc api_key={SCRAPER_KEY}")
    assert redact(once) == once
    assert "abc" not in once.replace("[REDACTED]", "")


@pytest.mark.parametrize(
    "hostile",
    ["ab-" * 7000, "eyJa-" * 4000, "a://b:" * 4000, 'password: "' * 2000, "token" * 4000],
)
def test_hostile_input_cannot_stall_redaction(hostile: str) -> None:
    started = time.perf_counter()
    redact(hostile)
    assert time.perf_counter() - started < 2.0  # catastrophic backtracking takes minutes
