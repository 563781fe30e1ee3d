"""mongo.increment_counter: every concurrent increment learns a distinct value, from the
window's very first one (concurrent first upserts once told two callers `1`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from git44_common.mongo import Database, increment_counter


async def test_concurrent_first_increments_each_learn_their_own_value(mongo_db: Database) -> None:
    expires = datetime(2026, 12, 1, tzinfo=UTC)
    for trial in range(20):
        collection = mongo_db[f"counters_{trial}"]
        values = await asyncio.gather(
            *(increment_counter(collection, "k", expires_at=expires) for _ in range(5))
        )
        assert sorted(values) == [1, 2, 3, 4, 5], values
        stored = await collection.find_one({"_id": "k"})
        assert stored is not None
        assert (stored["count"], stored["expires_at"].replace(tzinfo=UTC)) == (5, expires)
