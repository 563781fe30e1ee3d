"""Admin changes to a user's quota: one atomic update, recorded in the audit log."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument

from git44_common.audit import record_admin_action
from git44_common.exceptions import NotFound, ValidationFailed
from git44_jobs import crud
from git44_jobs.context import JobsContext
from git44_jobs.core.db import QUOTAS, USERS
from git44_jobs.models import QuotaUpdate

Document = dict[str, Any]
_AUDITED = ("total_quota", "remaining_quota", "daily_limit", "daily_used", "day")


def quota_change(change: QuotaUpdate) -> Document:
    """The update for `change`: `$set` the given values, `$inc` both counters by addCredits."""
    fields = change.model_dump(exclude_none=True)
    if not fields:
        raise ValidationFailed("Give at least one of totalQuota, remainingQuota, dailyLimit, "
                               "addCredits.")  # fmt: skip
    if "add_credits" in fields and ({"total_quota", "remaining_quota"} & fields.keys()):
        raise ValidationFailed("addCredits cannot be combined with totalQuota or remainingQuota.")
    update: Document = {}
    credits = fields.pop("add_credits", None)
    if fields:
        update["$set"] = fields
    if credits is not None:
        update["$inc"] = {"total_quota": credits, "remaining_quota": credits}
    return update


async def change_user_quota(
    ctx: JobsContext, user_id: str, change: QuotaUpdate, *, actor: str
) -> Document:
    """The user's quota after `change` (404 for an unknown user)."""
    if await ctx.db[USERS].find_one({"_id": user_id}, {"_id": 1}) is None:
        raise NotFound("No such user.")
    update = quota_change(change)
    now = ctx.now()
    settings = ctx.settings
    before = await crud.quota_of(
        ctx.db, user_id, total=settings.default_total_quota,
        daily_limit=settings.default_daily_limit, now=now,
    )  # fmt: skip
    update.setdefault("$set", {})["updated_at"] = now
    after = await ctx.db[QUOTAS].find_one_and_update(
        {"_id": user_id}, update, return_document=ReturnDocument.AFTER
    )
    assert after is not None
    await record_admin_action(
        ctx.db,
        service="jobs-api",
        actor=actor,
        action="quota.update",
        target=user_id,
        before={k: before.get(k) for k in _AUDITED},
        after={k: after.get(k) for k in _AUDITED},
        at=now,
    )
    return after
