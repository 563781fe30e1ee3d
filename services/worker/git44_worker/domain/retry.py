"""Retry timing of jobs and webhook deliveries (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

# Below this a job is treated as due: the smallest delay tier is 1 s anyway.
DUE_TOLERANCE_SECONDS = 0.05


def retry_delay(retry_count: int, *, base: float, factor: float, maximum: float) -> float:
    """Backoff before retry number `retry_count` (1-based): base, base*factor, ..., capped."""
    exponent = max(retry_count - 1, 0)
    return float(min(base * factor**exponent, maximum))


def seconds_until(moment: datetime | None, now: datetime) -> float:
    """Seconds from `now` until `moment` (0 when it is None or past)."""
    if moment is None:
        return 0.0
    return max((moment - now).total_seconds(), 0.0)


def is_due(moment: datetime | None, now: datetime) -> bool:
    """True when `moment` has (practically) arrived."""
    return seconds_until(moment, now) <= DUE_TOLERANCE_SECONDS


def webhook_retry_delay(attempt: int, delays: Sequence[float]) -> float | None:
    """Delay after failed attempt `attempt` (1-based) before the next; None when out of tries."""
    if attempt < 1 or attempt > len(delays):
        return None
    return float(delays[attempt - 1])
