"""Admin management of users: listing with search and cursor pagination, role and
`disabled` changes recorded in `audit_log`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from git44_auth.context import AuthContext
from git44_auth.crud import refresh_tokens, users
from git44_auth.models import UserUpdate
from git44_common.audit import record_admin_action
from git44_common.exceptions import Conflict, NotFound, ValidationFailed
from git44_common.mongo import Document
from git44_common.pagination import decode_cursor, encode_cursor
from git44_common.tokens import Role

logger = logging.getLogger(__name__)
AUDITED_FIELDS = ("role", "disabled")


async def list_users_page(
    ctx: AuthContext,
    *,
    email: str | None,
    role: Role | None,
    disabled: bool | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Document], str | None]:
    """One page of users, newest first, and the cursor of the next page (None at the end)."""
    after = None
    if cursor:
        values = decode_cursor(cursor, fields={"created_at": datetime, "id": str})
        after = (values["created_at"], values["id"])
    page = await users.list_users(
        ctx.db, email_contains=email, role=role, disabled=disabled, after=after, limit=limit + 1
    )
    if len(page) <= limit:
        return page, None
    last = page[limit - 1]
    return page[:limit], encode_cursor({"created_at": last["created_at"], "id": last["_id"]})


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
        await refresh_tokens.revoke_user_tokens(ctx.db, user_id=user_id, now=now)
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
    logger.info(
        "admin updated user",
        extra={"actor": actor_id, "user_id": user_id, "changes": _audited(after)},
    )
    return after


def _audited(user: Document) -> dict[str, Any]:
    return {name: user.get(name) for name in AUDITED_FIELDS}
