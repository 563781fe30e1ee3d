"""What the web and Dev API routes share: page sizes, idempotent submission, problem lists."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from starlette.responses import JSONResponse

from git44_common.contracts import JobStatus
from git44_common.exceptions import EmailUnverified, ValidationFailed
from git44_common.jobs import JobPublic
from git44_common.mongo import Document
from git44_common.openapi import problems
from git44_common.quota import view_quota
from git44_common.ratelimit import note_usage
from git44_common.schemas import Page
from git44_common.security import Authenticator, Principal
from git44_jobs import metrics
from git44_jobs.accounts import service as accounts
from git44_jobs.accounts.models import JobsExportPublic
from git44_jobs.api.deps import Ctx
from git44_jobs.context import JobsContext
from git44_jobs.credits.models import QuotaPublic
from git44_jobs.idempotency.service import (
    REPLAY_HEADER,
    IdempotentRequest,
    Outcome,
    fingerprint,
    run_idempotently,
)
from git44_jobs.removals import service as removals
from git44_jobs.submissions.service import Submission
from git44_jobs.webhooks.endpoint_models import WebhookEndpointPublic
from git44_jobs.webhooks.models import WebhookDeliveryPublic

Render = Callable[[Document], BaseModel]
PageT = TypeVar("PageT", bound=Page[Any])

# A route's own problem statuses (the generic ones — 400, 401, 403, 404, 422, 503 — are
# added to every operation by git44_common.openapi).
UNVERIFIED = "forbidden, or email_unverified: verify the email address first"
SUBMIT_PROBLEMS = problems(
    described={
        402: "quota_exhausted",
        403: UNVERIFIED,
        409: "idempotency_conflict: the Idempotency-Key was used with another body",
        429: "daily_limit_reached, or rate_limited for an API key (Retry-After)",
    }
)
RETRY_PROBLEMS = problems(
    described={
        402: "quota_exhausted",
        403: UNVERIFIED,
        409: "conflict: only failed jobs can be retried",
        429: "daily_limit_reached (Retry-After)",
    }
)
# every route of an authenticated caller (router-level responses)
RATE_LIMITED = problems(
    described={429: "rate_limited: a request limit of the caller (RateLimit headers, Retry-After)"}
)
CANCEL_PROBLEMS = problems(described={409: "conflict: only queued jobs can be cancelled"})


async def page_size(
    ctx: Ctx,
    limit: Annotated[
        int | None,
        Query(ge=1, description="Items per page (default and maximum: JOBS_PAGE_SIZE_*)"),
    ] = None,
) -> int:
    """`limit`, or JOBS_PAGE_SIZE_DEFAULT; more than JOBS_PAGE_SIZE_MAX is a 422.

    The OpenAPI document shows both bounds (`main.document_page_size`)."""
    settings = ctx.settings
    if limit is None:
        return min(settings.page_size_default, settings.page_size_max)
    if limit > settings.page_size_max:
        error = {
            "loc": ["query", "limit"],
            "msg": f"must be at most {settings.page_size_max}",
            "type": "less_than_equal",
        }
        raise ValidationFailed(f"limit must be at most {settings.page_size_max}.", errors=[error])
    return limit


PageSize = Annotated[int, Depends(page_size)]


@dataclass(frozen=True)
class JobList:
    """What a list of jobs asks for: a page size, a status, the cursor of the page."""

    limit: int
    status: JobStatus | None
    cursor: str | None


async def job_list(
    limit: PageSize,
    status: Annotated[JobStatus | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> JobList:
    return JobList(limit=limit, status=status, cursor=cursor)


JobListQuery = Annotated[JobList, Depends(job_list)]


async def user_jobs_page(
    ctx: JobsContext, user_id: str, query: JobList, *, page: type[PageT], item: type[JobPublic]
) -> PageT:
    """A `page` of the user's jobs, each in the `item` shape."""
    docs, next_cursor = await removals.list_user_jobs(
        ctx.db, user_id, status=query.status, cursor=query.cursor, limit=query.limit
    )
    return page(data=[item.from_doc(d) for d in docs], next_cursor=next_cursor)


async def retry_failed(
    ctx: JobsContext, job_id: str, *, user_id: str | None, charge: bool
) -> Document:
    """A failed job queued again: a user's retry (`charge`) or an admin's (free)."""
    return await removals.retry_job(
        mongo=ctx.mongo, db=ctx.db, quotas=ctx.quotas, outbox=ctx.outbox, job_id=job_id[:64],
        user_id=user_id, charge=charge, now=ctx.now(),
        claim_seconds=ctx.settings.request_claim_seconds,
    )  # fmt: skip


