"""Bringing every stored webhook secret under the newest `WEBHOOK_SECRETS_ENCRYPTION_KEY`
entry.

Secrets stored in plain text (before encryption at rest) are encrypted at every
jobs-api start-up, in the background (`seal_plain_secrets`); until then the worker
reads them as they are. `python -m git44_jobs rotate-webhook-secrets-key` does that and
also re-encrypts every secret under an older entry (`rotate_webhook_secrets`), once
jobs-api and every worker hold the new key list. Each document is rewritten by one
compare-and-set on what was read, so both are safe to re-run and to run at once.
"""

from __future__ import annotations

import logging
from collections import Counter
from enum import StrEnum

from git44_common.encryption import KeyRing
from git44_common.exceptions import UnreadableSecret
from git44_common.mongo import Database, Document
from git44_common.webhook_secrets import ENCRYPTED_FIELD, open_secret
from git44_jobs.webhooks import crud

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    ENCRYPTED = "encrypted"  # was plain text
    ROTATED = "rotated"
    CURRENT = "current"  # already under the newest key
    SKIPPED = "skipped"  # changed while this ran: run it again
    UNREADABLE = "unreadable"  # no configured entry opens it: keep the one that did


async def rotate_webhook_secrets(db: Database, keys: KeyRing) -> Counter[Outcome]:
    """Every secret under the newest key: plain ones encrypted, older ones re-encrypted;
    the registered endpoints' secrets too (one outcome per endpoint)."""
    outcomes: Counter[Outcome] = Counter()
    async for stored in crud.stored_secrets(db, plain_only=False):
        outcomes[await _reencrypt(db, keys, stored)] += 1
    async for endpoint in crud.stored_endpoints(db):
        outcomes[await _reencrypt_endpoint(db, keys, endpoint)] += 1
    return outcomes


async def _reencrypt_endpoint(db: Database, keys: KeyRing, endpoint: Document) -> Outcome:
    entries = endpoint.get("secrets", [])
    if all(keys.is_current(str(entry[ENCRYPTED_FIELD])) for entry in entries):
        return Outcome.CURRENT
    try:
        resealed = [
            {**entry, ENCRYPTED_FIELD: keys.encrypt(open_secret(entry, keys))} for entry in entries
        ]
    except UnreadableSecret:
        return Outcome.UNREADABLE
    if not await crud.replace_endpoint_secrets(db, endpoint, secrets=resealed):
        return Outcome.SKIPPED
    return Outcome.ROTATED


async def seal_plain_secrets(db: Database, keys: KeyRing) -> None:
    """Encrypt the secrets still stored in plain text; a failure is logged, and the next
    start-up (or the command) finishes the work."""
    outcomes: Counter[Outcome] = Counter()
    try:
        async for stored in crud.stored_secrets(db, plain_only=True):
            outcomes[await _reencrypt(db, keys, stored)] += 1
    except Exception:
        log.exception("encrypting the plain-text webhook secrets failed")
    if outcomes:
        log.info("plain-text webhook secrets: %s", dict(outcomes))


async def _reencrypt(db: Database, keys: KeyRing, stored: Document) -> Outcome:
    token = stored.get(ENCRYPTED_FIELD)
    if token is not None and keys.is_current(str(token)):
        return Outcome.CURRENT
    try:
        secret = open_secret(stored, keys)
    except UnreadableSecret:
        return Outcome.UNREADABLE
    if not await crud.replace_secret(db, stored, token=keys.encrypt(secret)):
        return Outcome.SKIPPED
    return Outcome.ROTATED if token is not None else Outcome.ENCRYPTED
