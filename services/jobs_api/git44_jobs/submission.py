"""Submitting a removal: reserve a credit and insert the job in one transaction, then publish.

    validate link → (idempotency, see idempotency.py) → ensure quota exists →
    transaction { reserve credit ; insert job queued, published false } → publish

The transaction is shared with the submissions that arrive while another one runs
(group commit, commits.py): each job is still charged if and only if it is inserted.
The job id is chosen before the transaction, so a retried or concurrent duplicate of
an idempotent request collides on `_id`: its transaction aborts (its credit with it)
and it answers with the job that won.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from git44_common.exceptions import (
    DailyLimitReached,
    InvalidLink,
    QuotaExhausted,
    ValidationFailed,
)
from git44_common.links import validate_callback_url, validate_sora_link
from git44_common.mongo import is_duplicate_key_error
from git44_common.quota import refusal_reason, seconds_until_reset
from git44_jobs import crud, metrics
from git44_jobs.context import JobsContext
from git44_jobs.documents import Source, new_job_document
from git44_jobs.publishing import publish_queued_job

Document = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Submission:
    user_id: str
    source: Source
    input_link: str
    callback_url: str | None = None
    api_key_id: str | None = None
    idempotency_key: str | None = None


def check_links(
    ctx: JobsContext, input_link: object, callback_url: object = None
) -> tuple[str, str | None]:
    """The canonical Sora link and the callback URL, or ValidationFailed (422)."""
    settings = ctx.settings
    try:
        link = validate_sora_link(input_link, allowed_hosts=settings.sora_hosts)
    except InvalidLink as exc:
        raise _invalid("inputLink", str(exc)) from None
    if callback_url is None:
        return link, None
    try:
        callback = validate_callback_url(
            callback_url, allow_private=settings.allow_private_callbacks
        )
    except InvalidLink as exc:
        raise _invalid("callbackUrl", str(exc)) from None
    return link, callback


def _invalid(field: str, reason: str) -> ValidationFailed:
    metrics.SUBMISSIONS.labels("invalid").inc()
    error = {"loc": ["body", field], "msg": reason, "type": "invalid_link"}
    return ValidationFailed(reason, errors=[error])


async def submit_removal(ctx: JobsContext, submission: Submission, *, job_id: str) -> Document:
    """The queued job (202), created with `job_id` unless a job with that id exists already."""
    if submission.idempotency_key is not None:  # without one, `job_id` is brand new
        existing = await crud.get_job(ctx.db, job_id, user_id=submission.user_id)
        if existing is not None:
            return existing
    now = ctx.now()
    await _ensure_quota_once(ctx, submission.user_id, now=now)
    job = _new_job(ctx, submission, job_id=job_id, now=now)
    try:
        inserted = await ctx.submissions.submit(job)
    except Exception as exc:
        if not is_duplicate_key_error(exc):
            raise
        inserted = False
    if not inserted:
        return await _existing_or_refusal(ctx, submission.user_id, job_id, now=now)
    metrics.SUBMISSIONS.labels("accepted").inc()
    return await publish_queued_job(ctx, job, previous=None)


# Quota documents are never deleted, so the upsert (a write on the user's hot document)
# runs once per user and process (`ctx.known_quotas`) instead of on every submission.
# Bounded: the set is cleared when it grows this large.
_QUOTA_KNOWN_MAX = 100_000


async def _ensure_quota_once(ctx: JobsContext, user_id: str, *, now: datetime) -> None:
    known = ctx.known_quotas
    if user_id in known:
        return
    settings = ctx.settings
    await crud.ensure_quota(
        ctx.db,
        user_id,
        total=settings.default_total_quota,
        daily_limit=settings.default_daily_limit,
        now=now,
    )
    if len(known) >= _QUOTA_KNOWN_MAX:
        known.clear()
    known.add(user_id)


def _new_job(ctx: JobsContext, submission: Submission, *, job_id: str, now: datetime) -> Document:
    job = new_job_document(
        job_id=job_id,
        user_id=submission.user_id,
        source=submission.source,
        input_link=submission.input_link,
        now=now,
        max_retries=ctx.settings.max_retries,
        max_polls=ctx.settings.max_polls,
        callback_url=submission.callback_url,
        api_key_id=submission.api_key_id,
        idempotency_key=submission.idempotency_key,
    )
    # This request publishes the job itself right after the commit: keep the relay off it
    # meanwhile (released at once if the publish fails), so a normal submission is
    # published once, not also by the relay.
    job["relay_claimed_until"] = now + timedelta(seconds=ctx.settings.request_claim_seconds)
    return job


async def _existing_or_refusal(
    ctx: JobsContext, user_id: str, job_id: str, *, now: datetime
) -> Document:
    existing = await crud.get_job(ctx.db, job_id, user_id=user_id)
    if existing is not None:
        return existing
    refusal = await quota_refusal(ctx, user_id, now=now)
    metrics.SUBMISSIONS.labels(refusal.code).inc()
    raise refusal


async def quota_refusal(
    ctx: JobsContext, user_id: str, *, now: datetime
) -> QuotaExhausted | DailyLimitReached:
    """The error for a refused reservation: 402, or 429 with Retry-After until UTC midnight."""
    quota = await crud.get_quota(ctx.db, user_id)
    reason = refusal_reason(quota, now) if quota else "quota_exhausted"
    metrics.QUOTA_REJECTIONS.labels(reason or "quota_exhausted").inc()
    if reason == "daily_limit_reached":
        return DailyLimitReached(
            "The daily limit of submissions is reached; it resets at midnight UTC.",
            retry_after=seconds_until_reset(now),
        )
    return QuotaExhausted("No credits are left on this account.")
