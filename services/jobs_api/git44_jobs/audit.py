"""The `audit_log` of admin actions: who did what to whom, before and after, when."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from git44_common.mongo import Database
from git44_jobs.core.db import AUDIT_LOG
from git44_jobs.documents import new_job_id

log = logging.getLogger(__name__)


async def record_admin_action(
    db: Database,
    *,
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime,
) -> None:
    await db[AUDIT_LOG].insert_one(
        {
            "_id": new_job_id(),
            "actor": actor,
            "action": action,
            "target": target,
            "before": before,
            "after": after,
            "at": at,
        }
    )
    log.info("admin action %s", action, extra={"actor": actor, "target": target})
