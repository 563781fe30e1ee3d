"""Fixed-window rate limits shared by every replica, and how a client is told about them.

A `Limit` allows `quota` units per window of `window_seconds` (windows start at
multiples of the window since the epoch, so every replica agrees on them). Counting is
the caller's (a counter document per subject and window in MongoDB, removed by a TTL
index once its window is over): this module turns counts into `Usage`, a refusal
(429 `rate_limited` with `Retry-After`) and the IETF RateLimit headers
(draft-ietf-httpapi-ratelimit-headers):

    RateLimit-Policy: "user-submissions";q=60;w=60
    RateLimit: "user-submissions";r=12;t=34

Where several limits apply, the headers describe the one closest to exhaustion.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from git44_common.exceptions import RateLimited

POLICY_HEADER = "RateLimit-Policy"
STATE_HEADER = "RateLimit"
# what browsers may read of a response (the gateway's CORS Access-Control-Expose-Headers)
EXPOSED_HEADERS = (POLICY_HEADER, STATE_HEADER, "Retry-After")
# where a request keeps the usages its response reports (`request.state`)
STATE_KEY = "rate_limit_usages"


@dataclass(frozen=True)
class Limit:
    """At most `quota` units per `window_seconds`; `policy` names it in the headers."""

    policy: str
    quota: int
    window_seconds: int

    def window(self, now: datetime) -> tuple[int, datetime]:
        """The current window: its start (epoch seconds, part of a counter's id) and end."""
        start = int(now.timestamp()) // self.window_seconds * self.window_seconds
        return start, datetime.fromtimestamp(start + self.window_seconds, UTC)

    def counter_id(self, subject: str, now: datetime) -> str:
        """The id of `subject`'s counter in the current window."""
        return f"{self.policy}:{subject}:{self.window(now)[0]}"

    def usage(self, used: int, now: datetime) -> Usage:
        """What `used` units in the current window mean."""
        _, ends = self.window(now)
        return Usage(self, used=used, resets_in=max((ends - now).total_seconds(), 0.0))


@dataclass(frozen=True)
class Usage:
    limit: Limit
    used: int
    resets_in: float  # seconds until the window ends

    @property
    def remaining(self) -> int:
        return max(self.limit.quota - self.used, 0)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit.quota


def rate_limit_headers(usages: Iterable[Usage]) -> dict[str, str]:
    """The RateLimit headers of the usage closest to exhaustion (none for no usage)."""
    closest = min(usages, key=_exhaustion, default=None)
    if closest is None:
        return {}
    limit = closest.limit
    return {
        POLICY_HEADER: f'"{limit.policy}";q={limit.quota};w={limit.window_seconds}',
        STATE_HEADER: f'"{limit.policy}";r={closest.remaining};t={math.ceil(closest.resets_in)}',
    }


def _exhaustion(usage: Usage) -> tuple[float, float]:
    return usage.remaining / max(usage.limit.quota, 1), usage.resets_in


def enforce(usages: Iterable[Usage], *, what: str) -> None:
    """Raise RateLimited (429, Retry-After until the window ends, RateLimit headers) if
    any of `usages` is over its limit; `what` says what was limited, for the message."""
    usages = list(usages)
    exceeded = [usage for usage in usages if usage.exceeded]
    if not exceeded:
        return
    worst = max(exceeded, key=lambda usage: usage.resets_in)
    limit = worst.limit
    raise RateLimited(
        f"At most {limit.quota} {what} per {limit.window_seconds} s ({limit.policy}).",
        retry_after=worst.resets_in,
        headers=rate_limit_headers([worst]),
        extra={"policy": limit.policy},
    )


def note_usage(state: Any, usages: Iterable[Usage]) -> None:
    """Remember `usages` for this request's response headers (`request.state`)."""
    noted: list[Usage] = getattr(state, STATE_KEY, None) or []
    noted.extend(usages)
    setattr(state, STATE_KEY, noted)


class RateLimitHeadersMiddleware:
    """Adds the RateLimit headers of the usages a request noted (`note_usage`) to its
    response, whatever the route returned; a response that has them already (a 429)
    keeps its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                usages = scope.get("state", {}).get(STATE_KEY)
                if usages:
                    headers = MutableHeaders(scope=message)
                    if POLICY_HEADER not in headers:
                        for name, value in rate_limit_headers(usages).items():
                            headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
