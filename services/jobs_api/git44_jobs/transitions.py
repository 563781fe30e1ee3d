"""The user's and admin's job transitions: retry (failed → queued) and cancel (queued → cancelled).

Both are compare-and-set on the status inside a transaction with their quota change,
so a credit is charged (retry) or refunded (cancel) exactly when the transition
happens. The refund is guarded by the job's `charge` flip reserved → refunded (in the
cancel's own update), the same exactly-once guard the worker uses when a job fails.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from git44_common.contracts import JobStatus
from git44_common.exceptions import Conflict, NotFound
from git44_jobs import crud
from git44_jobs.context import JobsContext
from git44_jobs.documents import cancel_update, requeue_update
from git44_jobs.publishing import publish_job_event, publish_queued_job
from git44_jobs.submission import quota_refusal

Document = dict[str, Any]


class _Abort(Exception):
    """Aborts the transaction: `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def retry_job(
    ctx: JobsContext, job_id: str, *, user_id: str | None, charge: bool
) -> Document:
    """A failed job queued again (a fresh run); `charge` takes a credit from its owner."""
    job = await crud.get_job(ctx.db, job_id, user_id=user_id)
    if job is None:
        raise NotFound("No such job.")
    now = ctx.now()
    if charge:
        settings = ctx.settings
        await crud.ensure_quota(
            ctx.db,
            job["user_id"],
            total=settings.default_total_quota,
            daily_limit=settings.default_daily_limit,
            now=now,
        )

    async def requeue(session: Any) -> None:
        if charge:
            reserved = await crud.reserve_credit(ctx.db, job["user_id"], now=now, session=session)
            if reserved is None:
                raise _Abort("quota")
        query = {"_id": job_id, "status": str(JobStatus.FAILED)}
        claim_until = now + timedelta(seconds=ctx.settings.request_claim_seconds)
        update = requeue_update(now=now, charge=charge, claim_until=claim_until)
        if await crud.transition_job(ctx.db, query, update, session=session) is None:
            raise _Abort("state")

    try:
        await _in_transaction(ctx, requeue)
    except _Abort as abort:
        if abort.reason == "quota":
            raise await quota_refusal(ctx, job["user_id"], now=now) from None
        raise Conflict("Only failed jobs can be retried.") from None
    current = await crud.get_job(ctx.db, job_id) or job
    return await publish_queued_job(ctx, current, previous=str(JobStatus.FAILED))


async def cancel_job(ctx: JobsContext, job_id: str, *, user_id: str) -> Document:
    """A queued job cancelled, its credit refunded once."""
    now = ctx.now()

    async def cancel(session: Any) -> None:
        query = {"_id": job_id, "user_id": user_id, "status": str(JobStatus.QUEUED)}
        before = await crud.transition_job(ctx.db, query, cancel_update(now=now), session=session)
        if before is None:
            raise _Abort("state")
        if before.get("charge") == "reserved":  # the update flipped it to refunded
            await crud.refund_credit(
                ctx.db, user_id, charged_day=before.get("charged_day"), now=now, session=session
            )

    try:
        await _in_transaction(ctx, cancel)
    except _Abort:
        if await crud.get_job(ctx.db, job_id, user_id=user_id) is None:
            raise NotFound("No such job.") from None
        raise Conflict("Only queued jobs can be cancelled.") from None
    job = await crud.get_job(ctx.db, job_id)
    assert job is not None
    await publish_job_event(ctx, job, previous=str(JobStatus.QUEUED))
    return job


async def _in_transaction(ctx: JobsContext, work: Any) -> None:
    async with ctx.mongo.start_session() as session:
        await session.with_transaction(work)
