"""Per-user webhook signing secrets (Standard Webhooks: `whsec_` + base64 of 32 random bytes).

jobs-api creates a user's secret lazily (first callback URL, or the first time the user
reads it); the worker reads `webhook_secrets` to sign deliveries.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any

from git44_common.mongo import Database, is_duplicate_key_error
from git44_jobs.core.db import WEBHOOK_SECRETS

SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


async def webhook_secret_of(db: Database, user_id: str, *, now: datetime) -> dict[str, Any]:
    """The user's signing secret document, created on first use (race-safe)."""
    collection = db[WEBHOOK_SECRETS]
    try:
        await collection.update_one(
            {"_id": user_id},
            {"$setOnInsert": {"secret": new_webhook_secret(), "created_at": now}},
            upsert=True,
        )
    except Exception as exc:
        if not is_duplicate_key_error(exc):
            raise
    document = await collection.find_one({"_id": user_id})
    assert document is not None
    return document
