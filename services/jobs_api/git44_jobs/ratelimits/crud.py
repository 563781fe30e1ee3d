"""Every query on `api_rate_limits`: one counter document per (bucket, window), removed
by a TTL index once its window is over."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING

from git44_common.collections import API_RATE_LIMITS
from git44_common.mongo import Database, IndexSpec, increment_counter

# one counter document per bucket and window; gone once the window is over
INDEXES = (
    IndexSpec(
        collection=API_RATE_LIMITS,
        keys=[("expires_at", ASCENDING)],
        name="expires_ttl",
        expire_after_seconds=0,
    ),
)


async def increment(db: Database, counter_id: str, *, expires_at: datetime) -> int:
    """The counter after adding one (created with its expiry on the window's first hit)."""
    return await increment_counter(db[API_RATE_LIMITS], counter_id, expires_at=expires_at)
