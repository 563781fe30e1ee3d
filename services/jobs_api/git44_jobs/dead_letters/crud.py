"""Every query on `dead_letters`. Functions return documents, counts or None."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pymongo import ASCENDING

from git44_common.collections import DEAD_LETTERS
from git44_common.mongo import Database, Document, IndexSpec
from git44_common.pagination import SortFields, keyset_sort

# letters are listed and replayed in the order they were taken from the queue
OLDEST_FIRST: Final[SortFields] = (("stored_at", datetime), ("_id", str))

INDEXES = (
    IndexSpec(
        collection=DEAD_LETTERS, keys=[("stored_at", ASCENDING), ("_id", ASCENDING)], name="stored"
    ),
    IndexSpec(collection=DEAD_LETTERS, keys=[("job_id", ASCENDING)], name="job"),
)


async def store_letter(db: Database, letter: Document) -> None:
    """Keep `letter` unless a letter with its id is stored already (idempotent)."""
    fields = {name: value for name, value in letter.items() if name != "_id"}
    await db[DEAD_LETTERS].update_one({"_id": letter["_id"]}, {"$setOnInsert": fields}, upsert=True)


async def find_letters(db: Database, query: Document, *, limit: int) -> list[Document]:
    """Letters matching `query`, oldest first."""
    found = db[DEAD_LETTERS].find(query).sort(keyset_sort(OLDEST_FIRST, descending=False))
    return [doc async for doc in found.limit(limit)]


async def get_letter(db: Database, letter_id: str) -> Document | None:
    return await db[DEAD_LETTERS].find_one({"_id": letter_id})


async def delete_letter(db: Database, letter_id: str) -> bool:
    """True when the letter was there."""
    return (await db[DEAD_LETTERS].delete_one({"_id": letter_id})).deleted_count == 1


async def delete_user_letters(db: Database, user_id: str) -> int:
    """Forget a deleted user's letters (their job's body names them); how many."""
    return (await db[DEAD_LETTERS].delete_many({"user_id": user_id})).deleted_count


async def delete_all_letters(db: Database) -> int:
    """How many letters were deleted."""
    return (await db[DEAD_LETTERS].delete_many({})).deleted_count


async def count_letters(db: Database) -> int:
    return await db[DEAD_LETTERS].count_documents({})