async def user_quota(ctx: JobsContext, user_id: str) -> QuotaPublic:
    """The user's credits and today's usage (the quota is created on first use)."""
    now = ctx.now()
    document = await ctx.quotas.quota_of(ctx.db, user_id, now=now)
    return QuotaPublic.from_view(view_quota(document, now))


async def export_user_data(ctx: JobsContext, user_id: str) -> JobsExportPublic:
    """The user's quota, all their jobs and webhook deliveries, for the account export."""
    quota = await user_quota(ctx, user_id)
    jobs = await accounts.list_jobs_for_export(ctx.db, user_id)
    deliveries = await accounts.list_deliveries_for_export(ctx.db, user_id)
    endpoints = await ctx.webhook_endpoints.list_of(user_id)
    return JobsExportPublic(
        quota=quota,
        jobs=[JobPublic.from_doc(job) for job in jobs],
        webhook_deliveries=[WebhookDeliveryPublic.from_doc(item) for item in deliveries],
        webhook_endpoints=[WebhookEndpointPublic.from_doc(item) for item in endpoints],
    )


def idempotent_request(
    request: Request, user: Principal, key: str | None, body: BaseModel, *, suffix: str = ""
) -> IdempotentRequest | None:
    if key is None:
        return None
    payload = body.model_dump(by_alias=True, mode="json")
    return IdempotentRequest(
        user_id=user.user_id,
        key=key + suffix,
        fingerprint=fingerprint(request.method, request.url.path + suffix, payload),
    )


async def require_verified_email(request: Request, ctx: JobsContext, user_id: str) -> None:
    """EmailUnverified (403 `email_unverified`) for a user who may not submit yet
    (AUTH_REQUIRE_EMAIL_VERIFICATION); reads stay open to them."""
    if not ctx.settings.email_verification_required:
        return
    authenticator: Authenticator = request.app.state.authenticator
    if not await authenticator.is_email_verified(user_id):
        raise EmailUnverified("Verify your email address before submitting removals.")


async def count_submissions(request: Request, ctx: JobsContext, user_id: str) -> None:
    """One submission of a user who may submit, before any quota check (403 unverified,
    429 past a limit)."""
    await require_verified_email(request, ctx, user_id)
    note_usage(request.state, await ctx.limiter.count_submissions(user_id))


async def submit_idempotently(
    request: Request,
    ctx: JobsContext,
    submission: Submission,
    idempotent: IdempotentRequest | None,
    render: Render,
) -> Outcome:
    """Count the submission, then submit once per idempotency key; the response body
    rendered by `render`."""
    await count_submissions(request, ctx, submission.user_id)

    async def create(job_id: str) -> Any:
        job = await ctx.submitter.submit(submission, job_id=job_id)
        return jsonable_encoder(render(job), by_alias=True)

    outcome = await run_idempotently(ctx.db, idempotent, create, clock=ctx.clock)
    if outcome.replayed:
        metrics.SUBMISSIONS.labels("replayed").inc()
    return outcome


def outcome_response(outcome: Outcome, *, location: str) -> JSONResponse:
    """The submission's response (a replay marked); a 202 carries `Location`: the job's
    URL, `location` followed by its id."""
    headers = {REPLAY_HEADER: "true"} if outcome.replayed else {}
    if outcome.status == 202 and isinstance(outcome.body, dict) and "id" in outcome.body:
        headers["Location"] = f"{location}/{outcome.body['id']}"
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


async def retry_own_job(request: Request, ctx: JobsContext, job_id: str, user_id: str) -> Document:
    """The caller's failed job queued again, one credit charged (a submission: counted
    and limited like one)."""
    await count_submissions(request, ctx, user_id)
    return await retry_failed(ctx, job_id, user_id=user_id, charge=True)


async def cancel_own_job(ctx: JobsContext, job_id: str, user_id: str) -> Document:
    """The caller's queued job cancelled, its credit refunded."""
    return await removals.cancel_job(
        mongo=ctx.mongo, db=ctx.db, outbox=ctx.outbox, job_id=job_id[:64],
        user_id=user_id, now=ctx.now(), endpoints=ctx.endpoints,
    )  # fmt: skip
