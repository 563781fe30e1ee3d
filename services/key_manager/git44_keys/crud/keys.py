"""Queries on `scraper_api_keys`. Every state change is one atomic update."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument

from git44_common.collections import SCRAPER_KEYS
from git44_common.contracts import KeyStatus
from git44_common.mongo import Database, Document
from git44_common.pagination import after_cursor, keyset_sort, split_page

# A key may take another lease while it has fewer than its own max_concurrency.
_HAS_FREE_SLOT = {"$expr": {"$lt": ["$in_flight", "$max_concurrency"]}}
_LEAST_LOADED_THEN_LRU = [("in_flight", ASCENDING), ("last_used", ASCENDING), ("_id", ASCENDING)]


async def insert_key(db: Database, document: Document) -> None:
    """Insert a key; raises DuplicateKeyError when its fingerprint exists."""
    await db[SCRAPER_KEYS].insert_one(document)


async def fingerprint_taken(db: Database, fingerprints: list[str]) -> bool:
    """True when a key is stored under any of these fingerprints."""
    found = await db[SCRAPER_KEYS].find_one(
        {"key_fingerprint": {"$in": fingerprints}}, projection={"_id": 1}
    )
    return found is not None


async def stored_ciphertexts(db: Database) -> list[Document]:
    """Every key's `_id`, ciphertext and fingerprint (a pool holds tens of keys)."""
    projection = {"api_key_encrypted": 1, "key_fingerprint": 1}
    return await db[SCRAPER_KEYS].find({}, projection=projection).sort("_id").to_list()


async def replace_ciphertext(
    db: Database, key_id: str, *, old_token: str, token: str, fingerprint: str
) -> bool:
    """Store a key re-encrypted, unless its ciphertext changed meanwhile; raises
    DuplicateKeyError when another key is stored under `fingerprint`."""
    result = await db[SCRAPER_KEYS].update_one(
        {"_id": key_id, "api_key_encrypted": old_token},
        {"$set": {"api_key_encrypted": token, "key_fingerprint": fingerprint}},
    )
    return result.matched_count == 1


async def get_key(db: Database, key_id: str) -> Document | None:
    return await db[SCRAPER_KEYS].find_one({"_id": key_id})


async def list_keys(
    db: Database, *, cursor: str | None, limit: int
) -> tuple[list[Document], str | None]:
    """One page of keys, oldest first, and the next page's cursor (None on the last);
    ValidationFailed (422) for a cursor this listing did not hand out."""
    query = after_cursor({}, cursor, descending=False)
    found = db[SCRAPER_KEYS].find(query).sort(keyset_sort(descending=False))
    return split_page(await found.limit(limit + 1).to_list(), limit)


async def delete_key(db: Database, key_id: str) -> Document | None:
    return await db[SCRAPER_KEYS].find_one_and_delete({"_id": key_id})


async def claim_slot(db: Database, now: datetime) -> Document | None:
    """Take one slot of the least-loaded, then least recently used, active key."""
    return await db[SCRAPER_KEYS].find_one_and_update(
        {"status": KeyStatus.ACTIVE.value, **_HAS_FREE_SLOT},
        {"$inc": {"in_flight": 1}, "$set": {"last_used": now, "updated_at": now}},
        sort=_LEAST_LOADED_THEN_LRU,
        return_document=ReturnDocument.AFTER,
    )


async def return_slot(db: Database, key_id: str, *, now: datetime) -> None:
    """Give back one slot of an unused (expired) lease, never below zero."""
    await db[SCRAPER_KEYS].update_one(
        {"_id": key_id, "in_flight": {"$gt": 0}},
        {"$inc": {"in_flight": -1}, "$set": {"updated_at": now}},
    )


async def finish_use(db: Database, key_id: str, *, now: datetime) -> None:
    """A call with this key finished: its slot back and the use counted, in one update."""
    await db[SCRAPER_KEYS].update_one(
        {"_id": key_id},
        [
            {
                "$set": {
                    "in_flight": {"$max": [0, {"$subtract": ["$in_flight", 1]}]},
                    "usage_count": {"$add": [{"$ifNull": ["$usage_count", 0]}, 1]},
                    "last_used": now,
                    "updated_at": now,
                }
            }
        ],
    )


async def idle_keys_holding_slots(db: Database, *, unchanged_since: datetime) -> list[Document]:
    """Keys with slots taken whose counters have not changed since `unchanged_since`."""
    cursor = db[SCRAPER_KEYS].find(
        {"in_flight": {"$gt": 0}, "updated_at": {"$lte": unchanged_since}},
        projection={"in_flight": 1, "updated_at": 1},
    )
    return await cursor.to_list()


async def count_by_status(db: Database) -> dict[KeyStatus, int]:
    pipeline = [{"$group": {"_id": "$status", "n": {"$sum": 1}}}]
    counts = dict.fromkeys(KeyStatus, 0)
    async for row in await db[SCRAPER_KEYS].aggregate(pipeline):
        if row["_id"] in KeyStatus._value2member_map_:
            counts[KeyStatus(row["_id"])] = int(row["n"])
    return counts


async def earliest_cooldown_end(db: Database) -> datetime | None:
    key = await db[SCRAPER_KEYS].find_one(
        {"status": KeyStatus.COOLDOWN.value}, sort=[("cooldown_until", ASCENDING)]
    )
    return None if key is None else key.get("cooldown_until")


async def key_ids(db: Database, query: dict[str, Any]) -> list[str]:
    return [str(doc["_id"]) async for doc in db[SCRAPER_KEYS].find(query, projection={"_id": 1})]


async def compare_and_set(
    db: Database,
    key_id: str,
    *,
    expected: dict[str, Any],
    update: dict[str, Any],
) -> Document | None:
    """Apply `update` only if the key still matches `expected`; the key before, or None."""
    return await db[SCRAPER_KEYS].find_one_and_update(
        {"_id": key_id, **expected}, update, return_document=ReturnDocument.BEFORE
    )


async def total_in_flight(db: Database) -> int:
    pipeline = [{"$group": {"_id": None, "n": {"$sum": "$in_flight"}}}]
    rows = await (await db[SCRAPER_KEYS].aggregate(pipeline)).to_list()
    return int(rows[0]["n"]) if rows else 0
