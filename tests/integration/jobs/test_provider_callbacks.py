"""A provider calling back (`POST /api/providers/{provider}/callback/{token}`): stored
once on its job, the worker told; a wrong token, a replay, another task's record and an
oversized body are refused and change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aio_pika.abc import AbstractQueue, AbstractRobustConnection

from git44_common.amqp import CALLBACK_RECEIVED, Topology
from git44_common.mongo import Database
from git44_worker.callbacks import new_callback_token
from tests.integration.jobs.support import Jobs
from tests.utils.factories import removal_job

LINK = "http://127.0.0.1:8090/removesora/files/t1.mp4?expires=9999999999&signature=ab"


@pytest.fixture
async def heard(
    amqp_connection: AbstractRobustConnection, amqp_namespace: str, jobs: Jobs
) -> AsyncIterator[AbstractQueue]:
    """What a worker replica's queue of `callback.received` gets."""
    channel = await amqp_connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(Topology(namespace=amqp_namespace).events_exchange, CALLBACK_RECEIVED)
    yield queue
    await channel.close()


def record(task_id: str = "t1", state: str = "success") -> dict[str, Any]:
    data = {"taskId": task_id, "state": state, "failMsg": "no luck" if state == "fail" else None}
    if state == "success":
        data["resultJson"] = json.dumps({"resultUrls": [LINK]})
    return {"code": 200, "msg": "success", "data": data}


async def waiting_job(db: Database) -> tuple[dict[str, Any], str]:
    token, token_hash = new_callback_token()
    job = removal_job(
        user_id="u-callback",
        status="processing",
        task_id="t1",
        provider="kie",
        callback_token_hash=token_hash,
    )
    await db.removal_jobs.insert_one(job)
    return job, token


async def test_a_callback_is_stored_once_and_the_workers_are_told(
    jobs: Jobs, mongo_db: Database, heard: AbstractQueue
) -> None:
    job, token = await waiting_job(mongo_db)
    url = f"/api/providers/kie/callback/{token}"
    answer = await jobs.client.post(url, json=record())
    assert answer.status_code == 200, answer.text
    stored = await mongo_db.removal_jobs.find_one({"_id": job["_id"]})
    assert stored["callback"]["state"] == "success"
    assert stored["callback"]["output_link"] == LINK
    message = await heard.get(no_ack=True, fail=False)
    assert message is not None
    assert json.loads(message.body)["job_id"] == job["_id"]

    replay = await jobs.client.post(url, json=record(state="fail"))
    assert (replay.status_code, replay.json()["code"]) == (409, "callback_replayed")
    again = await mongo_db.removal_jobs.find_one({"_id": job["_id"]})
    assert again["callback"] == stored["callback"]  # no effect


async def test_wrong_tokens_other_tasks_and_big_bodies_change_nothing(
    jobs: Jobs, mongo_db: Database
) -> None:
    job, token = await waiting_job(mongo_db)
    refusals = [
        (f"/api/providers/kie/callback/{token}x", record(), 404),
        (f"/api/providers/removesora/callback/{token}", record(), 404),
        (f"/api/providers/kie/callback/{token}", record(task_id="t2"), 422),
        (f"/api/providers/kie/callback/{token}", {"nothing": 1}, 422),
        (f"/api/providers/kie/callback/{token}", record(state="generating"), 422),
    ]
    for url, body, status in refusals:
        answer = await jobs.client.post(url, json=body)
        assert answer.status_code == status, (url, body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    huge = {**record(), "padding": "x" * 70_000}
    too_big = await jobs.client.post(f"/api/providers/kie/callback/{token}", json=huge)
    assert too_big.status_code == 413
    stored = await mongo_db.removal_jobs.find_one({"_id": job["_id"]})
    assert stored.get("callback") is None

    failed = await jobs.client.post(
        f"/api/providers/kie/callback/{token}", json=record(state="fail")
    )
    assert failed.status_code == 200
    stored = await mongo_db.removal_jobs.find_one({"_id": job["_id"]})
    assert (stored["callback"]["state"], stored["callback"]["error"]) == ("fail", "no luck")
