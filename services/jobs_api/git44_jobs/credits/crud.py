"""Every jobs-api query on `user_quotas` (the rules themselves: git44_common.quota)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from git44_common.collections import USER_QUOTAS
from git44_common.mongo import Database, Document, is_duplicate_key_error
from git44_common.quota import new_quota_document, reserve_filter, reserve_update, utc_day


async def ensure_quota(
    db: Database, user_id: str, *, total: int, daily_limit: int, now: datetime
) -> None:
    """Create the user's quota with the defaults unless it exists (race-safe upsert)."""
    document = new_quota_document(user_id, total=total, daily_limit=daily_limit, now=now)
    document.pop("_id")
    try:
        await db[USER_QUOTAS].update_one({"_id": user_id}, {"$setOnInsert": document}, upsert=True)
    except Exception as exc:
        # two first requests at once: the other upsert inserted it
        if not is_duplicate_key_error(exc):
            raise


async def get_quota(db: Database, user_id: str) -> Document | None:
    return await db[USER_QUOTAS].find_one({"_id": user_id})


async def charge_credit(
    db: Database, user_id: str, *, now: datetime, session: AsyncClientSession
) -> Document | None:
    """One credit (and today's slot) taken atomically, or None when refused."""
    return await db[USER_QUOTAS].find_one_and_update(
        reserve_filter(user_id, now),
        reserve_update(now),
        session=session,
        return_document=ReturnDocument.AFTER,
    )


async def charge_users(
    db: Database, counts: dict[str, int], *, now: datetime, session: AsyncClientSession
) -> dict[str, int]:
    """Credits for several users at once (`counts`: how many each asks for): how many
    each got. Users asking for the same number share one `update_many`; which quotas it
    matched is read back (inside the transaction) by the reservation's mark."""
    if len(counts) == 1:
        ((user_id, count),) = counts.items()
        return {user_id: await charge_credits(db, user_id, count, now=now, session=session)}
    mark = uuid.uuid4().hex
    by_count: dict[int, list[str]] = {}
    for user_id, count in counts.items():
        by_count.setdefault(count, []).append(user_id)
    for count, users in by_count.items():
        await db[USER_QUOTAS].update_many(
            reserve_filter(users, now, count=count),
            reserve_update(now, count=count, reservation=mark),
            session=session,
        )
    matched = db[USER_QUOTAS].find(
        {"_id": {"$in": list(counts)}, "last_reservation": mark}, {"_id": 1}, session=session
    )
    granted = {document["_id"] async for document in matched}
    result: dict[str, int] = {}
    for user_id, count in counts.items():
        if user_id in granted:
            result[user_id] = count
        else:  # not all `count` fit, so at most count - 1 do: take them one at a time
            result[user_id] = await _charge_one_at_a_time(db, user_id, count - 1, now, session)
    return result


async def charge_credits(
    db: Database, user_id: str, count: int, *, now: datetime, session: AsyncClientSession
) -> int:
    """Up to `count` credits taken for one user: all at once in one update when they fit,
    else one at a time until refused. How many were taken."""
    if count > 1:
        taken = await db[USER_QUOTAS].find_one_and_update(
            reserve_filter(user_id, now, count=count),
            reserve_update(now, count=count),
            projection={"_id": 1},
            session=session,
        )
        if taken is not None:
            return count
    return await _charge_one_at_a_time(db, user_id, count, now, session)


async def _charge_one_at_a_time(
    db: Database, user_id: str, count: int, now: datetime, session: AsyncClientSession
) -> int:
    granted = 0
    while granted < count and await charge_credit(db, user_id, now=now, session=session):
        granted += 1
    return granted


async def apply_change(db: Database, user_id: str, update: Document) -> Document | None:
    """An admin's change to the quota in one atomic update; the quota after."""
    return await db[USER_QUOTAS].find_one_and_update(
        {"_id": user_id}, update, return_document=ReturnDocument.AFTER
    )


async def usage_totals(db: Database, now: datetime) -> Document:
    """Users, credits given, left, and used today, summed over every quota."""
    pipeline: list[Document] = [
        {
            "$group": {
                "_id": None,
                "users": {"$sum": 1},
                "total": {"$sum": "$total_quota"},
                "remaining": {"$sum": "$remaining_quota"},
                "today": {"$sum": {"$cond": [{"$eq": ["$day", utc_day(now)]}, "$daily_used", 0]}},
            }
        }
    ]
    rows = [doc async for doc in await db[USER_QUOTAS].aggregate(pipeline)]
    return rows[0] if rows else {"users": 0, "total": 0, "remaining": 0, "today": 0}


async def delete_quota(db: Database, user_id: str) -> None:
    await db[USER_QUOTAS].delete_one({"_id": user_id})
