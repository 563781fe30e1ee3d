"""Every query on `idempotency_keys` (one record per user and key; a TTL index ends it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING

from git44_common.collections import IDEMPOTENCY_KEYS
from git44_common.mongo import Database, Document, IndexSpec, ttl_index

INDEXES = (
    IndexSpec(
        collection=IDEMPOTENCY_KEYS,
        keys=[("user_id", ASCENDING), ("key", ASCENDING)],
        name="user_key_unique",
        unique=True,
    ),
    # a key is remembered for a day
    ttl_index(IDEMPOTENCY_KEYS, "created_at", after_seconds=24 * 3600),
)


async def insert_record(db: Database, record: Document) -> None:
    """A new record; a duplicate (user_id, key) raises DuplicateKeyError."""
    await db[IDEMPOTENCY_KEYS].insert_one(record)


async def get_record(db: Database, user_id: str, key: str) -> Document | None:
    return await db[IDEMPOTENCY_KEYS].find_one({"user_id": user_id, "key": key})


async def store_response(db: Database, record_id: str, response: Any, *, now: datetime) -> None:
    """The first response for the key (a later one never overwrites it)."""
    await db[IDEMPOTENCY_KEYS].update_one(
        {"_id": record_id, "response": None},
        {"$set": {"response": response, "completed_at": now}},
    )


async def delete_user_records(db: Database, user_id: str) -> None:
    """Forget the user's idempotency keys (the responses they hold name their jobs)."""
    await db[IDEMPOTENCY_KEYS].delete_many({"user_id": user_id})
