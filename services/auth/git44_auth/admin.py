"""Admin management of users: role and `disabled` changes and password reset mails,
recorded in `audit_log`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from git44_auth.context import AuthContext
from git44_auth.crud import users
from git44_auth.models import UserFilter, UserUpdate
from git44_auth.recovery import send_reset_mail
from git44_auth.sessions import end_all_sessions
from git44_common.audit import record_admin_action
from git44_common.exceptions import Conflict, NotFound, ValidationFailed
from git44_common.mongo import Database, Document

log = logging.getLogger(__name__)
AUDITED_FIELDS = ("role", "disabled")


async def update_user_as_admin(
    ctx: AuthContext, *, actor_id: str, user_id: str, update: UserUpdate, now: datetime
) -> Document:
    changes = update.model_dump(exclude_none=True)
    if not changes:
        raise ValidationFailed("Nothing to change: give `role` and/or `disabled`.")
    if user_id == actor_id and (changes.get("disabled") or changes.get("role") == "user"):
        raise Conflict("Admins cannot disable or demote themselves.")
    result = await users.update_user(ctx.db, user_id=user_id, changes=changes, now=now)
    if result is None:
        raise NotFound("No such user.")
    before, after = result
    if after.get("disabled") and not before.get("disabled"):
        await end_all_sessions(ctx, user_id, now=now, reason="user_disabled")
    await record_admin_action(
        ctx.db,
        service="auth",
        actor=actor_id,
        action="user.update",
        target=user_id,
        before=_audited(before),
        after=_audited(after),
        at=now,
    )
    log.info(
        "admin updated user",
        extra={"actor": actor_id, "user_id": user_id, "changes": _audited(after)},
    )
    return after


async def mail_password_reset_as_admin(
    ctx: AuthContext, *, actor_id: str, user_id: str, now: datetime
) -> None:
    """Mail the user a reset link (their password and sessions stay as they are until
    they use it); 404 for an unknown user."""
    user = await get_user(ctx.db, user_id)
    await send_reset_mail(ctx, user, now=now)
    await record_admin_action(
        ctx.db,
        service="auth",
        actor=actor_id,
        action="user.password_reset_mailed",
        target=user_id,
        before=None,
        after=None,
        at=now,
    )
    log.info("admin mailed a password reset", extra={"actor": actor_id, "user_id": user_id})


def _audited(user: Document) -> dict[str, Any]:
    return {name: user.get(name) for name in AUDITED_FIELDS}


async def list_users(
    db: Database, which: UserFilter, *, cursor: str | None, limit: int
) -> tuple[list[Document], str | None]:
    """A page of users, newest first, and the next page's cursor."""
    return await users.list_users(db, which, cursor=cursor, limit=limit)


async def get_user(db: Database, user_id: str) -> Document:
    """One user (404 if unknown)."""
    user = await users.get_user(db, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user
