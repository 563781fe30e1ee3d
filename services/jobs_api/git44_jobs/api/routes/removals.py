"""The SPA's job routes (`/api/removal`), authenticated by bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from git44_common.jobs import JobPublic, JobsPublic
from git44_jobs.accounts.models import JobsExportPublic
from git44_jobs.api.deps import Ctx, CurrentUser, IdempotencyKey
from git44_jobs.api.etag import NOT_MODIFIED, IfNoneMatch, etag_response
from git44_jobs.api.responses import (
    CANCEL_PROBLEMS,
    RATE_LIMITED,
    RETRY_PROBLEMS,
    SUBMIT_PROBLEMS,
    JobListQuery,
    cancel_own_job,
    export_user_data,
    idempotent_request,
    outcome_response,
    retry_own_job,
    submit_idempotently,
    user_jobs_page,
    user_quota,
)
from git44_jobs.credits.models import QuotaPublic
from git44_jobs.removals import service as removals
from git44_jobs.removals.models import RemovalCreate
from git44_jobs.submissions.service import Submission

JOBS_PATH = "/api/removal"
router = APIRouter(prefix=JOBS_PATH, tags=["removal"], responses=RATE_LIMITED)


@router.post("", status_code=202, response_model=JobPublic, responses=SUBMIT_PROBLEMS)
async def create_removal(
    request: Request, body: RemovalCreate, user: CurrentUser, ctx: Ctx, key: IdempotencyKey
) -> JSONResponse:
    """Submit a Sora link for watermark removal; charges one credit (Idempotency-Key honoured)."""
    link, _ = ctx.links.check(body.input_link)
    submission = Submission(
        user_id=user.user_id, source="web", input_link=link, idempotency_key=key
    )
    idempotent = idempotent_request(request, user, key, body)
    outcome = await submit_idempotently(request, ctx, submission, idempotent, JobPublic.from_doc)
    return outcome_response(outcome, location=JOBS_PATH)


@router.get("/quota", response_model=QuotaPublic, responses=NOT_MODIFIED)
async def read_quota(user: CurrentUser, ctx: Ctx, if_none_match: IfNoneMatch = None) -> Response:
    """The caller's credits and today's usage (ETag; If-None-Match → 304)."""
    return etag_response(await user_quota(ctx, user.user_id), if_none_match)


@router.get("/user/jobs", response_model=JobsPublic, responses=NOT_MODIFIED)
async def list_removals(
    user: CurrentUser, ctx: Ctx, query: JobListQuery, if_none_match: IfNoneMatch = None
) -> Response:
    """The caller's jobs, newest first; `nextCursor` fetches the next page."""
    page = await user_jobs_page(ctx, user.user_id, query, page=JobsPublic, item=JobPublic)
    return etag_response(page, if_none_match)


@router.get("/export", response_model=JobsExportPublic)
async def export_removals(user: CurrentUser, ctx: Ctx) -> JobsExportPublic:
    """The caller's quota and every job of theirs (auth's account export includes it)."""
    return await export_user_data(ctx, user.user_id)


@router.get("/{job_id}", response_model=JobPublic, responses=NOT_MODIFIED)
async def read_removal(
    job_id: str, user: CurrentUser, ctx: Ctx, if_none_match: IfNoneMatch = None
) -> Response:
    """One of the caller's jobs (ETag; If-None-Match → 304)."""
    job = JobPublic.from_doc(await removals.own_job(ctx.db, user.user_id, job_id))
    return etag_response(job, if_none_match)


@router.post("/{job_id}/retry", status_code=202, response_model=JobPublic, responses=RETRY_PROBLEMS)
async def retry_removal(
    request: Request, response: Response, job_id: str, user: CurrentUser, ctx: Ctx
) -> JobPublic:
    """Queue a failed job again; charges one credit (409 if the job has not failed)."""
    job = await retry_own_job(request, ctx, job_id, user.user_id)
    response.headers["Location"] = f"{JOBS_PATH}/{job['_id']}"
    return JobPublic.from_doc(job)


@router.post("/{job_id}/cancel", response_model=JobPublic, responses=CANCEL_PROBLEMS)
async def cancel_removal(job_id: str, user: CurrentUser, ctx: Ctx) -> JobPublic:
    """Cancel a queued job; its credit is refunded (409 once it has started)."""
    return JobPublic.from_doc(await cancel_own_job(ctx, job_id, user.user_id))
