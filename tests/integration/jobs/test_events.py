"""SSE: a subscriber sees every transition of its own jobs, nobody else's, and resumes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import AbstractRobustConnection

from git44_common.amqp import Publisher, job_event_key
from git44_common.contracts import JobEvent, JobStatus
from git44_common.mongo import Database
from tests.integration.jobs.support import Jobs, SseClient, Users
from tests.utils.requests import sora_link
from tests.utils.waiting import eventually

EVENTS = "/api/removal/events"


async def _advance(
    db: Database, publisher: Publisher, job: dict[str, Any], status: str, **fields: Any
) -> None:
    """What the worker does on a transition: CAS the job, then publish its event."""
    before = await db.removal_jobs.find_one_and_update(
        {"_id": job["id"]},
        {"$set": {"status": status, "updated_at": datetime.now(UTC), **fields},
         "$inc": {"version": 1}},
    )  # fmt: skip
    event = JobEvent(
        job_id=job["id"],
        user_id=before["user_id"],
        status=JobStatus(status),
        previous_status=JobStatus(before["status"]),
        output_link=fields.get("output_link"),
    )
    await publisher.publish_event(job_event_key(status), event)


async def test_a_subscriber_gets_each_transition_of_its_own_jobs_only(
    served_jobs: Jobs,
    users: Users,
    mongo_db: Database,
    amqp_connection: AbstractRobustConnection,
) -> None:
    alice, bob = await users.create(), await users.create()
    client = served_jobs.client
    stream = SseClient(client, EVENTS, users.bearer(alice))
    bob_stream = SseClient(client, EVENTS, users.bearer(bob))
    try:
        assert await eventually(lambda: _ready(stream, bob_stream))
        mine = (
            await client.post("/api/removal", json={"inputLink": sora_link()},
                              headers=users.bearer(alice))
        ).json()  # fmt: skip
        await client.post(
            "/api/removal", json={"inputLink": sora_link()}, headers=users.bearer(bob)
        )
        publisher = await Publisher.open(amqp_connection, served_jobs.context.topology)
        await _advance(mongo_db, publisher, mine, "processing", task_id="t-1")
        await _advance(mongo_db, publisher, mine, "polling", poll_count=1)
        link = "https://cdn.example.com/clean.mp4"
        await _advance(mongo_db, publisher, mine, "success", output_link=link)
        await publisher.close()

        async def three_transitions() -> bool:
            return len(stream.of("job")) >= 4

        assert await eventually(three_transitions)
        await asyncio.sleep(0.5)  # anything else would have arrived by now
        jobs = stream.of("job")
        assert [data["status"] for _, _, data in jobs] == [
            "queued", "processing", "polling", "success",
        ]  # fmt: skip
        assert {data["id"] for _, _, data in jobs} == {mine["id"]}
        assert [event_id for _, event_id, _ in jobs][-1] == f"{mine['id']}:4"
        assert jobs[-1][2]["outputLink"] == link
        assert all(data["id"] != mine["id"] for _, _, data in bob_stream.of("job"))
        assert len(bob_stream.of("job")) == 1  # bob sees his own job only
    finally:
        await stream.close()
        await bob_stream.close()


async def _ready(*streams: SseClient) -> bool:
    return all(s.of("ready") for s in streams)


async def test_a_reconnect_with_last_event_id_replays_what_changed_meanwhile(
    served_jobs: Jobs, users: Users
) -> None:
    alice = await users.create()
    client, headers = served_jobs.client, users.bearer(alice)
    stream = SseClient(client, EVENTS, headers)
    assert await eventually(lambda: _ready(stream))
    first = (
        await client.post("/api/removal", json={"inputLink": sora_link()}, headers=headers)
    ).json()

    async def got_first() -> bool:
        return bool(stream.of("job"))

    assert await eventually(got_first)
    last_id = stream.of("job")[-1][1]
    await stream.close()

    second = (
        await client.post("/api/removal", json={"inputLink": sora_link()}, headers=headers)
    ).json()
    resumed = SseClient(client, EVENTS, {**headers, "Last-Event-ID": str(last_id)})
    try:

        async def replayed() -> bool:
            return bool(resumed.of("job"))

        assert await eventually(replayed)
        await asyncio.sleep(0.3)
        assert [data["id"] for _, _, data in resumed.of("job")] == [second["id"]]
        assert first["id"] != second["id"]
    finally:
        await resumed.close()


async def test_the_stream_needs_a_token(served_jobs: Jobs) -> None:
    response = await served_jobs.client.get(EVENTS)
    assert response.status_code == 401
