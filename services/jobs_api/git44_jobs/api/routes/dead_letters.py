"""Admin routes: the dead letters of the removal queue — list, replay, purge (audited).

Every route first takes over what waits in `git44.removal.dead` (git44_jobs.dead_letters).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from git44_common.contracts import JobStatus
from git44_common.openapi import prefixed_operation_ids, problems
from git44_jobs.api.deps import AdminUser, Ctx, require_admin
from git44_jobs.api.responses import RATE_LIMITED, PageSize, retry_failed
from git44_jobs.context import JobsContext
from git44_jobs.dead_letters import service as dead_letters
from git44_jobs.dead_letters.models import (
    DeadLetterPublic,
    DeadLetterReplayPublic,
    DeadLettersPublic,
    DeadLettersPurgedPublic,
    DeadLettersReplayPublic,
)
from git44_jobs.dead_letters.service import Outcome, Replayer

router = APIRouter(
    prefix="/api/admin/dead-letters",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=RATE_LIMITED,
    generate_unique_id_function=prefixed_operation_ids("admin"),
)

Cursor = Annotated[str | None, Query(max_length=1024)]
NOT_REPLAYABLE = "conflict: the letter's job no longer exists, or it is not a removal request"


async def take_over_dead_letters(request: Request, ctx: Ctx) -> None:
    """What waits in the dead queue, moved into the store first."""
    connection = request.app.state.runtime.amqp
    async with dead_letters.dead_queue(connection, ctx.topology.removal_dead_queue) as queue:
        await dead_letters.take_over(queue, ctx.db, clock=ctx.clock)


TakenOver = Depends(take_over_dead_letters)


def _replayer(ctx: JobsContext, actor: str) -> Replayer:
    async def requeue_failed(job_id: str) -> dict[str, Any]:
        return await retry_failed(ctx, job_id, user_id=None, charge=False)

    return Replayer(
        db=ctx.db, publish=ctx.outbox.request_removal, requeue_failed=requeue_failed,
        actor=actor, clock=ctx.clock,
    )  # fmt: skip


def _replay_public(outcome: Outcome) -> DeadLetterReplayPublic:
    job = outcome.job
    return DeadLetterReplayPublic(
        id=outcome.letter_id,
        job_id=outcome.job_id,
        replayed=job is not None,
        status=JobStatus(job["status"]) if job is not None else None,
        detail=outcome.detail,
    )


@router.get("", response_model=DeadLettersPublic, dependencies=[TakenOver])
async def list_dead_letters(
    ctx: Ctx,
    limit: PageSize,
    job_id: Annotated[str | None, Query(alias="jobId", max_length=64)] = None,
    cursor: Cursor = None,
) -> DeadLettersPublic:
    """The removal queue's dead letters, oldest first (taken over from the dead queue)."""
    page, next_cursor = await dead_letters.list_letters(
        ctx.db, job_id=job_id, cursor=cursor, limit=limit
    )
    return DeadLettersPublic(
        data=[DeadLetterPublic.from_doc(doc) for doc in page], next_cursor=next_cursor
    )


@router.post(
    "/replay",
    response_model=DeadLettersReplayPublic,
    dependencies=[TakenOver],
    responses=problems(described={503: "service_unavailable: the broker did not take a job"}),
)
async def replay_dead_letters(
    admin: AdminUser, ctx: Ctx, limit: PageSize, cursor: Cursor = None
) -> DeadLettersReplayPublic:
    """Replay a page of dead letters, oldest first (audited): each job back to the worker,
    a failed one queued again free of charge; letters that cannot be replayed are kept."""
    outcomes, next_cursor = await _replayer(ctx, admin.user_id).replay_page(
        cursor=cursor, limit=limit
    )
    return DeadLettersReplayPublic(
        data=[_replay_public(outcome) for outcome in outcomes], next_cursor=next_cursor
    )


@router.post(
    "/{letter_id}/replay",
    response_model=DeadLetterReplayPublic,
    responses=problems(described={409: NOT_REPLAYABLE}),
)
async def replay_dead_letter(letter_id: str, admin: AdminUser, ctx: Ctx) -> DeadLetterReplayPublic:
    """Replay one dead letter (audited): its job back to the worker, a failed one queued
    again free of charge."""
    outcome = await _replayer(ctx, admin.user_id).replay(letter_id)
    return _replay_public(outcome)


@router.delete("", response_model=DeadLettersPurgedPublic)
async def purge_dead_letters(
    request: Request, admin: AdminUser, ctx: Ctx
) -> DeadLettersPurgedPublic:
    """Forget every dead letter of the removal queue, stored or still queued (audited)."""
    connection = request.app.state.runtime.amqp
    async with dead_letters.dead_queue(connection, ctx.topology.removal_dead_queue) as queue:
        purged = await dead_letters.purge_all(queue, ctx.db, actor=admin.user_id, clock=ctx.clock)
    return DeadLettersPurgedPublic(purged=purged)


@router.delete("/{letter_id}", response_model=DeadLettersPurgedPublic)
async def purge_dead_letter(letter_id: str, admin: AdminUser, ctx: Ctx) -> DeadLettersPurgedPublic:
    """Forget one dead letter for good (audited)."""
    await dead_letters.purge_letter(ctx.db, letter_id, actor=admin.user_id, clock=ctx.clock)
    return DeadLettersPurgedPublic(purged=1)
