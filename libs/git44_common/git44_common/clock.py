"""The one clock every service reads: UTC, to the millisecond (what MongoDB stores).

Code that needs the time takes a `Clock` (default `utc_now`), so tests can pass another.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def as_utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC time (MongoDB hands back naive UTC datetimes)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc_now() -> datetime:
    """Now in UTC, truncated to milliseconds, so a value read back from MongoDB is equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
