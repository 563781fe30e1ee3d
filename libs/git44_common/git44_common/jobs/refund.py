"""The one refund: a job ends (failed or cancelled) and its credit goes back, once.

Used by jobs-api's cancel and by the worker's failure path, each with its own filter
(the worker's keeps its job-lease-owner condition). Runs inside the caller's
transaction: one write of the job, then the quota's refund if the job's charge was
still reserved.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from git44_common.collections import REMOVAL_JOBS, USER_QUOTAS
from git44_common.contracts import JobStatus
from git44_common.jobs.record import end_with_refund_update, was_charged
from git44_common.mongo import Database, Document
from git44_common.quota import refund_update


async def end_job_with_refund(
    db: Database,
    query: Document,
    *,
    status: JobStatus,
    now: datetime,
    session: AsyncClientSession,
    fields: Document | None = None,
    attempt: Document | None = None,
) -> tuple[Document | None, bool]:
    """The job matching `query` moved to `status`, its credit refunded if still taken.

    Returns the job after the change (None when `query` matched nothing) and whether a
    credit went back.
    """
    update = end_with_refund_update(status=status, now=now, fields=fields, attempt=attempt)
    before = await db[REMOVAL_JOBS].find_one_and_update(
        query, update, session=session, return_document=ReturnDocument.BEFORE
    )
    if before is None:
        return None, False
    refunded = was_charged(before)
    if refunded:
        await db[USER_QUOTAS].update_one(
            {"_id": before["user_id"]},
            refund_update(charged_day=before.get("charged_day"), now=now),
            session=session,
        )
    # a read inside the transaction sees its own write; it writes nothing
    after = await db[REMOVAL_JOBS].find_one({"_id": before["_id"]}, session=session)
    return after, refunded
