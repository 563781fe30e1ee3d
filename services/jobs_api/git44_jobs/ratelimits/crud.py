"""Every query on `api_rate_limits`: one counter document per (bucket, window), removed
by a TTL index once its window is over."""

from __future__ import annotations

from datetime import datetime

from git44_common.collections import API_RATE_LIMITS
from git44_common.mongo import Database, increment_counter, ttl_index

# one counter document per bucket and window; gone once the window is over
INDEXES = (ttl_index(API_RATE_LIMITS),)


async def count(db: Database, counter_id: str, amount: int, *, expires_at: datetime) -> int:
    """Add `amount` to the counter (created with its expiry on the window's first hit);
    its new value."""
    return await increment_counter(
        db[API_RATE_LIMITS], counter_id, expires_at=expires_at, amount=amount
    )
