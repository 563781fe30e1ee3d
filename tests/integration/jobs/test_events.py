"""SSE: a subscriber sees every transition of its own jobs, nobody else's, and resumes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import AbstractRobustConnection
from pymongo import ReturnDocument

from git44_common.amqp import Publisher, job_event_key
from git44_common.jobs import job_event
from git44_common.mongo import Database
from tests.integration.jobs.support import Jobs, SseClient, Users
from tests.utils.requests import sora_link
from tests.utils.waiting import eventually

EVENTS = "/api/removal/events"


async def _advance(
    db: Database, publisher: Publisher, job: dict[str, Any], status: str, **fields: Any
) -> None:
    """What the worker does on a transition: CAS the job, then publish its event."""
    after = await db.removal_jobs.find_one_and_update(
        {"_id": job["id"]},
        {"$set": {"status": status, "updated_at": datetime.now(UTC), **fields},
         "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER,
    )  # fmt: skip
    await publisher.publish_event(job_event_key(status), job_event(after))


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


async def test_no_stream_ever_shows_a_job_going_back(
    served_jobs: Jobs,
    users: Users,
    mongo_db: Database,
    amqp_connection: AbstractRobustConnection,
) -> None:
    """Many jobs move through their states at once, each transition written then
    published as the worker does; the hub handles the events concurrently. Every stream
    shows each job's states in version order, each message's id names the version of
    the state it carries, and every job ends at `success`."""
    alice = await users.create()
    client, headers = served_jobs.client, users.bearer(alice)
    streams = [SseClient(client, EVENTS, headers) for _ in range(3)]
    try:
        assert await eventually(lambda: _ready(*streams))
        submitted = [
            (await client.post("/api/removal", json={"inputLink": sora_link()}, headers=headers))
            for _ in range(20)
        ]
        job_ids = [response.json()["id"] for response in submitted]
        states: dict[tuple[str, int], str] = {(job_id, 1): "queued" for job_id in job_ids}
        publisher = await Publisher.open(amqp_connection, served_jobs.context.topology)

        async def run(job_id: str) -> None:
            steps = [("processing", {"task_id": f"t-{job_id}"})]
            steps += [("polling", {"poll_count": n}) for n in (1, 2, 3)]
            steps += [("success", {"output_link": f"https://cdn.example.com/{job_id}.mp4"})]
            for status, fields in steps:
                before = await mongo_db.removal_jobs.find_one({"_id": job_id})
                after = await mongo_db.removal_jobs.find_one_and_update(
                    {"_id": job_id},
                    {"$set": {"status": status, "updated_at": datetime.now(UTC), **fields},
                     "$inc": {"version": 1}},
                    return_document=ReturnDocument.AFTER,
                )  # fmt: skip
                states[(job_id, after["version"])] = status
                event = job_event(after, previous=before["status"])
                await publisher.publish_event(job_event_key(status), event)

        await asyncio.gather(*(run(job_id) for job_id in job_ids))
        await publisher.close()

        def finished(stream: SseClient) -> bool:
            done = {data["id"] for _, _, data in stream.of("job") if data["status"] == "success"}
            return done == set(job_ids)

        assert await eventually(lambda: _all(finished(s) for s in streams), within=20)
        for stream in streams:
            seen: dict[str, int] = {}
            for _, event_id, data in stream.of("job"):
                assert event_id is not None
                job_id, _, version_text = event_id.rpartition(":")
                version = int(version_text)
                assert job_id == data["id"]
                assert data["status"] == states[(job_id, version)]  # the id's own state
                assert version > seen.get(job_id, 0), f"{job_id} went back to {version}"
                seen[job_id] = version
            assert all(seen[job_id] == 6 for job_id in job_ids)  # each ended at success
    finally:
        for stream in streams:
            await stream.close()


async def _all(flags: Any) -> bool:
    return all(flags)
