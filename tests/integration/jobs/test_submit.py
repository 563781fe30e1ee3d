"""POST /api/removal and GET /api/removal/{id}: the SPA's submission path."""

from __future__ import annotations

import re

from aio_pika.abc import AbstractRobustConnection

from git44_common.mongo import Database
from tests.integration.jobs.support import Jobs, Users, queue_depth
from tests.utils.requests import sora_link
from tests.utils.waiting import eventually

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
JOB_FIELDS = {
    "id", "inputLink", "outputLink", "status", "taskId", "retryCount", "maxRetries",
    "pollCount", "maxPolls", "error", "cached", "estimatedReadyAt", "createdAt", "startedAt",
    "completedAt", "updatedAt",
}  # fmt: skip


async def test_a_submission_is_queued_charged_and_published(
    jobs: Jobs, users: Users, mongo_db: Database, amqp_connection: AbstractRobustConnection
) -> None:
    user = await users.create()
    link = sora_link()
    response = await jobs.client.post(
        "/api/removal", json={"inputLink": link + "/"}, headers=users.bearer(user)
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert set(job) == JOB_FIELDS
    assert job["inputLink"] == link
    assert (job["status"], job["retryCount"], job["maxRetries"], job["maxPolls"]) == (
        "queued", 0, 3, 8,
    )  # fmt: skip
    assert ISO_UTC.match(job["createdAt"])
    assert ISO_UTC.match(job["updatedAt"])

    stored = await mongo_db.removal_jobs.find_one({"_id": job["id"]})
    assert (stored["charge"], stored["version"], stored["source"]) == ("reserved", 1, "web")

    async def published() -> bool:  # the flag is set after the broker's confirm
        stored = await mongo_db.removal_jobs.find_one({"_id": job["id"]})
        return bool(stored["published"]) and stored["relay_claimed_until"] is None

    assert await eventually(published)
    quota = await mongo_db.user_quotas.find_one({"_id": user})
    assert (quota["total_quota"], quota["remaining_quota"], quota["daily_used"]) == (500, 499, 1)
    queue = jobs.context.topology.removal_queue
    assert await eventually(lambda: _depth_is(amqp_connection, queue, 1))


async def _depth_is(connection: AbstractRobustConnection, queue: str, expected: int) -> bool:
    return await queue_depth(connection, queue) == expected


async def test_the_owner_reads_the_job_and_others_get_404(jobs: Jobs, users: Users) -> None:
    owner, other = await users.create(), await users.create()
    created = await jobs.client.post(
        "/api/removal", json={"inputLink": sora_link()}, headers=users.bearer(owner)
    )
    job_id = created.json()["id"]

    mine = await jobs.client.get(f"/api/removal/{job_id}", headers=users.bearer(owner))
    assert mine.status_code == 200
    assert mine.json()["id"] == job_id
    theirs = await jobs.client.get(f"/api/removal/{job_id}", headers=users.bearer(other))
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "not_found"
    missing = await jobs.client.get("/api/removal/nope", headers=users.bearer(owner))
    assert missing.status_code == 404


async def test_a_job_read_carries_an_etag_and_answers_304(jobs: Jobs, users: Users) -> None:
    user = await users.create()
    headers = users.bearer(user)
    created = await jobs.client.post(
        "/api/removal", json={"inputLink": sora_link()}, headers=headers
    )
    url = f"/api/removal/{created.json()['id']}"
    first = await jobs.client.get(url, headers=headers)
    etag = first.headers["etag"]
    again = await jobs.client.get(url, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


async def test_requests_without_a_valid_token_are_401(jobs: Jobs, users: Users) -> None:
    body = {"inputLink": sora_link()}
    missing = await jobs.client.post("/api/removal", json=body)
    assert missing.status_code == 401
    garbage = await jobs.client.post(
        "/api/removal", json=body, headers={"Authorization": "Bearer not.a.token"}
    )
    assert garbage.status_code == 401
    assert garbage.json()["code"] == "token_invalid"


BAD_LINKS = [
    "http://sora.chatgpt.com/p/s_abcdef",
    "https://evil.example.com/p/s_abcdef",
    "https://127.0.0.1/p/s_abcdef",
    "https://[::1]/p/s_abcdef",
    "https://user:pass@sora.chatgpt.com/p/s_abcdef",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "https://sora.chatgpt.com/p/" + "a" * 10_240,
    "https://sora.chatgpt.com/explore",
    "",
]


async def test_bad_links_are_refused_with_422_and_charge_nothing(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create(quota={"total": 5})
    values: list[object] = [*BAD_LINKS, 123, None, ["https://sora.chatgpt.com/p/s_abc"], {"a": 1}]
    for value in values:
        response = await jobs.client.post(
            "/api/removal", json={"inputLink": value}, headers=users.bearer(user)
        )
        assert response.status_code == 422, value
        assert response.json()["code"] == "validation_failed"
        assert response.headers["content-type"].startswith("application/problem+json")
        if isinstance(value, str) and value:
            assert value not in response.text  # the input is never echoed
    assert (await mongo_db.user_quotas.find_one({"_id": user}))["remaining_quota"] == 5
    assert await mongo_db.removal_jobs.count_documents({}) == 0
