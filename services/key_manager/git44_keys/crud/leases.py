"""Queries on `key_leases`: one document per granted lease, deleted when its slot returns.

Deleting the lease is the exactly-once guard: only whoever deletes it (the release
handler, or the sweeper once it expired) gives the slot back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from git44_common.collections import KEY_LEASES
from git44_common.mongo import Database, Document

PURGE_AFTER = timedelta(days=1)


async def insert_lease(
    db: Database,
    *,
    lease_id: str,
    key_id: str,
    worker_id: str,
    job_id: str | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    await db[KEY_LEASES].insert_one(
        {
            "_id": lease_id,
            "key_id": key_id,
            "worker_id": worker_id,
            "job_id": job_id,
            "created_at": now,
            "expires_at": expires_at,
            "purge_at": expires_at + PURGE_AFTER,
        }
    )


async def take_lease(db: Database, lease_id: str) -> Document | None:
    """Delete the lease; returned only to the one caller that deleted it."""
    return await db[KEY_LEASES].find_one_and_delete({"_id": lease_id})


async def take_expired_lease(db: Database, lease_id: str, now: datetime) -> Document | None:
    return await db[KEY_LEASES].find_one_and_delete({"_id": lease_id, "expires_at": {"$lte": now}})


async def expired_lease_ids(db: Database, now: datetime, *, limit: int = 500) -> list[str]:
    cursor = db[KEY_LEASES].find({"expires_at": {"$lte": now}}, projection={"_id": 1})
    return [str(doc["_id"]) async for doc in cursor.limit(limit)]


async def count_live_leases(db: Database, key_id: str, now: datetime) -> int:
    return await db[KEY_LEASES].count_documents({"key_id": key_id, "expires_at": {"$gt": now}})


async def count_key_leases(db: Database, key_id: str) -> int:
    """Leases holding a slot of the key: live ones and expired ones not yet swept."""
    return await db[KEY_LEASES].count_documents({"key_id": key_id})


async def delete_key_leases(db: Database, key_id: str) -> None:
    await db[KEY_LEASES].delete_many({"key_id": key_id})
