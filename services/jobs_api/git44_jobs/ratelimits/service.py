"""A fixed-window request counter in MongoDB, shared by every jobs-api replica.

One document per (bucket, window) incremented with `$inc` (atomic, `crud.py`). DESIGN
section 2: the `limits` library's async MongoDB storage needs Motor, so this small
counter is used instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

from git44_common.exceptions import RateLimited
from git44_common.mongo import Database
from git44_jobs.ratelimits import crud


async def count_request(
    db: Database, bucket: str, *, limit: int, window_seconds: int, now: datetime
) -> int:
    """Count one request in `bucket`'s current window; RateLimited (429) past `limit`."""
    start = int(now.timestamp()) // window_seconds * window_seconds
    ends = start + window_seconds
    count = await crud.increment(
        db, f"{bucket}:{start}", expires_at=datetime.fromtimestamp(ends, UTC)
    )
    if count > limit:
        raise RateLimited(
            f"At most {limit} requests per {window_seconds} s are allowed for this API key.",
            retry_after=ends - now.timestamp(),
        )
    return limit - count
