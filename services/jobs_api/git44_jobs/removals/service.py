"""A user's jobs: reading them, and the user's and admin's transitions — retry
(failed → queued, charging a credit) and cancel (queued → cancelled, refunding it).

Both transitions are compare-and-set on the status inside a transaction with their
quota change, so a credit is charged (retry) or refunded (cancel) exactly when the
transition happens. The cancel's refund is `git44_common.jobs.end_job_with_refund`,
the same single-write operation the worker uses when a job fails.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from pymongo.asynchronous.client_session import AsyncClientSession

from git44_common.contracts import new_event_id
from git44_common.exceptions import Conflict, NotFound
from git44_common.jobs import JobStatus, requeue_update
from git44_common.jobs.states import REQUEUE_FAILED
from git44_common.mongo import Database, Document, MongoClient
from git44_common.pagination import after_cursor, split_page
from git44_common.webhook_endpoints import EndpointDirectory
from git44_jobs.credits import crud as credits_crud
from git44_jobs.credits import service as credits
from git44_jobs.exceptions import TransitionRefused
from git44_jobs.removals import crud


class JobPublisher(Protocol):
    """What a transition needs of the outbox (git44_jobs.outbox.publish.Outbox)."""

    async def publish_queued(self, job: Document, *, previous: str | None) -> Document: ...

    async def announce(self, job: Document, *, previous: str | None) -> None: ...

    async def request_webhook(self, job: Document) -> None: ...


async def own_job(db: Database, user_id: str, job_id: str) -> Document:
    """One of `user_id`'s jobs, or 404 (another user's job is as unknown as a missing one)."""
    job = await crud.get_job(db, job_id[:64], user_id=user_id)
    if job is None:
        raise NotFound("No such job.")
    return job


async def get_any_job(db: Database, job_id: str) -> Document:
    """Any user's job (an admin's view), or 404."""
    job = await crud.get_job(db, job_id[:64])
    if job is None:
        raise NotFound("No such job.")
    return job


async def list_jobs(
    db: Database, query: Document, *, cursor: str | None, limit: int
) -> tuple[list[Document], str | None]:
    """A page of the jobs matching `query`, newest first, and the next page's cursor."""
    docs = await crud.find_jobs(db, after_cursor(query, cursor), limit=limit + 1)
    return split_page(docs, limit)


async def list_user_jobs(
    db: Database, user_id: str, *, status: str | None, cursor: str | None, limit: int
) -> tuple[list[Document], str | None]:
    query: Document = {"user_id": user_id}
    if status is not None:
        query["status"] = str(status)
    return await list_jobs(db, query, cursor=cursor, limit=limit)


async def retry_job(
    *,
    mongo: MongoClient,
    db: Database,
    quotas: credits.Quotas,
    outbox: JobPublisher,
    job_id: str,
    user_id: str | None,
    charge: bool,
    now: datetime,
    claim_seconds: float,
) -> Document:
    """A failed job queued again (a fresh run); `charge` takes a credit from its owner."""
    job = await crud.get_job(db, job_id, user_id=user_id)
    if job is None:
        raise NotFound("No such job.")
    if charge:
        await quotas.ensure(db, job["user_id"], now=now)

    async def requeue(session: AsyncClientSession) -> None:
        if charge and await credits_crud.charge_credit(
            db, job["user_id"], now=now, session=session
        ) is None:  # fmt: skip
            raise TransitionRefused("quota")
        query = {"_id": job_id, **REQUEUE_FAILED.query()}
        claim_until = now + timedelta(seconds=claim_seconds)
        update = requeue_update(now=now, charge=charge, claim_until=claim_until)
        if await crud.transition_job(db, query, update, session=session) is None:
            raise TransitionRefused("state")

    try:
        async with mongo.start_session() as session:
            await session.with_transaction(requeue)
    except TransitionRefused as abort:
        if abort.reason == "quota":
            raise await credits.refusal(db, job["user_id"], now=now) from None
        raise Conflict("Only failed jobs can be retried.") from None
    current = await crud.get_job(db, job_id) or job
    return await outbox.publish_queued(current, previous=str(JobStatus.FAILED))


async def cancel_job(
    *,
    mongo: MongoClient,
    db: Database,
    outbox: JobPublisher,
    job_id: str,
    user_id: str,
    now: datetime,
    endpoints: EndpointDirectory,
) -> Document:
    """A queued job cancelled, its credit refunded once; its `removal.cancelled`
    webhook asked for if an endpoint of the user subscribes to it."""
    wanted = await endpoints.wants(user_id, JobStatus.CANCELLED)
    event_id = new_event_id() if wanted else None

    async def cancel(session: AsyncClientSession) -> Document | None:
        return await crud.cancel_with_refund(
            db, job_id, user_id=user_id, now=now, session=session, webhook_event_id=event_id
        )

    async with mongo.start_session() as session:
        job = await session.with_transaction(cancel)
    if job is None:
        if await crud.get_job(db, job_id, user_id=user_id) is None:
            raise NotFound("No such job.")
        raise Conflict("Only queued jobs can be cancelled.")
    await outbox.announce(job, previous=str(JobStatus.QUEUED))
    await outbox.request_webhook(job)
    return job
