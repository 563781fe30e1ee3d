"""The quota's atomic updates on a real MongoDB-wire server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument

from git44_common.mongo import Database
from git44_common.quota import new_quota_document, refund_update, reserve_filter, reserve_update

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


async def reserve(db: Database, now: datetime) -> dict | None:
    return await db.quotas.find_one_and_update(
        reserve_filter("u1", now), reserve_update(now), return_document=ReturnDocument.AFTER
    )


async def test_concurrent_reservations_never_exceed_the_credits(mongo_db: Database) -> None:
    await mongo_db.quotas.insert_one(new_quota_document("u1", total=7, daily_limit=100, now=NOON))
    results = await asyncio.gather(*(reserve(mongo_db, NOON) for _ in range(20)))
    assert sum(r is not None for r in results) == 7
    doc = await mongo_db.quotas.find_one({"_id": "u1"})
    assert (doc["remaining_quota"], doc["daily_used"]) == (0, 7)


async def test_the_daily_window_resets_inside_the_reservation(mongo_db: Database) -> None:
    await mongo_db.quotas.insert_one(new_quota_document("u1", total=10, daily_limit=2, now=NOON))
    assert await reserve(mongo_db, NOON) is not None
    assert await reserve(mongo_db, NOON) is not None
    assert await reserve(mongo_db, NOON) is None
    tomorrow = NOON + timedelta(days=1)
    after = await reserve(mongo_db, tomorrow)
    assert after is not None
    assert (after["daily_used"], after["day"], after["remaining_quota"]) == (1, "2026-11-27", 7)


async def test_a_refund_returns_the_credit_and_todays_slot(mongo_db: Database) -> None:
    await mongo_db.quotas.insert_one(new_quota_document("u1", total=10, daily_limit=2, now=NOON))
    await reserve(mongo_db, NOON)
    await mongo_db.quotas.update_one(
        {"_id": "u1"}, refund_update(charged_day="2026-11-26", now=NOON)
    )
    doc = await mongo_db.quotas.find_one({"_id": "u1"})
    assert (doc["remaining_quota"], doc["daily_used"]) == (10, 0)
    # charged yesterday, refunded today: the credit comes back, today's usage is untouched
    await reserve(mongo_db, NOON)
    later = NOON + timedelta(days=1)
    await mongo_db.quotas.update_one(
        {"_id": "u1"}, refund_update(charged_day="2026-11-26", now=later)
    )
    doc = await mongo_db.quotas.find_one({"_id": "u1"})
    assert (doc["remaining_quota"], doc["daily_used"], doc["day"]) == (10, 0, "2026-11-27")
