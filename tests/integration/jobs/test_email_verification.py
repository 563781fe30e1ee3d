"""Submissions of users who have not verified their email address, with
AUTH_REQUIRE_EMAIL_VERIFICATION on: refused with 403 `email_unverified` from the SPA and
through API keys, reads still answered; a verification counts at once, whatever the
status cache's lifetime; users from before verification (no field) submit as before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from git44_common.mongo import Database
from tests.integration.jobs.support import Users
from tests.utils.requests import sora_link

REQUIRED = {"require_email_verification": True, "user_status_cache_seconds": 30.0}


async def unverified_user(users: Users, mongo_db: Database) -> str:
    user = await users.create()
    await mongo_db.users.update_one({"_id": user}, {"$set": {"email_verified": False}})
    return user


async def test_an_unverified_user_reads_but_cannot_submit_until_verified(
    start_jobs: Callable[..., Any], users: Users, mongo_db: Database
) -> None:
    user = await unverified_user(users, mongo_db)
    bearer, api_key = users.bearer(user), {"X-API-Key": await users.api_key(user)}
    async with start_jobs(**REQUIRED) as jobs:
        refused = [
            await jobs.client.post("/api/removal", json={"inputLink": sora_link()}, headers=bearer),
            await jobs.client.post(
                "/api/v1/removals", json={"inputLink": sora_link()}, headers=api_key
            ),
            await jobs.client.post(
                "/api/v1/removals/batch", json={"items": [{"inputLink": sora_link()}]},
                headers=api_key,
            ),
        ]  # fmt: skip
        for response in refused:
            assert response.status_code == 403, response.text
            assert response.json()["code"] == "email_unverified"
        assert (await jobs.client.get("/api/removal/user/jobs", headers=bearer)).status_code == 200
        assert (await jobs.client.get("/api/v1/quota", headers=api_key)).status_code == 200
        assert await mongo_db.removal_jobs.count_documents({"user_id": user}) == 0

        # verified now: the next submission goes through, the 30 s status cache regardless
        await mongo_db.users.update_one({"_id": user}, {"$set": {"email_verified": True}})
        created = await jobs.client.post(
            "/api/v1/removals", json={"inputLink": sora_link()}, headers=api_key
        )
        assert created.status_code == 202, created.text


async def test_users_from_before_verification_and_unrequired_verification_submit(
    start_jobs: Callable[..., Any], users: Users, mongo_db: Database
) -> None:
    legacy = await users.create()  # no `email_verified` field at all
    unverified = await unverified_user(users, mongo_db)
    async with start_jobs(**REQUIRED) as jobs:
        created = await jobs.client.post(
            "/api/removal", json={"inputLink": sora_link()}, headers=users.bearer(legacy)
        )
        assert created.status_code == 202, created.text
    async with start_jobs(require_email_verification=False) as jobs:
        created = await jobs.client.post(
            "/api/removal", json={"inputLink": sora_link()}, headers=users.bearer(unverified)
        )
        assert created.status_code == 202, created.text
