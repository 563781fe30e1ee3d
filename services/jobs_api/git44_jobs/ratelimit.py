"""A fixed-window request counter in MongoDB, shared by every jobs-api replica.

One document per (bucket, window) incremented with `$inc` (atomic), removed by a TTL
index once the window is over. DESIGN section 2: the `limits` library's async MongoDB
storage needs Motor, so this small counter is used instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import ReturnDocument

from git44_common.exceptions import RateLimited
from git44_common.mongo import Database, is_duplicate_key_error
from git44_jobs.core.db import RATE_LIMITS


async def count_request(
    db: Database, bucket: str, *, limit: int, window_seconds: int, now: datetime
) -> int:
    """Count one request in `bucket`'s current window; RateLimited (429) past `limit`."""
    start = int(now.timestamp()) // window_seconds * window_seconds
    ends = start + window_seconds
    count = await _increment(db, f"{bucket}:{start}", expires_at=datetime.fromtimestamp(ends, UTC))
    if count > limit:
        raise RateLimited(
            f"At most {limit} requests per {window_seconds} s are allowed for this API key.",
            retry_after=ends - now.timestamp(),
        )
    return limit - count


async def _increment(db: Database, counter_id: str, *, expires_at: datetime) -> int:
    for _ in range(3):
        try:
            doc = await db[RATE_LIMITS].find_one_and_update(
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
