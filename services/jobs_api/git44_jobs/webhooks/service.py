"""Per-user webhook signing secrets (Standard Webhooks: `whsec_` + base64 of 32 random bytes).

jobs-api creates a user's secret lazily (first callback URL, or the first time the user
reads it); the worker reads `webhook_secrets` to sign deliveries.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from git44_common.mongo import Database, Document
from git44_jobs.webhooks import crud

SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


async def webhook_secret_of(db: Database, user_id: str, *, now: datetime) -> Document:
    """The user's signing secret document, created on first use."""
    await crud.ensure_secret(db, user_id, secret=new_webhook_secret(), now=now)
    document = await crud.get_secret(db, user_id)
    assert document is not None  # secrets are never deleted
    return document
