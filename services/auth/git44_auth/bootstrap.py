"""The first admin: seeded from settings at start-up, or created with the CLI.

Idempotent and safe with replicas: the unique email index lets exactly one insert win.
An existing account is never made an admin on its owner's word alone — anyone can
register any address, so the account may be a squatter's:

- `create-admin` sets the given password on it (and ends what the old password opened:
  every session and API key; the owner is mailed), unless told `--keep-password`, which
  it allows only for an account whose email is verified;
- the bootstrap admin of the settings is promoted only when the account's password is
  the configured one; otherwise it is refused and logged, and the account stays as it is.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from git44_auth.accounts import create_user, replace_password
from git44_auth.context import AuthContext
from git44_auth.core.config import AuthSettings
from git44_auth.crud import users
from git44_common.clock import utc_now
from git44_common.exceptions import EmailTaken
from git44_common.mongo import Document

log = logging.getLogger(__name__)


class ExistingAccount(StrEnum):
    """What to do when the admin's address is already registered."""

    SET_PASSWORD = "set-password"  # create-admin's default: the given password replaces it
    KEEP_PASSWORD = "keep-password"  # create-admin --keep-password: verified accounts only
    PASSWORD_MUST_MATCH = "password-must-match"  # the bootstrap admin of the settings


async def ensure_admin(
    ctx: AuthContext,
    *,
    email: str,
    password: str,
    existing: ExistingAccount = ExistingAccount.SET_PASSWORD,
) -> str:
    """Make `email` an admin account: 'created', 'promoted', 'password set' (an admin
    already, its password replaced), 'unchanged', or 'refused' (an existing account that
    may not be taken over this way)."""
    email = email.strip().lower()
    now = utc_now()
    try:
        # the operator names the address: nothing to verify
        await create_user(
            ctx, email=email, password=password, role="admin", email_verified=True, now=now
        )
    except EmailTaken:
        account = await users.get_user_by_email(ctx.db, email)
        if account is None:
            return "unchanged"
        return await _take_over(ctx, account, password=password, existing=existing)
    return "created"


async def _take_over(
    ctx: AuthContext, account: Document, *, password: str, existing: ExistingAccount
) -> str:
    now = utc_now()
    user_id = account["_id"]
    is_admin = account.get("role") == "admin"
    if existing is ExistingAccount.PASSWORD_MUST_MATCH:
        if not await ctx.hasher.verify(password, account["password_hash"]):
            return "refused"
    elif existing is ExistingAccount.KEEP_PASSWORD:
        if account.get("email_verified") is False:  # absent: from before verification
            return "refused"
    else:  # what the old password opened ends with it, API keys included
        await replace_password(ctx, account, password, now=now, revoke_api_keys=True)
    if not is_admin:
        await users.update_user(ctx.db, user_id=user_id, changes={"role": "admin"}, now=now)
        return "promoted"
    return "password set" if existing is ExistingAccount.SET_PASSWORD else "unchanged"


async def seed_bootstrap_admin(ctx: AuthContext, settings: AuthSettings) -> None:
    """Create the admin named in settings, if any (`AUTH_BOOTSTRAP_ADMIN_*`)."""
    if not settings.bootstrap_admin_email or settings.bootstrap_admin_password is None:
        return
    outcome = await ensure_admin(
        ctx,
        email=settings.bootstrap_admin_email,
        password=settings.bootstrap_admin_password.get_secret_value(),
        existing=ExistingAccount.PASSWORD_MUST_MATCH,
    )
    if outcome == "refused":
        log.error(
            "bootstrap admin refused: the address is registered with another password; "
            "use `python -m git44_auth create-admin` to take the account over",
            extra={"email": settings.bootstrap_admin_email},
        )
        return
    log.info("bootstrap admin %s", outcome, extra={"email": settings.bootstrap_admin_email})
