"""Where providers call back (`/api/providers/{provider}/callback/{token}`, routed by
the gateway); the token in the path is the credential."""

from __future__ import annotations

from fastapi import APIRouter, Request

from git44_common.openapi import problems
from git44_common.schemas import ApiModel
from git44_jobs.api.deps import Ctx
from git44_jobs.providers.service import receive_callback

router = APIRouter(prefix="/api/providers", tags=["providers"])


class CallbackAccepted(ApiModel):
    received: bool = True


@router.post(
    "/{provider}/callback/{token}",
    response_model=CallbackAccepted,
    responses=problems(described={409: "callback_replayed: received already (no effect)"}),
    operation_id="receiveProviderCallback",
)
async def receive_provider_callback(
    provider: str, token: str, request: Request, ctx: Ctx
) -> CallbackAccepted:
    """A provider says how a task ended (its own body shape); stored once, the job
    completes without a poll."""
    await receive_callback(
        ctx.db,
        ctx.outbox.publisher,
        provider=provider,
        token=token,
        body=await request.body(),
        now=ctx.now(),
        allow_http_links=ctx.settings.is_development,
    )
    return CallbackAccepted()
