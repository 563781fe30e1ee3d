"""The terminal failure of a job and the refund of its credit, in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from git44_common.contracts import JobStatus
from git44_common.mongo import Database, MongoClient
from git44_common.quota import refund_update
from git44_worker.crud.jobs import JOBS, attempt_record, owned, released_lease

QUOTAS = "user_quotas"
Document = dict[str, Any]


async def fail_and_refund(
    client: MongoClient,
    db: Database,
    job: Document,
    *,
    worker_id: str,
    error: str,
    event_id: str,
    now: datetime,
) -> tuple[Document | None, bool]:
    """→ failed and, in the same transaction, the credit back exactly once.

    Returns the failed job (None if it was not ours) and whether a credit was refunded:
    the `charge` flip reserved → refunded is the guard, so a replay refunds nothing.
    """

    async def transaction(session: AsyncClientSession) -> tuple[Document | None, bool]:
        failed = await db[JOBS].find_one_and_update(
            owned(job["_id"], worker_id),
            _failed_update(job, error=error, event_id=event_id, now=now),
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if failed is None:
            return None, False
        flipped = await db[JOBS].update_one(
            {"_id": job["_id"], "charge": "reserved"},
            {"$set": {"charge": "refunded", "refunded_at": now}},
            session=session,
        )
        if flipped.modified_count == 0:
            return failed, False
        await db[QUOTAS].update_one(
            {"_id": failed["user_id"]},
            refund_update(charged_day=failed.get("charged_day"), now=now),
            session=session,
        )
        return failed, True

    async with client.start_session() as session:
        return await session.with_transaction(transaction)


def _failed_update(job: Document, *, error: str, event_id: str, now: datetime) -> Document:
    return {
        "$set": {
            "status": JobStatus.FAILED.value,
            "error": error,
            "completed_at": now,
            "updated_at": now,
            "next_attempt_at": None,
            "webhook_pending": bool(job.get("callback_url")),
            "webhook_event_id": event_id,
            **released_lease(),
        },
        "$push": {"attempts": attempt_record(job, outcome="failed", error=error, now=now)},
        "$inc": {"version": 1},
    }
