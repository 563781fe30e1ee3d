"""Turning service outcomes into responses, shared by the web and Dev API routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from starlette.responses import JSONResponse

from git44_common.exceptions import NotFound
from git44_common.openapi import problems
from git44_common.security import Principal
from git44_jobs import crud, metrics
from git44_jobs.context import JobsContext
from git44_jobs.idempotency import (
    REPLAY_HEADER,
    IdempotentRequest,
    Outcome,
    fingerprint,
    run_idempotently,
)
from git44_jobs.listing import after_cursor, split_page
from git44_jobs.submission import Submission, submit_removal

Document = dict[str, Any]
Render = Callable[[Document], BaseModel]
PageSize = Annotated[int, Query(ge=1, le=100, description="Items per page")]

# A route's own problem statuses (the generic ones — 400, 401, 403, 404, 422, 503 — are
# added to every operation by git44_common.openapi).
SUBMIT_PROBLEMS = problems(
    described={
        402: "quota_exhausted",
        409: "idempotency_conflict: the Idempotency-Key was used with another body",
        429: "daily_limit_reached, or rate_limited for an API key (Retry-After)",
    }
)
RETRY_PROBLEMS = problems(
    described={
        402: "quota_exhausted",
        409: "conflict: only failed jobs can be retried",
        429: "daily_limit_reached (Retry-After)",
    }
)
CANCEL_PROBLEMS = problems(described={409: "conflict: only queued jobs can be cancelled"})
API_KEY_PROBLEMS = problems(
    described={429: "rate_limited: this API key's request budget (Retry-After)"}
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


async def submit_idempotently(
    ctx: JobsContext,
    submission: Submission,
    request: IdempotentRequest | None,
    render: Render,
) -> Outcome:
    async def create(job_id: str) -> Any:
        job = await submit_removal(ctx, submission, job_id=job_id)
        return jsonable_encoder(render(job), by_alias=True)

    outcome = await run_idempotently(ctx, request, create)
    if outcome.replayed:
        metrics.SUBMISSIONS.labels("replayed").inc()
    return outcome


def outcome_response(outcome: Outcome) -> JSONResponse:
    headers = {REPLAY_HEADER: "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


async def user_quota(ctx: JobsContext, user_id: str) -> Document:
    settings = ctx.settings
    return await crud.quota_of(
        ctx.db,
        user_id,
        total=settings.default_total_quota,
        daily_limit=settings.default_daily_limit,
        now=ctx.now(),
    )


async def own_job(ctx: JobsContext, user_id: str, job_id: str) -> Document:
    """One of `user_id`'s jobs, or 404 (another user's job is as unknown as a missing one)."""
    job = await crud.get_job(ctx.db, job_id[:64], user_id=user_id)
    if job is None:
        raise NotFound("No such job.")
    return job


async def list_user_jobs(
    ctx: JobsContext, user_id: str, *, status: str | None, cursor: str | None, limit: int
) -> tuple[list[Document], str | None]:
    query: Document = {"user_id": user_id}
    if status is not None:
        query["status"] = str(status)
    docs = await crud.find_jobs(ctx.db, after_cursor(query, cursor), limit=limit + 1)
    return split_page(docs, limit)
