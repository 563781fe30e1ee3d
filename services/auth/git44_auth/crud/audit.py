"""The `audit_log` collection: one document per admin action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from git44_auth.core.db import AUDIT_LOG
from git44_auth.tokens import new_id
from git44_common.mongo import Database


async def record_admin_action(
    db: Database,
    *,
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any],
    after: dict[str, Any],
    now: datetime,
) -> None:
    await db[AUDIT_LOG].insert_one(
        {
            "_id": new_id(),
            "service": "auth",
            "actor": actor,
            "action": action,
            "target": target,
            "before": before,
            "after": after,
            "at": now,
        }
    )
