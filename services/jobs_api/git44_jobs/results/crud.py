"""Every jobs-api query on `result_cache` (written by the worker; git44_common.result_cache)."""

from __future__ import annotations

from datetime import datetime

from git44_common.collections import RESULT_CACHE
from git44_common.mongo import Database, Document


async def find_usable(db: Database, key: str, *, usable_after: datetime) -> Document | None:
    """The cached result for `key` if it expires after `usable_after`."""
    return await db[RESULT_CACHE].find_one({"_id": key, "expires_at": {"$gt": usable_after}})


async def purge_link(db: Database, link: str) -> int:
    """Forget every cached result of `link` (shared and per user); how many."""
    result = await db[RESULT_CACHE].delete_many({"link": link})
    return result.deleted_count
