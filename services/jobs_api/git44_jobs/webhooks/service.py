"""Per-user webhook signing secrets (git44_common.webhook_secrets).

jobs-api creates a user's secret lazily (first callback URL, or the first time the user
reads it), stored encrypted under `WEBHOOK_SECRETS_ENCRYPTION_KEY`; the worker reads
`webhook_secrets` to sign deliveries.
"""

from __future__ import annotations

from datetime import datetime

from git44_common.encryption import KeyRing
from git44_common.mongo import Database
from git44_common.webhook_secrets import new_webhook_secret, open_secret, sealed_secret
from git44_jobs.webhooks import crud
from git44_jobs.webhooks.models import WebhookSecretPublic


async def webhook_secret_of(
    db: Database, user_id: str, *, keys: KeyRing, now: datetime
) -> WebhookSecretPublic:
    """The user's signing secret, created on first use."""
    await crud.ensure_secret(db, user_id, sealed=sealed_secret(new_webhook_secret(), keys), now=now)
    document = await crud.get_secret(db, user_id)
    assert document is not None  # secrets are never deleted
    return WebhookSecretPublic(
        secret=open_secret(document, keys), created_at=document["created_at"]
    )
