"""Admin routes: every job, retries, quotas, stats, the result cache, the audit log (role
`admin` only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from git44_common.audit import record_admin_action
from git44_common.contracts import JobStatus
from git44_common.jobs import AdminJobPublic, AdminJobsPublic
from git44_common.openapi import prefixed_operation_ids, problems
from git44_common.quota import view_quota
from git44_jobs.admin.audit import AuditFilter, list_entries, query_time
from git44_jobs.admin.models import AuditEntriesPublic, AuditEntryPublic, StatsPublic
from git44_jobs.admin.quotas import change_user_quota
from git44_jobs.admin.stats import collect_stats
from git44_jobs.api.deps import AdminUser, Ctx, require_admin
from git44_jobs.api.responses import RATE_LIMITED, PageSize, retry_failed
from git44_jobs.credits.models import QuotaPublic, QuotaUpdate
from git44_jobs.removals import service as removals
from git44_jobs.results import service as results
from git44_jobs.results.models import CachePurgePublic

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=RATE_LIMITED,
    generate_unique_id_function=prefixed_operation_ids("admin"),
)


@router.get("/jobs", response_model=AdminJobsPublic)
async def list_removals(
    ctx: Ctx,
    limit: PageSize,
    status: Annotated[JobStatus | None, Query()] = None,
    user_id: Annotated[str | None, Query(alias="userId", max_length=64)] = None,
    created_from: Annotated[datetime | None, Query(alias="createdFrom")] = None,
    created_to: Annotated[datetime | None, Query(alias="createdTo")] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> AdminJobsPublic:
    """Every user's jobs, newest first; filter by status, user and creation time."""
    query: dict[str, Any] = {}
    if status is not None:
        query["status"] = str(status)
    if user_id is not None:
        query["user_id"] = user_id
    created: dict[str, datetime] = {}
    if (since := query_time("createdFrom", created_from)) is not None:
        created["$gte"] = since
    if (until := query_time("createdTo", created_to)) is not None:
        created["$lt"] = until
    if created:
        query["created_at"] = created
    page, next_cursor = await removals.list_jobs(ctx.db, query, cursor=cursor, limit=limit)
    return AdminJobsPublic(data=[AdminJobPublic.from_doc(d) for d in page], next_cursor=next_cursor)


@router.get("/jobs/{job_id}", response_model=AdminJobPublic)
async def read_removal(job_id: str, ctx: Ctx) -> AdminJobPublic:
    """Any user's job."""
    return AdminJobPublic.from_doc(await removals.get_any_job(ctx.db, job_id))


@router.post(
    "/jobs/{job_id}/retry",
    status_code=202,
    response_model=AdminJobPublic,
    responses=problems(described={409: "conflict: only failed jobs can be retried"}),
)
async def retry_removal(job_id: str, admin: AdminUser, ctx: Ctx) -> AdminJobPublic:
    """Queue a failed job again, free of charge for its owner (audited)."""
    job = await retry_failed(ctx, job_id, user_id=None, charge=False)
    await record_admin_action(
        ctx.db, service="jobs-api", actor=admin.user_id, action="job.retry", target=job["_id"],
        before={"status": "failed"}, after={"status": job["status"]}, at=ctx.now(),
    )  # fmt: skip
    return AdminJobPublic.from_doc(job)


@router.patch("/users/{user_id}/quota", response_model=QuotaPublic)
async def update_user_quota(
    user_id: str, change: QuotaUpdate, admin: AdminUser, ctx: Ctx
) -> QuotaPublic:
    """Set a user's totals and limits, or add credits (atomic; audited)."""
    now = ctx.now()
    after = await change_user_quota(
        ctx.db, ctx.quotas, user_id[:64], change, actor=admin.user_id, now=now
    )
    return QuotaPublic.from_view(view_quota(after, now))


@router.get("/stats", response_model=StatsPublic)
async def read_stats(request: Request, ctx: Ctx) -> StatsPublic:
    """Jobs by status, success rate, processing times, queue depth, dead letters, quota usage."""
    connection = request.app.state.runtime.amqp
    return await collect_stats(ctx.db, connection, ctx.topology, now=ctx.now())


@router.delete(
    "/result-cache",
    response_model=CachePurgePublic,
    responses=problems(described={422: "validation_failed: not a Sora share link"}),
)
async def purge_result_cache(
    link: Annotated[str, Query(max_length=2048)], admin: AdminUser, ctx: Ctx
) -> CachePurgePublic:
    """Forget the cached results of a Sora link (audited): its next job creates a task."""
    canonical, purged = await results.purge(ctx.db, link, sora_hosts=ctx.settings.sora_hosts)
    await record_admin_action(
        ctx.db, service="jobs-api", actor=admin.user_id, action="result_cache.purge",
        target=canonical, before=None, after={"purged": purged}, at=ctx.now(),
    )  # fmt: skip
    return CachePurgePublic(link=canonical, purged=purged)


@router.get("/audit-log", response_model=AuditEntriesPublic)
async def list_audit_entries(
    ctx: Ctx,
    limit: PageSize,
    actor: Annotated[str | None, Query(max_length=64, description="a user id")] = None,
    action: Annotated[str | None, Query(max_length=64, description="e.g. `job.retry`")] = None,
    target: Annotated[str | None, Query(max_length=256)] = None,
    since: Annotated[datetime | None, Query(description="from this time on")] = None,
    until: Annotated[datetime | None, Query(description="before this time")] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> AuditEntriesPublic:
    """Every service's admin actions, newest first; filter by actor, action, target, time."""
    which = AuditFilter(actor=actor, action=action, target=target, since=since, until=until)
    page, next_cursor = await list_entries(ctx.db, which, cursor=cursor, limit=limit)
    return AuditEntriesPublic(
        data=[AuditEntryPublic.from_doc(doc) for doc in page], next_cursor=next_cursor
    )
