"""Secrets at rest: neither ScraperAPI keys nor webhook signing secrets are stored in plain
text, and rotating an encryption key loses no stored secret and never stops one from
opening — not while the command runs, and not afterwards under the new key alone."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from localstack import LocalStack

from git44_common.clock import utc_now
from git44_common.collections import SCRAPER_KEYS, WEBHOOK_SECRETS
from git44_common.mongo import Database, MongoClient, ensure_indexes
from git44_common.webhook_secrets import PLAIN_FIELD, new_webhook_secret
from git44_keys.core.db import INDEXES
from git44_keys.crypto import KeyCipher
from git44_keys.exceptions import KeyDecryptionError
from tests.security.actors import register
from tests.utils.background import repeating
from tests.utils.commands import run_module
from tests.utils.factories import scraper_key
from tests.utils.legacy_crypto import legacy_encrypt, legacy_fingerprint

OLD = "key-manager's old passphrase"
NEW = Fernet.generate_key().decode()


def stored_under(cipher: KeyCipher, api_key: str) -> dict[str, Any]:
    return scraper_key(
        api_key, token=cipher.encrypt(api_key), fingerprint=cipher.fingerprint(api_key)
    )


def stored_before_key_lists(setting: str, api_key: str) -> dict[str, Any]:
    """As key-manager stored keys before key lists: HKDF straight from the setting."""
    token, fingerprint = legacy_encrypt(setting, api_key), legacy_fingerprint(setting, api_key)
    return scraper_key(api_key, token=token, fingerprint=fingerprint)


async def stored_keys(db: Database) -> list[dict[str, Any]]:
    return await db[SCRAPER_KEYS].find().to_list()


@pytest.mark.integration
async def test_rotation_re_encrypts_every_key_and_old_ciphertexts_still_decrypt_during_rotation(
    mongo_db: Database, mongo_url: str, db_name: str
) -> None:
    await ensure_indexes(mongo_db, INDEXES)
    plain = [f"sk-at-rest-{n}-{uuid.uuid4().hex}" for n in range(4)]
    old, rotating = KeyCipher(OLD), KeyCipher(f"{NEW},{OLD}")
    await mongo_db[SCRAPER_KEYS].insert_many(
        [
            stored_before_key_lists(OLD, plain[0]),
            stored_under(old, plain[1]),
            stored_under(old, plain[2]),
            stored_under(rotating, plain[3]),  # added once the new key was put first
        ]
    )
    at_rest = str(await stored_keys(mongo_db))
    assert not any(key in at_rest for key in plain)

    async def every_key_opens_with_the_rotating_list() -> None:
        opened = [rotating.decrypt(k["api_key_encrypted"]) for k in await stored_keys(mongo_db)]
        assert sorted(opened) == sorted(plain)

    env = {"MONGODB_URL": mongo_url, "MONGODB_DB": db_name, "KEYS_ENCRYPTION_KEY": f"{NEW},{OLD}"}
    async with repeating(every_key_opens_with_the_rotating_list) as reads:
        result = await run_module("git44_keys", "rotate-encryption-key", env=env)
    assert reads.count > 0

    assert result.returncode == 0, result
    assert "3 rotated, 1 current" in result.stdout
    newest_only = KeyCipher(NEW)
    opened = []
    for stored in await stored_keys(mongo_db):
        token = stored["api_key_encrypted"]
        assert newest_only.is_current(token)
        opened.append(newest_only.decrypt(token))
        assert stored["key_fingerprint"] == newest_only.fingerprint(opened[-1])
        with pytest.raises(KeyDecryptionError):
            KeyCipher(OLD).decrypt(token)
    assert sorted(opened) == sorted(plain)


@pytest.mark.e2e
async def test_webhook_secrets_in_the_db_are_not_plain_text(
    security_stack: LocalStack, mongo_client: MongoClient
) -> None:
    db = mongo_client[security_stack.mongodb_db]
    account = register(security_stack)
    api = {"X-API-Key": account.api_key}
    async with httpx.AsyncClient(base_url=security_stack.url("jobs-api"), timeout=30) as http:
        shown = (await http.get("/api/v1/webhook-secret", headers=api)).json()["secret"]

    stored = await db[WEBHOOK_SECRETS].find_one({"_id": account.id})
    assert stored is not None
    assert PLAIN_FIELD not in stored
    assert shown not in str(stored)
    assert shown.removeprefix("whsec_") not in str(stored)


@pytest.mark.e2e
async def test_a_plain_text_secret_from_before_is_migrated_and_keeps_verifying(
    security_stack: LocalStack, mongo_client: MongoClient
) -> None:
    db = mongo_client[security_stack.mongodb_db]
    account = register(security_stack)
    before = new_webhook_secret()
    await db[WEBHOOK_SECRETS].insert_one(
        {"_id": account.id, PLAIN_FIELD: before, "created_at": utc_now()}
    )
    env = {"MONGODB_URL": security_stack.mongodb_url or "", "MONGODB_DB": security_stack.mongodb_db}

    result = await run_module("git44_jobs", "rotate-webhook-secrets-key", env=env)

    assert result.returncode == 0, result
    assert await db[WEBHOOK_SECRETS].count_documents({PLAIN_FIELD: {"$exists": True}}) == 0
    assert before not in str(await db[WEBHOOK_SECRETS].find_one({"_id": account.id}))
    api = {"X-API-Key": account.api_key}
    async with httpx.AsyncClient(base_url=security_stack.url("jobs-api"), timeout=30) as http:
        shown = (await http.get("/api/v1/webhook-secret", headers=api)).json()["secret"]
    assert shown == before
