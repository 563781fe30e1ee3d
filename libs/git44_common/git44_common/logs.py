"""JSON logging with the correlation id on every line and secrets scrubbed out.

`configure_logging` installs one handler on the root logger (uvicorn's loggers are made
to propagate to it) carrying a `RedactingFilter`: tokens, passwords, API keys,
ScraperAPI keys, bcrypt hashes and private keys never reach the output, whether they
sit in the message, its arguments, `extra=` fields or an exception's text.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from git44_common.correlation import get_correlation_id
from git44_common.tracing import current_ids

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 8

_SENSITIVE_NAME = re.compile(
    r"passw(?:or)?d|secret|token|authorization|api[_-]?key|cookie|private[_-]?key", re.I
)
# Bounded and anchored so that long runs of word characters cannot cause backtracking.
_KEY = (
    r"(?<![\w-])[\w-]{0,40}?"
    r"(?:passw(?:or)?d|secret|token|authorization|api[_-]?key|cookie|private[_-]?key)[\w-]{0,40}"
)
_NOT_DONE = r"(?!\[REDACTED\])"

# (pattern, replacement) applied in order; the more specific shapes come first.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?"
            r"(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)"
        ),
        REDACTED,
    ),
    (re.compile(r"(?<![\w-])eyJ[\w-]+\.[\w-]+\.[\w-]*"), REDACTED),
    (
        re.compile(r"(?i)\b(bearer|basic)\s+" + _NOT_DONE + r"[A-Za-z0-9._~+/=-]+"),
        r"\1 " + REDACTED,
    ),
    (
        re.compile(
            r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,30}://[^:/@\s]{0,256}:)[^@/\s]{1,256}@"
        ),
        r"\1" + REDACTED + "@",
    ),
    (re.compile(r"\bg44_[A-Za-z0-9_-]{32,}"), REDACTED),
    (re.compile(r"\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}"), REDACTED),
    (
        re.compile(
            r"(?i)([?&;](?:api_?key|key|token|access_token|refresh_token|password|secret)=)"
            + _NOT_DONE
            + r"[^&\s#\"']+"
        ),
        r"\1" + REDACTED,
    ),
    # key/value pairs named like secrets: `"password": "a b"`, `token=x`, `'secret': 42`
    (
        re.compile(
            r"(?i)(" + _KEY + r"[\"']?\s*[:=]\s*)([\"'])" + _NOT_DONE + r"(?:(?!\2).){0,1024}\2"
        ),
        r"\1\2" + REDACTED + r"\2",
    ),
    (
        re.compile(
            r"(?i)("
            + _KEY
            + r"\s*=\s*|[\"']"
            + _KEY
            + r"[\"']\s*:\s*|"
            + _KEY
            + ":)"
            + _NOT_DONE
            + r"(?!(?:bearer|basic)\s)[^\"'\s&,;}\]]+"
        ),
        r"\1" + REDACTED,
    ),
)

_secrets_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_secrets_pattern: re.Pattern[str] | None = None

_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "service",
    "correlation_id",
    "trace_id",
    "span_id",
}
_EXCEPTION_FORMATTER = logging.Formatter()
_HANDLER_MARK = "_git44_handler"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"


def register_secret(value: str | None) -> None:
    """Redact every later occurrence of `value` (values under 8 characters are ignored)."""
    global _secrets, _secrets_pattern
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        _secrets = _secrets | {value}
        ordered = sorted(_secrets, key=len, reverse=True)
        _secrets_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def is_sensitive_name(name: str) -> bool:
    """True when a field called `name` holds a secret (password, token, api_key, ...)."""
    return bool(_SENSITIVE_NAME.search(name))


def redact(text: str) -> str:
    """`text` with every known secret and secret-shaped substring replaced."""
    pattern = _secrets_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for regex, replacement in _PATTERNS:
        text = regex.sub(replacement, text)
    return text


def redact_value(value: Any) -> Any:
    """`value` with secrets removed from strings, mappings (by key too) and sequences."""
    if value is None or isinstance(value, bool | int | float | datetime | date):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and is_sensitive_name(k) else redact_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


class RedactingFilter(logging.Filter):
    """Scrubs secrets from a record's message, arguments, extras and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_message(record)
        for name in list(record.__dict__):
            if name in _STANDARD_ATTRS:
                continue
            value = record.__dict__[name]
            record.__dict__[name] = REDACTED if is_sensitive_name(name) else redact_value(value)
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = _EXCEPTION_FORMATTER.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _redact_message(record: logging.LogRecord) -> None:
    if isinstance(record.msg, Mapping) and not record.args:
        record.msg = redact_value(record.msg)
        return
    try:
        message = record.getMessage()
    except Exception:
        message = f"{record.msg} {record.args!r}"
    record.msg = redact(message)
    record.args = None


class ContextFilter(logging.Filter):
    """Adds `service`, the current `correlation_id` and, inside a trace, its `trace_id`
    and `span_id` to every record."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if getattr(record, "correlation_id", None) is None:
            record.correlation_id = get_correlation_id()
        ids = current_ids()
        record.trace_id, record.span_id = ids if ids is not None else (None, None)
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object a line: time, level, logger, message, service, correlation_id,
    trace_id, span_id, extras."""
    return JsonFormatter(
        ["levelname", "name", "message", "service", "correlation_id", "trace_id", "span_id"],
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
    )


def build_handler(*, service: str, json: bool = True) -> logging.Handler:
    """A stdout handler with redaction, context fields and the chosen format."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RedactingFilter())
    handler.addFilter(ContextFilter(service))
    handler.setFormatter(json_formatter() if json else logging.Formatter(PLAIN_FORMAT))
    setattr(handler, _HANDLER_MARK, True)
    return handler


def configure_logging(*, service: str, level: str = "INFO", json: bool = True) -> None:
    """Route all logging (uvicorn's too) through one redacting handler on the root logger.

    Idempotent: a handler installed by an earlier call is replaced. Run uvicorn with
    `log_config=None` so it does not install its own handlers afterwards.
    """
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, _HANDLER_MARK, False):
            root.removeHandler(existing)
    root.addHandler(build_handler(service=service, json=json))
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)  # the configured level applies to them too
