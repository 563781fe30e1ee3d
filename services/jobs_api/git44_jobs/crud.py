"""MongoDB queries on jobs and quotas. Functions return documents or None; no HTTP errors."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from git44_common.mongo import Database, is_duplicate_key_error
from git44_common.quota import new_quota_document, refund_update, reserve_filter, reserve_update
from git44_jobs.core.db import JOBS, QUOTAS

Document = dict[str, Any]


async def ensure_quota(
    db: Database, user_id: str, *, total: int, daily_limit: int, now: datetime
) -> None:
    """Create the user's quota with the defaults unless it exists (race-safe upsert)."""
    document = new_quota_document(user_id, total=total, daily_limit=daily_limit, now=now)
    document.pop("_id")
    try:
        await db[QUOTAS].update_one({"_id": user_id}, {"$setOnInsert": document}, upsert=True)
    except Exception as exc:
        # two first requests at once: the other upsert inserted it
        if not is_duplicate_key_error(exc):
            raise


async def get_quota(db: Database, user_id: str) -> Document | None:
    return await db[QUOTAS].find_one({"_id": user_id})


async def reserve_credit(
    db: Database, user_id: str, *, now: datetime, session: AsyncClientSession
) -> Document | None:
    """One credit (and today's slot) taken atomically, or None when refused."""
    return await db[QUOTAS].find_one_and_update(
        reserve_filter(user_id, now),
        reserve_update(now),
        session=session,
        return_document=ReturnDocument.AFTER,
    )


async def reserve_for_users(
    db: Database, counts: dict[str, int], *, now: datetime, session: AsyncClientSession
) -> dict[str, int]:
    """Credits for several users at once (`counts`: how many each asks for): how many
    each got. Users asking for the same number share one `update_many`; which quotas it
    matched is read back (inside the transaction) by the reservation's mark."""
    if len(counts) == 1:
        ((user_id, count),) = counts.items()
        return {user_id: await reserve_credits(db, user_id, count, now=now, session=session)}
    mark = uuid.uuid4().hex
    by_count: dict[int, list[str]] = {}
    for user_id, count in counts.items():
        by_count.setdefault(count, []).append(user_id)
    for count, users in by_count.items():
        await db[QUOTAS].update_many(
            reserve_filter(users, now, count=count),
            reserve_update(now, count=count, reservation=mark),
            session=session,
        )
    matched = db[QUOTAS].find(
        {"_id": {"$in": list(counts)}, "last_reservation": mark}, {"_id": 1}, session=session
    )
    granted = {document["_id"] async for document in matched}
    result: dict[str, int] = {}
    for user_id, count in counts.items():
        if user_id in granted:
            result[user_id] = count
        else:  # not all `count` fit, so at most count - 1 do: take them one at a time
            result[user_id] = await _reserve_one_at_a_time(db, user_id, count - 1, now, session)
    return result


async def reserve_credits(
    db: Database, user_id: str, count: int, *, now: datetime, session: AsyncClientSession
) -> int:
    """Up to `count` credits taken for one user: all at once in one update when they fit,
    else one at a time until refused. How many were taken."""
    if count > 1:
        taken = await db[QUOTAS].find_one_and_update(
            reserve_filter(user_id, now, count=count),
            reserve_update(now, count=count),
            projection={"_id": 1},
            session=session,
        )
        if taken is not None:
            return count
    return await _reserve_one_at_a_time(db, user_id, count, now, session)


async def _reserve_one_at_a_time(
    db: Database, user_id: str, count: int, now: datetime, session: AsyncClientSession
) -> int:
    granted = 0
    while granted < count and await reserve_credit(db, user_id, now=now, session=session):
        granted += 1
    return granted


async def refund_credit(
    db: Database,
    user_id: str,
    *,
    charged_day: str | None,
    now: datetime,
    session: AsyncClientSession,
) -> None:
    await db[QUOTAS].update_one(
        {"_id": user_id}, refund_update(charged_day=charged_day, now=now), session=session
    )


async def insert_jobs(db: Database, jobs: list[Document], *, session: AsyncClientSession) -> None:
    """Insert in order; a duplicate `_id` raises (and aborts the transaction)."""
    await db[JOBS].insert_many(jobs, ordered=True, session=session)


async def get_job(db: Database, job_id: str, *, user_id: str | None = None) -> Document | None:
    """The job, or None if it does not exist or belongs to someone other than `user_id`."""
    query: Document = {"_id": job_id}
    if user_id is not None:
        query["user_id"] = user_id
    return await db[JOBS].find_one(query)


async def mark_published(db: Database, job_ids: list[str], *, session: AsyncClientSession) -> None:
    """Set the outbox flag of jobs whose `removal.requested` the broker confirmed."""
    await db[JOBS].update_many(
        {"_id": {"$in": job_ids}},
        {"$set": {"published": True, "relay_claimed_until": None}},
        session=session,
    )


async def release_relay_claim(db: Database, job_id: str) -> None:
    """Let the outbox relay take the job now (its publish failed here)."""
    await db[JOBS].update_one({"_id": job_id}, {"$set": {"relay_claimed_until": None}})


async def transition_job(
    db: Database,
    query: Document,
    update: Document | list[Document],
    *,
    session: AsyncClientSession,
) -> Document | None:
    """Compare-and-set: `update` if `query` (status included) still matches; the job before."""
    return await db[JOBS].find_one_and_update(
        query, update, session=session, return_document=ReturnDocument.BEFORE
    )


async def find_jobs(db: Database, query: Document, *, limit: int) -> list[Document]:
    """Jobs matching `query`, newest first ((created_at, _id) descending)."""
    cursor = db[JOBS].find(query).sort([("created_at", -1), ("_id", -1)]).limit(limit)
    return [doc async for doc in cursor]


async def jobs_updated_since(
    db: Database, user_id: str, *, since: datetime, limit: int
) -> list[Document]:
    cursor = (
        db[JOBS]
        .find({"user_id": user_id, "updated_at": {"$gt": since}})
        .sort("updated_at", 1)
        .limit(limit)
    )
    return [doc async for doc in cursor]


async def quota_of(
    db: Database, user_id: str, *, total: int, daily_limit: int, now: datetime
) -> Document:
    """The user's quota document, created with the defaults on first use."""
    await ensure_quota(db, user_id, total=total, daily_limit=daily_limit, now=now)
    document = await get_quota(db, user_id)
    assert document is not None
    return document
