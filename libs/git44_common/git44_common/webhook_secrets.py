"""Webhook signing secrets: the Standard Webhooks format (`whsec_` + base64 of 32 bytes)
and how jobs-api and the worker store them.

jobs-api creates a user's secret when the user first needs it; the worker creates it in
the same format if a delivery finds none. Both store it encrypted,
`{_id: user_id, secret_encrypted: <Fernet token>, created_at}`, under
`WEBHOOK_SECRETS_ENCRYPTION_KEY`: a key list (git44_common.encryption) that both read.
A document from before encryption at rest holds `secret` in plain text instead; it is
read as is until jobs-api encrypts it (at start-up, or with
`python -m git44_jobs rotate-webhook-secrets-key`).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any

from pydantic import Field, SecretStr

from git44_common.encryption import EncryptionKeys, KeyRing
from git44_common.settings import ServiceSettings

SECRET_PREFIX = "whsec_"
ENCRYPTED_FIELD = "secret_encrypted"
PLAIN_FIELD = "secret"  # only in documents stored before encryption at rest
_PURPOSE = "webhook-secrets"


class WebhookSecretsSettings(ServiceSettings):
    """The settings of the services that read webhook signing secrets (jobs-api, worker)."""

    webhook_secrets_encryption_key: EncryptionKeys = Field(
        default=SecretStr("changethis"),
        description="key list (newest first) the webhook signing secrets are encrypted under",
    )

    def webhook_secret_keys(self) -> KeyRing:
        return KeyRing(self.webhook_secrets_encryption_key.get_secret_value(), purpose=_PURPOSE)


def new_webhook_secret() -> str:
    """A fresh signing secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sealed_secret(secret: str, keys: KeyRing) -> dict[str, str]:
    """The stored fields of a signing secret: it encrypted under the newest key."""
    return {ENCRYPTED_FIELD: keys.encrypt(secret)}


def open_secret(document: Mapping[str, Any], keys: KeyRing) -> str:
    """The signing secret of a stored document, encrypted or (not migrated yet) plain;
    UnreadableSecret when none of `keys` opens it."""
    token = document.get(ENCRYPTED_FIELD)
    if token is None:
        return str(document[PLAIN_FIELD])
    return keys.decrypt(str(token))
