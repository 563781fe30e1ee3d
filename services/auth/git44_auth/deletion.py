"""Deleting an account, by its user (with their password) or by an admin.

The order is the point:

1. `AccountDeleted` is published and confirmed by the broker (its jobs-api queue is
   durable) *before* anything is deleted: when the broker does not confirm, the
   request fails with 503 and nothing has changed, so the caller can simply try again.
   Publishing after the deletion would need an outbox to survive a crash in between;
   publishing first only risks the reverse (jobs gone, account still there), which
   deleting again finishes.
2. Every session ends (services refuse the tokens within 5 s), then API keys, refresh
   tokens, verification/reset tokens and the user document are deleted at once.
3. The user is told by mail (the address is gone from the store after this call; the
   outbox keeps it only until the mail is sent).

jobs-api deletes the user's jobs, quota and webhook secret when the event arrives
(`git44_jobs.accounts`), the worker their webhook deliveries. Audit entries keep only
the user id.
"""

from __future__ import annotations

import logging
from datetime import datetime

from git44_auth.context import AuthContext
from git44_auth.crud import account_tokens, api_keys, refresh_tokens, users
from git44_auth.mail.messages import MailKind
from git44_auth.sessions import end_all_sessions
from git44_common.amqp import ACCOUNT_DELETED, PublishError
from git44_common.audit import record_admin_action
from git44_common.contracts import ACCOUNT_DELETED_REASON, AccountDeleted
from git44_common.exceptions import (
    Conflict,
    InvalidCredentials,
    NotFound,
    ServiceUnavailable,
    TokenInvalid,
)
from git44_common.mongo import Document

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT_SECONDS = 5.0


async def delete_own_account(
    ctx: AuthContext, *, user_id: str, current_password: str, now: datetime
) -> None:
    """Delete the caller's account once their password is confirmed (401 otherwise)."""
    user = await users.get_user(ctx.db, user_id)
    if user is None:
        raise TokenInvalid("The user no longer exists.")
    if not await ctx.hasher.verify(current_password, user["password_hash"]):
        raise InvalidCredentials("The current password is incorrect.")
    await _delete_account(ctx, user, now=now)


async def delete_account_as_admin(
    ctx: AuthContext, *, actor_id: str, user_id: str, now: datetime
) -> None:
    """Delete a user's account (404 if unknown; an admin cannot delete themselves
    here, so the last admin is not lost by a slip)."""
    if user_id == actor_id:
        raise Conflict("Admins delete their own account with DELETE /api/auth/me.")
    user = await users.get_user(ctx.db, user_id)
    if user is None:
        raise NotFound("No such user.")
    await _delete_account(ctx, user, now=now)
    await record_admin_action(
        ctx.db,
        service="auth",
        actor=actor_id,
        action="user.delete",
        target=user_id,
        before=None,
        after=None,
        at=now,
    )


async def _delete_account(ctx: AuthContext, user: Document, *, now: datetime) -> None:
    user_id = user["_id"]
    await _announce(ctx, AccountDeleted(user_id=user_id, deleted_at=now))
    await end_all_sessions(ctx, user_id, now=now, reason=ACCOUNT_DELETED_REASON)
    keys = await api_keys.delete_user_api_keys(ctx.db, user_id)
    await refresh_tokens.delete_user_tokens(ctx.db, user_id)
    await account_tokens.delete_user_tokens(ctx.db, user_id)
    await users.delete_user(ctx.db, user_id)
    log.info("account deleted", extra={"user_id": user_id, "api_keys_deleted": keys})
    await ctx.mail.send(MailKind.ACCOUNT_DELETED, to=user["email"])


async def _announce(ctx: AuthContext, event: AccountDeleted) -> None:
    """Publish with the broker's confirm, or refuse the deletion (503) untouched."""
    if ctx.publisher is None:
        raise ServiceUnavailable("Accounts cannot be deleted without the message broker.")
    try:
        await ctx.publisher.publish(
            ctx.publisher.topology.jobs_exchange,
            ACCOUNT_DELETED,
            event,
            message_id=event.event_id,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
    except PublishError as exc:
        log.warning("account-deleted event not confirmed", extra={"user_id": event.user_id})
        raise ServiceUnavailable("Try again in a moment.", retry_after=5) from exc
