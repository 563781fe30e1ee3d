"""Email verification: redeem the mailed link's token, ask for another mail."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from git44_auth import verification
from git44_auth.api.deps import Ctx, CurrentUser, NoStore
from git44_auth.models import AcceptedPublic, VerifyEmailRequest
from git44_common.clock import utc_now
from git44_common.openapi import problems
from git44_common.ratelimit import note_usage

router = APIRouter(prefix="/api/auth/verify-email", tags=["auth"], dependencies=[NoStore])


@router.post(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(described={422: "validation_failed: the token is invalid, used or expired"}),
)
async def verify_email(ctx: Ctx, body: VerifyEmailRequest) -> Response:
    """Mark the address of the link's token verified (the token works once, for 24 h)."""
    await verification.verify_email(ctx, body.token, now=utc_now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedPublic,
    responses=problems(described={429: "rate_limited: verification mails per user"}),
)
async def resend_verification(request: Request, ctx: Ctx, principal: CurrentUser) -> AcceptedPublic:
    """Mail a new verification link to the caller (nothing to do once verified)."""
    now = utc_now()
    limits = await ctx.throttle.count_verification_resend(user_id=principal.user_id, now=now)
    note_usage(request.state, limits)
    sent = await verification.resend_verification_mail(ctx, user_id=principal.user_id, now=now)
    detail = "A new verification link is on its way." if sent else "The address is verified."
    return AcceptedPublic(detail=detail)
