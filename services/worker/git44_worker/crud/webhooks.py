"""Webhook signing secrets (`webhook_secrets`, created by jobs-api or lazily here) and
the delivery log (`webhook_deliveries`, one document per attempt, with the job's
`user_id`; jobs-api reads it for the owner's data export)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pymongo import DESCENDING

from git44_common.collections import (
    REMOVAL_JOBS,
    WEBHOOK_DELIVERIES,
    WEBHOOK_ENDPOINTS,
    WEBHOOK_SECRETS,
)
from git44_common.mongo import Database, Document, is_duplicate_key_error


async def get_or_create_secret(
    db: Database, user_id: str, *, sealed: Mapping[str, str], now: datetime
) -> Document:
    """The user's signing secret document; `sealed` (a new secret's stored fields) is
    stored if there is none yet."""
    found = await db[WEBHOOK_SECRETS].find_one({"_id": user_id})
    if found is not None:
        return found
    document: Document = {"_id": user_id, **sealed, "created_at": now}
    try:
        await db[WEBHOOK_SECRETS].insert_one(document)
    except Exception as exc:
        if not is_duplicate_key_error(exc):
            raise
        found = await db[WEBHOOK_SECRETS].find_one({"_id": user_id})
        if found is None:
            raise
        return found
    return document


async def record_attempt(db: Database, attempt: Document) -> None:
    """Insert the attempt (its `_id` is set on `attempt`, as the driver does)."""
    await db[WEBHOOK_DELIVERIES].insert_one(attempt)


async def note_retry_scheduled(db: Database, attempt_id: object) -> None:
    """The failed attempt's retry is queued (a redelivered request need not queue it)."""
    await db[WEBHOOK_DELIVERIES].update_one(
        {"_id": attempt_id}, {"$set": {"retry_scheduled": True}}
    )


async def was_delivered(db: Database, event_id: str) -> bool:
    """True when an attempt for this event already got a 2xx."""
    found = await db[WEBHOOK_DELIVERIES].find_one(
        {"event_id": event_id, "status_code": {"$gte": 200, "$lt": 300}}
    )
    return found is not None


async def last_attempt(db: Database, event_id: str) -> Document | None:
    """The latest recorded attempt for the event (its `next_retry_at` says when to retry)."""
    return await db[WEBHOOK_DELIVERIES].find_one(
        {"event_id": event_id}, sort=[("attempt", DESCENDING)]
    )


async def get_endpoint(db: Database, endpoint_id: str) -> Document | None:
    return await db[WEBHOOK_ENDPOINTS].find_one({"_id": endpoint_id})


async def note_endpoint_failure(db: Database, endpoint_id: str, *, now: datetime) -> None:
    """Start the endpoint's failing period, unless it has one running (no write then
    beyond the match)."""
    await db[WEBHOOK_ENDPOINTS].update_one(
        {"_id": endpoint_id, "failing_since": None}, {"$set": {"failing_since": now}}
    )


async def note_endpoint_success(db: Database, endpoint_id: str) -> None:
    """End the endpoint's failing period, if it had one."""
    await db[WEBHOOK_ENDPOINTS].update_one(
        {"_id": endpoint_id, "failing_since": {"$ne": None}}, {"$set": {"failing_since": None}}
    )


async def disable_endpoint(
    db: Database, endpoint_id: str, *, failing_before: datetime, reason: str, now: datetime
) -> Document | None:
    """Disable the endpoint if it is still enabled and has failed since before
    `failing_before`; the endpoint as it was, or None (not disabled by this call)."""
    return await db[WEBHOOK_ENDPOINTS].find_one_and_update(
        {"_id": endpoint_id, "disabled_at": None, "failing_since": {"$lte": failing_before}},
        {"$set": {"disabled_at": now, "disabled_reason": reason, "updated_at": now}},
    )


async def delete_user_deliveries(db: Database, user_id: str) -> int:
    """Delete the delivery log of a deleted user; how many attempts."""
    result = await db[WEBHOOK_DELIVERIES].delete_many({"user_id": user_id})
    return result.deleted_count


@dataclass(frozen=True)
class OwnersAttached:
    attached: int
    orphans_deleted: int


async def attach_owners(db: Database) -> OwnersAttached:
    """Give attempts recorded before they carried `user_id` their job's owner, so the
    owner's export and deletion find them; attempts of a job that no longer exists name
    no one any more and are deleted. Idempotent: once done, one indexed empty query."""
    attached = orphans = 0
    for job_id in await db[WEBHOOK_DELIVERIES].distinct("job_id", {"user_id": None}):
        unowned = {"job_id": job_id, "user_id": None}
        job = await db[REMOVAL_JOBS].find_one({"_id": job_id}, projection={"user_id": 1})
        if job is None:
            orphans += (await db[WEBHOOK_DELIVERIES].delete_many(unowned)).deleted_count
        else:
            update = {"$set": {"user_id": job["user_id"]}}
            attached += (await db[WEBHOOK_DELIVERIES].update_many(unowned, update)).modified_count
    return OwnersAttached(attached=attached, orphans_deleted=orphans)
