"""Queries on `scraper_api_keys`. Every state change is one atomic update; leases are
not written here (they live in each replica's memory, ADR 0010), only the usage counts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne

from git44_common.collections import SCRAPER_KEYS
from git44_common.contracts import KeyStatus
from git44_common.mongo import Database, Document
from git44_common.pagination import after_cursor, keyset_sort, split_page


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


async def pool_keys(db: Database) -> list[Document]:
    """What a replica leases from: every key's id, state, limit and ciphertext."""
    projection = {
        "status": 1,
        "max_concurrency": 1,
        "api_key_encrypted": 1,
        "last_used": 1,
        "plan.concurrency_limit": 1,
    }
    return await db[SCRAPER_KEYS].find({}, projection=projection).sort("_id").to_list()


async def claim_plan_check(
    db: Database, key_id: str, *, due_before: datetime, now: datetime
) -> Document | None:
    """The key, claimed for a plan check if its last one is older than `due_before`."""
    return await db[SCRAPER_KEYS].find_one_and_update(
        {
            "_id": key_id,
            "$or": [
                {"plan_checked_at": None},
                {"plan_checked_at": {"$lt": due_before}},
            ],
        },
        {"$set": {"plan_checked_at": now}},
    )


async def store_plan(db: Database, key_id: str, plan: Mapping[str, int], *, now: datetime) -> None:
    """What ScraperAPI's `/account` said of the key's plan."""
    await db[SCRAPER_KEYS].update_one({"_id": key_id}, {"$set": {"plan": {**plan, "read_at": now}}})


async def add_usage(db: Database, uses: Mapping[str, tuple[int, datetime]]) -> None:
    """Count uses (key id → (how many, the last one's time)): one update per key, sent
    together. A key deleted meanwhile is simply not found."""
    if not uses:
        return
    updates = [
        UpdateOne({"_id": key_id}, {"$inc": {"usage_count": count}, "$max": {"last_used": last}})
        for key_id, (count, last) in uses.items()
    ]
    await db[SCRAPER_KEYS].bulk_write(updates, ordered=False)


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
