"""Every query on `api_rate_limits`: one counter document per (bucket, window), removed
by a TTL index once its window is over."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, ReturnDocument

from git44_common.collections import API_RATE_LIMITS
from git44_common.mongo import Database, IndexSpec, is_duplicate_key_error

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
    for _ in range(3):
        try:
            doc = await db[API_RATE_LIMITS].find_one_and_update(
                {"_id": counter_id},
                {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": expires_at}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except Exception as exc:
            # two first hits of a window raced on the upsert; the loser retries the $inc
            if not is_duplicate_key_error(exc):
                raise
            continue
        return int(doc["count"]) if doc else 1
    return 1
