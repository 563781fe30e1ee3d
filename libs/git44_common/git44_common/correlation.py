"""The correlation id of the work in progress, carried from HTTP to AMQP and back.

One context variable holds it; the HTTP middleware sets it from `X-Request-ID` /
`X-Correlation-ID` (or makes one), the AMQP publisher copies it into the
`x-correlation-id` header and the consumer helper restores it before a handler runs.
Log records pick it up through `git44_common.logs`.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

CORRELATION_HEADER = "x-correlation-id"
REQUEST_ID_HEADER = "x-request-id"
TRACEPARENT_HEADER = "traceparent"

_correlation_id: ContextVar[str | None] = ContextVar("git44_correlation_id", default=None)
_traceparent: ContextVar[str | None] = ContextVar("git44_traceparent", default=None)

# Ids arrive from clients: accept only short, printable tokens so they are safe in logs.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def new_correlation_id() -> str:
    """A fresh random correlation id."""
    return uuid.uuid4().hex


def sanitize_correlation_id(value: str | None) -> str | None:
    """Return `value` if it is a safe id to adopt, else None."""
    if value and _SAFE_ID.match(value):
        return value
    return None


def sanitize_traceparent(value: str | None) -> str | None:
    """Return `value` if it is a well-formed W3C traceparent, else None."""
    if value and _TRACEPARENT.match(value):
        return value
    return None


def get_correlation_id() -> str | None:
    """The correlation id of the current task, if any."""
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> Token[str | None]:
    """Set the correlation id for the current context; returns a token for `reset`."""
    return _correlation_id.set(value)


def reset_correlation_id(token: Token[str | None]) -> None:
    _correlation_id.reset(token)


def get_traceparent() -> str | None:
    return _traceparent.get()


def set_traceparent(value: str | None) -> Token[str | None]:
    return _traceparent.set(value)


def reset_traceparent(token: Token[str | None]) -> None:
    _traceparent.reset(token)
