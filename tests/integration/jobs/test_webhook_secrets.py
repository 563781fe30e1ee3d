"""Webhook signing secrets at rest in jobs-api: stored encrypted, plain-text ones from
before encrypted at start-up, and `rotate-webhook-secrets-key` moving every secret to the
newest entry of `WEBHOOK_SECRETS_ENCRYPTION_KEY`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet

from git44_common.clock import utc_now
from git44_common.collections import WEBHOOK_ENDPOINTS, WEBHOOK_SECRETS
from git44_common.mongo import Database
from git44_common.webhook_secrets import (
    ENCRYPTED_FIELD,
    PLAIN_FIELD,
    WebhookSecretsSettings,
    new_webhook_secret,
    open_secret,
    sealed_secret,
)
from tests.integration.jobs.support import Jobs, Users
from tests.utils.commands import run_module
from tests.utils.waiting import eventually

OLD = "the-old-webhook-passphrase"
NEW = Fernet.generate_key().decode()


def keys(setting: str) -> Any:
    return WebhookSecretsSettings(
        environment="test", webhook_secrets_encryption_key=setting
    ).webhook_secret_keys()


async def test_a_new_secret_is_stored_encrypted(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create()
    headers = {"X-API-Key": await users.api_key(user)}
    shown = (await jobs.client.get("/api/v1/webhook-secret", headers=headers)).json()["secret"]

    stored = await mongo_db[WEBHOOK_SECRETS].find_one({"_id": user})
    assert stored is not None
    assert PLAIN_FIELD not in stored
    assert shown not in str(stored)
    assert open_secret(stored, keys("changethis")) == shown  # the development default
    again = await jobs.client.get("/api/v1/webhook-secret", headers=headers)
    assert again.json()["secret"] == shown


async def test_plain_text_secrets_are_encrypted_at_start_up(
    start_jobs: Callable[..., Any], users: Users, mongo_db: Database
) -> None:
    user = await users.create()
    plain = new_webhook_secret()
    await mongo_db[WEBHOOK_SECRETS].insert_one(
        {"_id": user, PLAIN_FIELD: plain, "created_at": utc_now()}
    )

    async with start_jobs(webhook_secrets_encryption_key=NEW) as jobs:
        stored = await eventually(
            lambda: mongo_db[WEBHOOK_SECRETS].find_one(
                {"_id": user, ENCRYPTED_FIELD: {"$exists": True}}
            )
        )
        headers = {"X-API-Key": await users.api_key(user)}
        shown = await jobs.client.get("/api/v1/webhook-secret", headers=headers)

    assert PLAIN_FIELD not in stored
    assert open_secret(stored, keys(NEW)) == plain
    assert shown.json()["secret"] == plain  # the user's integrations keep verifying


async def test_the_command_moves_every_secret_to_the_newest_entry(
    mongo_db: Database, mongo_url: str, db_name: str
) -> None:
    plain, older = new_webhook_secret(), new_webhook_secret()
    await mongo_db[WEBHOOK_SECRETS].insert_many(
        [
            {"_id": "user-plain", PLAIN_FIELD: plain, "created_at": utc_now()},
            {"_id": "user-older", **sealed_secret(older, keys(OLD)), "created_at": utc_now()},
        ]
    )
    # a registered endpoint mid-rotation: both of its secrets move
    current, replaced = new_webhook_secret(), new_webhook_secret()
    await mongo_db[WEBHOOK_ENDPOINTS].insert_one(
        {
            "_id": "we_1",
            "user_id": "user-older",
            "secrets": [
                {**sealed_secret(current, keys(OLD)), "expires_at": None},
                {**sealed_secret(replaced, keys(OLD)), "expires_at": utc_now()},
            ],
        }
    )
    env = {
        "MONGODB_URL": mongo_url,
        "MONGODB_DB": db_name,
        "WEBHOOK_SECRETS_ENCRYPTION_KEY": f"{NEW},{OLD}",
    }

    first = await run_module("git44_jobs", "rotate-webhook-secrets-key", env=env)
    second = await run_module("git44_jobs", "rotate-webhook-secrets-key", env=env)

    assert first.returncode == 0, first
    assert "1 encrypted, 2 rotated, 0 current" in first.stdout
    assert "0 encrypted, 0 rotated, 3 current" in second.stdout
    newest_only = keys(NEW)
    stored = {doc["_id"]: doc async for doc in mongo_db[WEBHOOK_SECRETS].find()}
    assert open_secret(stored["user-plain"], newest_only) == plain
    assert open_secret(stored["user-older"], newest_only) == older
    assert all(PLAIN_FIELD not in doc for doc in stored.values())
    endpoint = await mongo_db[WEBHOOK_ENDPOINTS].find_one({"_id": "we_1"})
    assert [open_secret(entry, newest_only) for entry in endpoint["secrets"]] == [
        current,
        replaced,
    ]
