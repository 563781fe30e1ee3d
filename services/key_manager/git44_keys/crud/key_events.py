"""Writes to `key_events`: every key state change (admin actions go to `audit_log`,
through git44_common.audit)."""

from __future__ import annotations

import uuid

from git44_common.collections import KEY_EVENTS
from git44_common.contracts import KeyEvent
from git44_common.mongo import Database


async def insert_key_event(db: Database, event: KeyEvent, *, reason: str | None) -> None:
    """Audit one key event: {key_id, event, from, to, at, cooldown_until, reason}."""
    await db[KEY_EVENTS].insert_one(
        {
            "_id": uuid.uuid4().hex,
            "key_id": event.key_id,
            "event": event.event,
            "from": event.from_status.value if event.from_status else None,
            "to": event.to_status.value if event.to_status else None,
            "at": event.occurred_at,
            "cooldown_until": event.cooldown_until,
            "reason": reason,
        }
    )
