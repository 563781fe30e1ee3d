"""The terminal failure of a job and the refund of its credit, in one transaction."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from git44_common.jobs import end_job_with_refund
from git44_common.jobs.states import FAIL
from git44_common.mongo import Database, Document, MongoClient
from git44_worker.crud.jobs import attempt_record, owned, released_job_lease


async def fail_and_refund(
    client: MongoClient,
    db: Database,
    job: Document,
    *,
    worker_id: str,
    error: str,
    event_id: str,
    now: datetime,
    webhook_pending: bool = False,
) -> tuple[Document | None, bool]:
    """→ failed and, in the same transaction, the credit back exactly once.

    Returns the failed job (None if it was not ours) and whether a credit was refunded:
    the `charge` flip reserved → refunded is the guard, so a replay refunds nothing.
    """
    fields: Document = {
        "error": error,
        "next_attempt_at": None,
        "webhook_pending": webhook_pending,
        "webhook_event_id": event_id,
        **released_job_lease(),
    }

    async def transaction(session: AsyncClientSession) -> tuple[Document | None, bool]:
        return await end_job_with_refund(
            db,
            owned(job["_id"], worker_id, FAIL),
            status=FAIL.target,
            now=now,
            session=session,
            fields=fields,
            attempt=attempt_record(job, outcome="failed", error=error, now=now),
        )

    async with client.start_session() as session:
        return await session.with_transaction(transaction)
