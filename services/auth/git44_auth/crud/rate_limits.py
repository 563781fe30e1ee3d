"""The `login_attempts` collection: auth's fixed-window counters (logins, registrations,
password changes), shared by every replica.

One document per (limit, subject, window) with a TTL on `expires_at`; `$inc` with
upsert is atomic, so concurrent attempts on several replicas are all counted.
"""

from __future__ import annotations

from datetime import datetime

from git44_common.collections import LOGIN_ATTEMPTS
from git44_common.mongo import Database, increment_counter


async def count(db: Database, counter_id: str, *, expires_at: datetime) -> int:
    """Add one to the counter `counter_id`; its new value."""
    return await increment_counter(db[LOGIN_ATTEMPTS], counter_id, expires_at=expires_at)


async def give_back(db: Database, counter_id: str) -> None:
    """Take one back from the counter (never below zero)."""
    await db[LOGIN_ATTEMPTS].update_one(
        {"_id": counter_id, "count": {"$gt": 0}}, {"$inc": {"count": -1}}
    )


async def clear(db: Database, counter_id: str) -> None:
    await db[LOGIN_ATTEMPTS].delete_one({"_id": counter_id})
