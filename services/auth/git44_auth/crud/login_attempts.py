"""The `login_attempts` collection: fixed-window counters shared by every replica.

One document per (subject, window) with a TTL on `expires_at`; `$inc` with upsert is
atomic, so concurrent attempts on several replicas are all counted.
"""

from __future__ import annotations

from datetime import datetime

from git44_common.collections import LOGIN_ATTEMPTS
from git44_common.mongo import Database, increment_counter


async def count_attempt(db: Database, *, counter_id: str, expires_at: datetime) -> int:
    """Add one attempt to the counter `counter_id`; its new value."""
    return await increment_counter(db[LOGIN_ATTEMPTS], counter_id, expires_at=expires_at)


async def clear_attempts(db: Database, counter_id: str) -> None:
    await db[LOGIN_ATTEMPTS].delete_one({"_id": counter_id})
