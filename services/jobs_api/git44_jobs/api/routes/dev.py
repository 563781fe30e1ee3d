"""The Dev API for integrations (`/api/v1`), authenticated by `X-API-Key`, rate limited per key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from starlette.responses import JSONResponse, Response

from git44_common.exceptions import ProblemError, ValidationFailed
from git44_common.jobs import DevJobPublic, DevJobsPublic
from git44_common.openapi import prefixed_operation_ids
from git44_common.problems import problem_document
from git44_common.security import Principal
from git44_jobs.api.deps import ApiKeyUser, Ctx, IdempotencyKey
from git44_jobs.api.etag import NOT_MODIFIED, IfNoneMatch, etag_response
from git44_jobs.api.responses import (
    CANCEL_PROBLEMS,
    RATE_LIMITED,
    RETRY_PROBLEMS,
    SUBMIT_PROBLEMS,
    JobListQuery,
    cancel_own_job,
    idempotent_request,
    outcome_response,
    require_verified_email,
    retry_own_job,
    submit_idempotently,
    user_jobs_page,
    user_quota,
)
from git44_jobs.context import JobsContext
from git44_jobs.credits.models import QuotaPublic
from git44_jobs.removals import service as removals
from git44_jobs.removals.models import (
    BatchItemResult,
    BatchResult,
    DevBatchCreate,
    DevRemovalCreate,
)
from git44_jobs.submissions.service import Submission
from git44_jobs.webhooks.models import WebhookSecretPublic
from git44_jobs.webhooks.service import webhook_secret_of

router = APIRouter(
    prefix="/api/v1",
    tags=["dev-api"],
    responses=RATE_LIMITED,
    generate_unique_id_function=prefixed_operation_ids("dev"),
)
DEV_JOBS_PATH = "/api/v1/removals"


async def _submit_one(
    request: Request,
    ctx: JobsContext,
    user: Principal,
    body: DevRemovalCreate,
    key: str | None,
    *,
    suffix: str = "",
) -> tuple[int, Any]:
    link, callback = ctx.links.check(body.input_link, body.callback_url)
    if callback is not None:
        await webhook_secret_of(ctx.db, user.user_id, keys=ctx.webhook_keys, now=ctx.now())
    submission = Submission(
        user_id=user.user_id, source="api", input_link=link, callback_url=callback,
        api_key_id=user.api_key_id, idempotency_key=key,
    )  # fmt: skip
    idempotent = idempotent_request(request, user, key, body, suffix=suffix)
    outcome = await submit_idempotently(request, ctx, submission, idempotent, DevJobPublic.from_doc)
    return outcome.status, outcome


@router.post("/removals", status_code=202, response_model=DevJobPublic, responses=SUBMIT_PROBLEMS)
async def create_removal(
    request: Request, body: DevRemovalCreate, user: ApiKeyUser, ctx: Ctx, key: IdempotencyKey
) -> JSONResponse:
    """Submit a Sora link; charges one credit. `callbackUrl` (public https) gets webhooks."""
    _, outcome = await _submit_one(request, ctx, user, body, key)
    return outcome_response(outcome, location=DEV_JOBS_PATH)


@router.post(
    "/removals/batch",
    response_model=BatchResult,
    responses=SUBMIT_PROBLEMS,
    operation_id="devCreateRemovalBatch",
)
async def create_removals(
    request: Request, body: DevBatchCreate, user: ApiKeyUser, ctx: Ctx, key: IdempotencyKey
) -> BatchResult:
    """Submit up to 20 links; each is charged and queued on its own (per-item results)."""
    if len(body.items) > ctx.settings.batch_max_items:
        raise ValidationFailed(f"At most {ctx.settings.batch_max_items} items per batch.")
    await require_verified_email(request, ctx, user.user_id)  # the batch, not each item
    results: list[BatchItemResult] = []
    for index, item in enumerate(body.items):
        try:
            status, outcome = await _submit_one(request, ctx, user, item, key, suffix=f"#{index}")
        except ProblemError as problem:
            document = problem_document(problem, instance=request.url.path)
            results.append(BatchItemResult(index=index, status=problem.status, problem=document))
            continue
        job = DevJobPublic.model_validate(outcome.body)
        results.append(BatchItemResult(index=index, status=status, job=job))
    return BatchResult(data=results)


@router.get("/removals", response_model=DevJobsPublic, responses=NOT_MODIFIED)
async def list_removals(
    user: ApiKeyUser, ctx: Ctx, query: JobListQuery, if_none_match: IfNoneMatch = None
) -> Response:
    """The key owner's jobs, newest first, cursor-paginated."""
    page = await user_jobs_page(ctx, user.user_id, query, page=DevJobsPublic, item=DevJobPublic)
    return etag_response(page, if_none_match)


@router.get("/removals/{job_id}", response_model=DevJobPublic, responses=NOT_MODIFIED)
async def read_removal(
    job_id: str, user: ApiKeyUser, ctx: Ctx, if_none_match: IfNoneMatch = None
) -> Response:
    """One of the key owner's jobs (ETag; If-None-Match → 304)."""
    job = DevJobPublic.from_doc(await removals.own_job(ctx.db, user.user_id, job_id))
    return etag_response(job, if_none_match)


@router.post(
    "/removals/{job_id}/retry",
    status_code=202,
    response_model=DevJobPublic,
    responses=RETRY_PROBLEMS,
)
async def retry_removal(
    request: Request, response: Response, job_id: str, user: ApiKeyUser, ctx: Ctx
) -> DevJobPublic:
    """Queue a failed job again; charges one credit (409 if the job has not failed)."""
    job = await retry_own_job(request, ctx, job_id, user.user_id)
    response.headers["Location"] = f"{DEV_JOBS_PATH}/{job['_id']}"
    return DevJobPublic.from_doc(job)


@router.post("/removals/{job_id}/cancel", response_model=DevJobPublic, responses=CANCEL_PROBLEMS)
async def cancel_removal(job_id: str, user: ApiKeyUser, ctx: Ctx) -> DevJobPublic:
    """Cancel a queued job; its credit is refunded (409 once it has started)."""
    return DevJobPublic.from_doc(await cancel_own_job(ctx, job_id, user.user_id))


@router.get("/quota", response_model=QuotaPublic, responses=NOT_MODIFIED)
async def read_quota(user: ApiKeyUser, ctx: Ctx, if_none_match: IfNoneMatch = None) -> Response:
    """The key owner's credits and today's usage (ETag; If-None-Match → 304)."""
    return etag_response(await user_quota(ctx, user.user_id), if_none_match)


@router.get("/webhook-secret", response_model=WebhookSecretPublic)
async def read_webhook_secret(user: ApiKeyUser, ctx: Ctx) -> JSONResponse:
    """The secret that signs this account's webhooks (Standard Webhooks, `whsec_…`)."""
    secret = await webhook_secret_of(ctx.db, user.user_id, keys=ctx.webhook_keys, now=ctx.now())
    return JSONResponse(
        jsonable_encoder(secret, by_alias=True), headers={"Cache-Control": "no-store"}
    )
