"""The first admin: seeded from settings at start-up, or created with the CLI.

Idempotent and safe with replicas: the unique email index lets exactly one insert win;
an existing account is promoted to admin and its password is left alone.
"""

from __future__ import annotations

import logging

from git44_auth.accounts import create_user
from git44_auth.context import AuthContext
from git44_auth.core.config import AuthSettings
from git44_auth.crud import users
from git44_common.clock import utc_now
from git44_common.exceptions import EmailTaken

log = logging.getLogger(__name__)


async def ensure_admin(ctx: AuthContext, *, email: str, password: str) -> str:
    """Make `email` an admin account; 'created', 'promoted' or 'unchanged'."""
    email = email.strip().lower()
    now = utc_now()
    try:
        await create_user(ctx, email=email, password=password, role="admin", now=now)
    except EmailTaken:
        existing = await users.get_user_by_email(ctx.db, email)
        if existing is None or existing.get("role") == "admin":
            return "unchanged"
        await users.update_user(ctx.db, user_id=existing["_id"], changes={"role": "admin"}, now=now)
        return "promoted"
    return "created"


async def seed_bootstrap_admin(ctx: AuthContext, settings: AuthSettings) -> None:
    """Create the admin named in settings, if any (`AUTH_BOOTSTRAP_ADMIN_*`)."""
    if not settings.bootstrap_admin_email or settings.bootstrap_admin_password is None:
        return
    outcome = await ensure_admin(
        ctx,
        email=settings.bootstrap_admin_email,
        password=settings.bootstrap_admin_password.get_secret_value(),
    )
    log.info("bootstrap admin %s", outcome, extra={"email": settings.bootstrap_admin_email})
