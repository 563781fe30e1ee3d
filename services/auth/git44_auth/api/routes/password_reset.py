"""Password reset by mail: ask for a link (202 whether or not the address has an
account), then set a new password with its token."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response, status

from git44_auth import recovery
from git44_auth.api.deps import ClientIp, Ctx, NoStore
from git44_auth.models import AcceptedPublic, PasswordForgotRequest, PasswordResetRequest
from git44_common.clock import utc_now
from git44_common.openapi import problems
from git44_common.ratelimit import note_usage

router = APIRouter(prefix="/api/auth/password", tags=["auth"], dependencies=[NoStore])


@router.post(
    "/forgot",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedPublic,
    responses=problems(described={429: "rate_limited: reset requests per email or per IP"}),
)
async def forgot_password(
    request: Request,
    ctx: Ctx,
    body: PasswordForgotRequest,
    client_ip: ClientIp,
    background: BackgroundTasks,
) -> AcceptedPublic:
    """Mail a reset link if the address has an account; the answer is the same either way."""
    now = utc_now()
    limits = await ctx.throttle.count_password_forgot(ip=client_ip, email=body.email, now=now)
    note_usage(request.state, limits)
    # after the response: its timing must not depend on whether the account exists
    background.add_task(recovery.mail_reset_link, ctx, email=body.email, now=now)
    return AcceptedPublic(detail=recovery.FORGOT_ANSWER)


@router.post(
    "/reset",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(
        described={422: "validation_failed: a weak password, or the token is invalid/used/expired"}
    ),
)
async def reset_password(ctx: Ctx, body: PasswordResetRequest) -> Response:
    """Set a new password with a reset link's token; every session of the user ends."""
    await recovery.reset_password(ctx, body, now=utc_now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
