"""Admin changes to a user's quota: one atomic update, recorded in the audit log."""

from __future__ import annotations

from datetime import datetime

from git44_common.audit import record_admin_action
from git44_common.exceptions import NotFound, ValidationFailed
from git44_common.mongo import Database, Document
from git44_jobs.admin import crud
from git44_jobs.credits import crud as credits_crud
from git44_jobs.credits.models import QuotaUpdate
from git44_jobs.credits.service import Quotas

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
    db: Database, quotas: Quotas, user_id: str, change: QuotaUpdate, *, actor: str, now: datetime
) -> Document:
    """The user's quota after `change` (404 for an unknown user)."""
    if not await crud.user_exists(db, user_id):
        raise NotFound("No such user.")
    update = quota_change(change)
    before = await quotas.quota_of(db, user_id, now=now)
    update.setdefault("$set", {})["updated_at"] = now
    after = await credits_crud.apply_change(db, user_id, update)
    assert after is not None  # quotas are never deleted
    await record_admin_action(
        db,
        service="jobs-api",
        actor=actor,
        action="quota.update",
        target=user_id,
        before={k: before.get(k) for k in _AUDITED},
        after={k: after.get(k) for k in _AUDITED},
        at=now,
    )
    return after
