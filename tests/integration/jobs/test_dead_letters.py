"""Admin dead letters of the removal queue: taken over from `git44.removal.dead` without
losing one, listed a page at a time, replayed (a failed job queued again for free) and
purged — every change audited, admins only."""

from __future__ import annotations

from typing import Any

from aio_pika import Message
from aio_pika.abc import AbstractRobustConnection

from git44_common.amqp import REMOVAL_DEAD, Topology
from git44_common.contracts import RemovalRequested
from git44_common.mongo import Database
from tests.integration.jobs.support import Jobs, Users, queue_depth
from tests.utils.requests import sora_link
from tests.utils.waiting import eventually

URL = "/api/admin/dead-letters"


def topology_of(jobs: Jobs) -> Topology:
    return Topology(namespace=jobs.settings.amqp_namespace)


async def submit(jobs: Jobs, users: Users, user: str) -> str:
    response = await jobs.client.post(
        "/api/removal", json={"inputLink": sora_link()}, headers=users.bearer(user)
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def reject_next_request(connection: AbstractRobustConnection, topology: Topology) -> str:
    """Reject the next `removal.requested` without requeue, as a worker rejects a poison
    message: RabbitMQ dead-letters it. Its job id."""
    async with connection.channel() as channel:
        queue = await channel.get_queue(topology.removal_queue)
        message = await eventually(lambda: queue.get(no_ack=False, fail=False))
        await message.reject(requeue=False)
    return RemovalRequested.model_validate_json(message.body).job_id


async def publish_dead(
    connection: AbstractRobustConnection, topology: Topology, body: bytes, message_id: str
) -> None:
    """Put a message straight into the dead queue (through the dead-letter exchange)."""
    async with connection.channel(publisher_confirms=True) as channel:
        exchange = await channel.get_exchange(topology.dead_letter_exchange)
        await exchange.publish(Message(body, message_id=message_id), REMOVAL_DEAD)


async def dead_lettered_job(
    jobs: Jobs, users: Users, connection: AbstractRobustConnection, user: str
) -> str:
    topology = topology_of(jobs)
    job_id = await submit(jobs, users, user)
    assert await reject_next_request(connection, topology) == job_id
    await eventually(lambda: queue_depth(connection, topology.removal_dead_queue))
    return job_id


async def letters(jobs: Jobs, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = await jobs.client.get(f"{URL}{query}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def listed_letters(jobs: Jobs, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The first page of letters, once there are any (a published message takes a moment
    to reach the dead queue)."""

    async def listed() -> list[dict[str, Any]]:
        return list((await letters(jobs, headers))["data"])

    return await eventually(listed)


async def test_only_admins_see_or_touch_dead_letters(jobs: Jobs, users: Users) -> None:
    user = await users.create()
    for method, path in [("GET", URL), ("POST", f"{URL}/replay"), ("DELETE", URL),
                         ("POST", f"{URL}/abc/replay"), ("DELETE", f"{URL}/abc")]:  # fmt: skip
        response = await jobs.client.request(method, path, headers=users.bearer(user))
        assert response.status_code == 403, (method, path)


async def test_a_dead_letter_is_listed_then_replayed_to_the_worker_and_audited(
    jobs: Jobs, users: Users, amqp_connection: AbstractRobustConnection, mongo_db: Database
) -> None:
    admin, user = await users.create(role="admin"), await users.create(quota={"total": 5})
    headers = users.bearer(admin, role="admin")
    topology = topology_of(jobs)
    job_id = await dead_lettered_job(jobs, users, amqp_connection, user)

    listed = await letters(jobs, headers)
    [letter] = listed["data"]
    assert (letter["jobId"], letter["userId"], letter["reason"]) == (job_id, user, "rejected")
    assert letter["deathCount"] == 1
    assert letter["sourceQueue"] == topology.removal_queue
    assert listed["nextCursor"] is None
    assert await queue_depth(amqp_connection, topology.removal_dead_queue) == 0
    assert (await letters(jobs, headers))["data"] == [letter]  # listing again changes nothing
    stats = await jobs.client.get("/api/admin/stats", headers=headers)
    assert stats.json()["deadLetters"] == 1

    replayed = await jobs.client.post(f"{URL}/{letter['id']}/replay", headers=headers)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == {"id": letter["id"], "jobId": job_id, "replayed": True,
                               "status": "queued", "detail": None}  # fmt: skip
    assert await reject_next_request(amqp_connection, topology) == job_id  # the worker's again
    entry = await mongo_db.audit_log.find_one({"action": "dead_letter.replay"})
    assert (entry["actor"], entry["target"]) == (admin, job_id)
    assert entry["before"] == {"letter": letter["id"], "status": "queued"}
    again = await jobs.client.post(f"{URL}/{letter['id']}/replay", headers=headers)
    assert again.status_code == 404


async def test_replaying_a_failed_jobs_letter_queues_it_again_for_free(
    jobs: Jobs, users: Users, amqp_connection: AbstractRobustConnection, mongo_db: Database
) -> None:
    admin, user = await users.create(role="admin"), await users.create(quota={"total": 1})
    headers = users.bearer(admin, role="admin")
    job_id = await dead_lettered_job(jobs, users, amqp_connection, user)
    await mongo_db.removal_jobs.update_one(
        {"_id": job_id}, {"$set": {"status": "failed", "charge": "refunded"}}
    )
    replayed = await jobs.client.post(f"{URL}/replay", headers=headers)
    assert replayed.status_code == 200, replayed.text
    [outcome] = replayed.json()["data"]
    assert (outcome["jobId"], outcome["replayed"], outcome["status"]) == (job_id, True, "queued")
    assert (await mongo_db.removal_jobs.find_one({"_id": job_id}))["status"] == "queued"
    assert (await mongo_db.user_quotas.find_one({"_id": user}))["remaining_quota"] == 0
    entry = await mongo_db.audit_log.find_one({"action": "dead_letter.replay"})
    assert (entry["before"]["status"], entry["after"]["status"]) == ("failed", "queued")
    assert (await letters(jobs, headers))["data"] == []


async def test_a_letter_that_is_no_removal_request_is_kept_until_purged(
    jobs: Jobs, users: Users, amqp_connection: AbstractRobustConnection, mongo_db: Database
) -> None:
    admin = await users.create(role="admin")
    headers = users.bearer(admin, role="admin")
    await publish_dead(amqp_connection, topology_of(jobs), b"\xffnot json", "poison-1")
    [letter] = await listed_letters(jobs, headers)
    assert letter["jobId"] is None
    assert letter["body"].endswith("not json")

    refused = await jobs.client.post(f"{URL}/{letter['id']}/replay", headers=headers)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    kept = (await jobs.client.post(f"{URL}/replay", headers=headers)).json()["data"]
    assert [(o["id"], o["replayed"]) for o in kept] == [(letter["id"], False)]
    assert "purge" in kept[0]["detail"]

    purged = await jobs.client.delete(f"{URL}/{letter['id']}", headers=headers)
    assert purged.json() == {"purged": 1}
    assert (await jobs.client.delete(f"{URL}/{letter['id']}", headers=headers)).status_code == 404
    entry = await mongo_db.audit_log.find_one({"action": "dead_letter.purge"})
    assert (entry["actor"], entry["target"]) == (admin, letter["id"])


async def test_a_message_delivered_twice_is_one_letter(
    jobs: Jobs, users: Users, amqp_connection: AbstractRobustConnection
) -> None:
    """A drain that stored a message and crashed before its ack gets the message again:
    it is stored as the same letter, not a second one."""
    admin = await users.create(role="admin")
    headers = users.bearer(admin, role="admin")
    topology = topology_of(jobs)
    body = RemovalRequested(job_id="j1", user_id="u1").model_dump_json().encode()
    await publish_dead(amqp_connection, topology, body, "j1:1")
    [letter] = await listed_letters(jobs, headers)
    await publish_dead(amqp_connection, topology, body, "j1:1")
    await eventually(lambda: queue_depth(amqp_connection, topology.removal_dead_queue))
    assert (await letters(jobs, headers))["data"] == [letter]


async def test_letters_are_paged_oldest_first_and_purged_all_at_once(
    jobs: Jobs, users: Users, amqp_connection: AbstractRobustConnection, mongo_db: Database
) -> None:
    admin = await users.create(role="admin")
    headers = users.bearer(admin, role="admin")
    topology = topology_of(jobs)
    for number in range(3):
        body = RemovalRequested(job_id=f"j{number}", user_id="u1").model_dump_json().encode()
        await publish_dead(amqp_connection, topology, body, f"j{number}:1")
    await eventually(lambda: _depth_is(amqp_connection, topology.removal_dead_queue, 3), within=10)
    first = await letters(jobs, headers, "?limit=2")
    second = await letters(jobs, headers, f"?limit=2&cursor={first['nextCursor']}")
    assert second["nextCursor"] is None
    seen = [letter["jobId"] for letter in first["data"] + second["data"]]
    assert sorted(seen) == ["j0", "j1", "j2"]
    one_job = await letters(jobs, headers, "?jobId=j1")
    assert [letter["jobId"] for letter in one_job["data"]] == ["j1"]
    bad = await jobs.client.get(f"{URL}?cursor=not-a-cursor", headers=headers)
    assert bad.status_code == 422

    await publish_dead(amqp_connection, topology, b"{}", "late-1")  # not taken over yet
    await eventually(lambda: queue_depth(amqp_connection, topology.removal_dead_queue))
    purged = await jobs.client.delete(URL, headers=headers)
    assert purged.json() == {"purged": 4}
    assert (await letters(jobs, headers))["data"] == []
    entry = await mongo_db.audit_log.find_one({"action": "dead_letter.purge"})
    assert (entry["target"], entry["after"]) == (topology.removal_dead_queue, {"purged": 4})


async def _depth_is(connection: AbstractRobustConnection, queue: str, depth: int) -> bool:
    return await queue_depth(connection, queue) == depth
