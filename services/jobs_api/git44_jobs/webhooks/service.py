"""Per-user webhook signing secrets (git44_common.webhook_secrets).

jobs-api creates a user's secret lazily (first callback URL, or the first time the user
reads it); the worker reads `webhook_secrets` to sign deliveries.
"""

from __future__ import annotations

from datetime import datetime

from git44_common.mongo import Database, Document
from git44_common.webhook_secrets import new_webhook_secret
from git44_jobs.webhooks import crud


async def webhook_secret_of(db: Database, user_id: str, *, now: datetime) -> Document:
    """The user's signing secret document, created on first use."""
    await crud.ensure_secret(db, user_id, secret=new_webhook_secret(), now=now)
    document = await crud.get_secret(db, user_id)
    assert document is not None  # secrets are never deleted
    return document
