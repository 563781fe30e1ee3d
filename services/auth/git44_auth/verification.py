"""Email verification: the link mailed at registration (and again on request), and
what an unverified user may not do while verification is required.

A user is verified when `email_verified` is true or absent (accounts from before
verification existed). With AUTH_REQUIRE_EMAIL_VERIFICATION on, an unverified user
signs in and reads as before, but may not create API keys (here) nor submit removals
(jobs-api, through `Authenticator.is_email_verified`, which never trusts a cached
"unverified": a verification counts at once).
"""

from __future__ import annotations

import logging
from datetime import datetime

from git44_auth.account_tokens import Purpose, invalid_token, issue_token, redeem_token
from git44_auth.context import AuthContext
from git44_auth.crud import users
from git44_auth.mail.messages import MailKind
from git44_common.exceptions import EmailUnverified, TokenInvalid
from git44_common.mongo import Document

log = logging.getLogger(__name__)
LINK_PATH = "/verify-email"


def is_verified(user: Document) -> bool:
    return bool(user.get("email_verified", True))


def ensure_verified(ctx: AuthContext, user: Document) -> None:
    """EmailUnverified (403 `email_unverified`) if the user must verify first."""
    if ctx.settings.email_verification_required and not is_verified(user):
        raise EmailUnverified("Verify your email address first.")


async def send_verification_mail(ctx: AuthContext, user: Document, *, now: datetime) -> None:
    """Mail the user a new verification link (older ones keep working until used)."""
    token = await issue_token(ctx.db, user_id=user["_id"], purpose=Purpose.VERIFY_EMAIL, now=now)
    link = ctx.mail.link(LINK_PATH, token=token)
    await ctx.mail.send(MailKind.VERIFY_EMAIL, to=user["email"], link=link)


async def verify_email(ctx: AuthContext, token: str, *, now: datetime) -> Document:
    """The user of a live verification token, now verified; ValidationFailed (422) for
    an unknown, used or expired token."""
    user_id = await redeem_token(ctx.db, token, purpose=Purpose.VERIFY_EMAIL, now=now)
    if user_id is None or not await users.mark_email_verified(ctx.db, user_id=user_id, now=now):
        raise invalid_token("This verification link is invalid, used or expired.")
    log.info("email verified", extra={"user_id": user_id})
    user = await users.get_user(ctx.db, user_id)
    assert user is not None
    return user


async def resend_verification_mail(ctx: AuthContext, *, user_id: str, now: datetime) -> bool:
    """A new verification mail for an unverified user; False if there was nothing to verify."""
    user = await users.get_user(ctx.db, user_id)
    if user is None:
        raise TokenInvalid("The user no longer exists.")
    if is_verified(user):
        return False
    await send_verification_mail(ctx, user, now=now)
    return True
