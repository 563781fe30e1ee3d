"""The `audit_log`: every admin action, from whichever service performed it.

One document per action — `{service, actor, action, target, before, after, at}` —
never a secret (callers pass only the fields the action changed), plus a log line.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from git44_common.collections import AUDIT_LOG
from git44_common.mongo import Database

log = logging.getLogger(__name__)


async def record_admin_action(
    db: Database,
    *,
    service: str,
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime,
) -> None:
    """Write one audit entry and log the action (actor and target ids only)."""
    await db[AUDIT_LOG].insert_one(
        {
            "_id": uuid.uuid4().hex,
            "service": service,
            "actor": actor,
            "action": action,
            "target": target,
            "before": before,
            "after": after,
            "at": at,
        }
    )
    log.info("admin action %s", action, extra={"actor": actor, "target": target})
