"""Password reset by mail: "forgot my password", an admin's reset mail, the reset.

Asking for a reset must not tell whether an address has an account: the route counts
the request (per address, known or not, and per IP), answers 202 with one body, and
only then, after the response has gone out, looks the address up and mails a link
(`mail_reset_link`, a background task). The response time therefore holds no
database lookup or token write that only a known address would cost.

The reset itself uses a single-use token (30 minutes; account_tokens.py), sets the
password the way a password change does (`accounts.replace_password`: every session
ends, a "password changed" mail goes out), and proves the user reads the mailbox, so
their address counts as verified from then on.
"""

from __future__ import annotations

import logging
from datetime import datetime

from git44_auth.account_tokens import (
    Purpose,
    invalid_token,
    issue_token,
    redeem_token,
    retire_tokens,
)
from git44_auth.accounts import check_new_password, replace_password
from git44_auth.context import AuthContext
from git44_auth.crud import users
from git44_auth.mail.messages import MailKind
from git44_auth.models import PasswordResetRequest
from git44_common.mongo import Document

log = logging.getLogger(__name__)
LINK_PATH = "/reset-password"
FORGOT_ANSWER = "If an account uses this address, a link to reset its password is on its way."


async def send_reset_mail(ctx: AuthContext, user: Document, *, now: datetime) -> None:
    """Mail the user a new reset link."""
    token = await issue_token(ctx.db, user_id=user["_id"], purpose=Purpose.RESET_PASSWORD, now=now)
    link = ctx.mail.link(LINK_PATH, token=token)
    await ctx.mail.send(MailKind.RESET_PASSWORD, to=user["email"], link=link)


async def mail_reset_link(ctx: AuthContext, *, email: str, now: datetime) -> None:
    """The reset mail for the account of `email`, if there is one that is not disabled.

    Runs after the 202 went out: nobody waits for it, so a failure is logged here."""
    try:
        user = await users.get_user_by_email(ctx.db, email.strip().lower())
        if user is None or user.get("disabled"):
            return
        await send_reset_mail(ctx, user, now=now)
        log.info("password reset mailed", extra={"user_id": user["_id"]})
    except Exception:
        log.exception("password reset mail not sent")


async def reset_password(ctx: AuthContext, request: PasswordResetRequest, *, now: datetime) -> None:
    """Set the password of the reset token's user; 422 for a weak password (the token
    still works) or an unknown, used or expired token."""
    check_new_password(
        request.password, min_length=ctx.settings.password_min_length, field="password"
    )
    user_id = await redeem_token(ctx.db, request.token, purpose=Purpose.RESET_PASSWORD, now=now)
    user = None if user_id is None else await users.get_user(ctx.db, user_id)
    if user is None or user.get("disabled"):
        raise invalid_token("This reset link is invalid, used or expired.")
    await replace_password(
        ctx, user, request.password, now=now, revoke_api_keys=request.revoke_api_keys
    )
    await retire_tokens(ctx.db, user_id=user["_id"], purpose=Purpose.RESET_PASSWORD, now=now)
    await users.mark_email_verified(ctx.db, user_id=user["_id"], now=now)
    log.info("password reset", extra={"user_id": user["_id"]})
