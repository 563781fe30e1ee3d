"""Every jobs-api query on `webhook_secrets` (one document per user)."""

from __future__ import annotations

from datetime import datetime

from git44_common.collections import WEBHOOK_SECRETS
from git44_common.mongo import Database, Document, is_duplicate_key_error


async def ensure_secret(db: Database, user_id: str, *, secret: str, now: datetime) -> None:
    """Store `secret` as the user's unless they have one (race-safe upsert)."""
    try:
        await db[WEBHOOK_SECRETS].update_one(
            {"_id": user_id},
            {"$setOnInsert": {"secret": secret, "created_at": now}},
            upsert=True,
        )
    except Exception as exc:
        if not is_duplicate_key_error(exc):
            raise


async def get_secret(db: Database, user_id: str) -> Document | None:
    return await db[WEBHOOK_SECRETS].find_one({"_id": user_id})
