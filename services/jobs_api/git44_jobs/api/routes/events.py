"""`GET /api/removal/events`: the caller's live job updates as Server-Sent Events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from git44_common.security import Authenticator, Principal
from git44_jobs.api.deps import Ctx, CurrentUser
from git44_jobs.api.responses import RATE_LIMITED
from git44_jobs.context import JobsContext
from git44_jobs.live.hub import EventHub, JobUpdate, VersionGate
from git44_jobs.live.replay import parse_last_event_id, replay_since
from git44_jobs.live.streams import StreamSlot, seconds_to_next_check, token_expired

router = APIRouter(prefix="/api/removal", tags=["removal"], responses=RATE_LIMITED)

RECONNECT_MS = 3000
SESSION_ENDED = ServerSentEvent(data='{"reason":"session_ended"}', event="closed")


def _message(update: JobUpdate) -> ServerSentEvent:
    return ServerSentEvent(
        data=update.job.model_dump_json(by_alias=True), event="job", id=update.id
    )


async def _stream(
    ctx: JobsContext,
    hub: EventHub,
    caller: Principal,
    slot: StreamSlot,
    last_event_id: str | None,
    authenticator: Authenticator,
) -> AsyncIterator[ServerSentEvent]:
    # Subscribe before replaying, so nothing that happens during the replay is missed;
    # the gate sends each job's states in version order, once: a live update the replay
    # already carried, or one that arrives after a newer state of its job, is dropped.
    user_id = caller.user_id
    subscriber = hub.subscribe(
        user_id, session_id=caller.session_id, issued_at=caller.issued_at or 0
    )
    try:
        yield ServerSentEvent(data="{}", event="ready", retry=RECONNECT_MS)
        gate = VersionGate()
        seen = parse_last_event_id(last_event_id)
        if seen is not None:
            gate.note(*seen)
        settings = ctx.settings
        missed = await replay_since(
            ctx.db, user_id, last_event_id, now=ctx.now(),
            window_seconds=settings.sse_replay_window_seconds, limit=settings.sse_replay_limit,
        )  # fmt: skip
        for update in missed:
            if gate.admit(update):
                yield _message(update)
        while True:
            try:
                wait = seconds_to_next_check(
                    ctx.streams.check_seconds, caller.expires_at, ctx.now()
                )
                live = await asyncio.wait_for(subscriber.next_update(), timeout=wait)
            except TimeoutError:
                ended = await _why_end(ctx, caller, slot, authenticator)
                if ended is not None:
                    yield ended
                    return
                continue
            if live is None:
                if subscriber.session_ended:
                    yield SESSION_ENDED
                return  # overflowed or shutting down: the client reconnects and replays
            if gate.admit(live):
                yield _message(live)
    finally:
        hub.unsubscribe(subscriber)
        await ctx.streams.close(slot)


async def _why_end(
    ctx: JobsContext, caller: Principal, slot: StreamSlot, authenticator: Authenticator
) -> ServerSentEvent | None:
    """The stream's last message if it should end now: its token expired (the client
    reconnects with a fresh one and `Last-Event-ID`), its user was disabled, its session
    ended (logout, password change: within a check's time), or it lost its slot; None
    while it may go on (its slot renewed)."""
    if token_expired(caller.expires_at, ctx.now()):
        return ServerSentEvent(data='{"reason":"token_expired"}', event="expired")
    if not await authenticator.is_enabled(caller.user_id):
        return ServerSentEvent(data='{"reason":"forbidden"}', event="closed")
    if not await authenticator.is_session_live(caller):
        return SESSION_ENDED
    if not await ctx.streams.renew(slot):
        return ServerSentEvent(data='{"reason":"stream_limit"}', event="closed")
    return None


@router.get(
    "/events",
    operation_id="watchRemovals",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE stream"}},
)
async def job_events(
    request: Request,
    user: CurrentUser,
    ctx: Ctx,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    """Live updates of the caller's jobs (`event: job`, id `<job id>:<version>`), heartbeats.

    Reconnect with `Last-Event-ID` to get the jobs that changed meanwhile. The stream
    ends with `event: expired` when the access token expires (reconnect with a fresh
    one); a user holds at most JOBS_SSE_STREAMS_PER_USER streams (429 past it).
    """
    hub: EventHub = request.app.state.event_hub
    authenticator: Authenticator = request.app.state.authenticator
    slot = await ctx.streams.open(user.user_id)  # 429 past the user's open streams
    return EventSourceResponse(
        _stream(ctx, hub, user, slot, last_event_id, authenticator),
        ping=ctx.settings.sse_heartbeat_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        send_timeout=30,
    )
