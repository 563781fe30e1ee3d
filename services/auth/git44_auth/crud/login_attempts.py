"""The `login_attempts` collection: fixed-window counters shared by every replica.

One document per (subject, window) with a TTL on `expires_at`; `$inc` with upsert is
atomic, so concurrent attempts on several replicas are all counted.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ReturnDocument
from pymongo.errors import OperationFailure

from git44_auth.core.db import LOGIN_ATTEMPTS
from git44_common.mongo import Database, is_duplicate_key_error


async def count_attempt(db: Database, *, counter_id: str, expires_at: datetime) -> int:
    """Add one attempt to the counter `counter_id`; its new value."""
    for _ in range(2):  # two first upserts can race on the _id; the loser retries as an update
        try:
            doc = await db[LOGIN_ATTEMPTS].find_one_and_update(
                {"_id": counter_id},
                {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": expires_at}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except OperationFailure as exc:
            if not is_duplicate_key_error(exc):
                raise
            continue
        return int(doc["count"]) if doc else 1
    raise RuntimeError("login attempt counter kept colliding")


async def clear_attempts(db: Database, counter_id: str) -> None:
    await db[LOGIN_ATTEMPTS].delete_one({"_id": counter_id})
