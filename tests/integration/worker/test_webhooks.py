"""Webhook delivery: signed per Standard Webhooks (verified here by hand, from the
spec) with the user's secret, stored encrypted or (from before) plain, retried with
backoff, every attempt recorded, private destinations refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from git44_common.amqp import PublishError, QueueFamily
from git44_common.collections import WEBHOOK_DELIVERIES, WEBHOOK_SECRETS
from git44_common.contracts import WebhookDeliveryRequested
from git44_common.mongo import Database
from git44_common.webhook_secrets import (
    PLAIN_FIELD,
    WebhookSecretsSettings,
    open_secret,
    sealed_secret,
)
from git44_sim.client import SimControl
from git44_worker.core.config import WorkerSettings
from git44_worker.crud import webhooks as crud
from tests.integration.worker.conftest import FakeKeyManager, Jobs, StartWorker
from tests.utils.receiver import Receiver, serving_receiver
from tests.utils.waiting import eventually

pytestmark = pytest.mark.integration

SECRET = "whsec_" + base64.b64encode(b"an-independent-test-secret-32by").decode()


def verify_by_hand(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The spec: HMAC-SHA256(base64-decoded secret, "<id>.<timestamp>.<body>"), base64."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1) for s in headers["webhook-signature"].split()]
    return any(v == "v1" and hmac.compare_digest(sig, expected) for v, sig in given)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving_receiver("/hook") as hooks:
        yield hooks


async def deliveries(db: Database, job_id: str) -> list[dict[str, object]]:
    return await db[WEBHOOK_DELIVERIES].find({"job_id": job_id}).sort("attempt", 1).to_list()


async def test_a_finished_job_is_delivered_signed_with_the_users_secret(
    start_worker: StartWorker,
    jobs: Jobs,
    keys: FakeKeyManager,
    sim: SimControl,
    receiver: Receiver,
) -> None:
    # stored in plain text, as before encryption at rest: read as is until jobs-api
    # encrypts it
    await jobs.db[WEBHOOK_SECRETS].insert_one({"_id": jobs.user_id, PLAIN_FIELD: SECRET})
    await start_worker()
    submitted = await jobs.submit(callback_url=receiver.url)
    done = await jobs.wait_for(submitted["_id"], {"success", "failed"})

    await eventually(lambda: _received(receiver, 1))

    headers, body = receiver.received[0]
    assert verify_by_hand(SECRET, headers, body)
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    payload = json.loads(body)
    assert payload["type"] == "removal.success"
    assert payload["data"]["id"] == submitted["_id"]
    assert payload["data"]["outputLink"] == done["output_link"]
    await eventually(lambda: _recorded(jobs.db, submitted["_id"], 1))
    [record] = await deliveries(jobs.db, submitted["_id"])
    assert record["status_code"] == 204
    assert record["url"] == receiver.url
    assert record["attempt"] == 1
    assert record["next_retry_at"] is None
    assert (await jobs.get(submitted["_id"]))["webhook_pending"] is False


async def _received(receiver: Receiver, count: int) -> bool:
    return len(receiver.received) >= count


async def _recorded(db: Database, job_id: str, count: int) -> bool:
    return len(await deliveries(db, job_id)) >= count


async def request_delivery(jobs: Jobs, callback_url: str, status: str = "failed") -> str:
    job = await jobs.submit(callback_url=callback_url, status=status, error="it broke")
    request = WebhookDeliveryRequested(job_id=job["_id"], event_id=f"evt-{job['_id']}")
    topology = jobs.publisher.topology
    await jobs.publisher.publish(topology.jobs_exchange, "webhook.deliver", request)
    return str(job["_id"])


async def test_a_failed_delivery_is_retried_with_the_same_id_and_a_lazily_created_secret(
    start_worker: StartWorker, jobs: Jobs, receiver: Receiver, worker_settings: WorkerSettings
) -> None:
    receiver.statuses = [500]
    await start_worker()
    job_id = await request_delivery(jobs, receiver.url)

    await eventually(lambda: _recorded(jobs.db, job_id, 2), within=10)

    first, second = await deliveries(jobs.db, job_id)
    assert (first["status_code"], first["error"]) == (500, "HTTP 500")
    assert first["next_retry_at"] is not None
    assert second["status_code"] == 204
    assert second["attempted_at"] >= first["next_retry_at"]
    stored = await jobs.db[WEBHOOK_SECRETS].find_one({"_id": jobs.user_id})
    assert stored is not None
    assert PLAIN_FIELD not in stored  # created encrypted, like jobs-api creates them
    secret = open_secret(stored, worker_settings.webhook_secret_keys())
    assert secret.startswith("whsec_")
    (h1, b1), (h2, b2) = receiver.received
    assert h1["webhook-id"] == h2["webhook-id"] == f"evt-{job_id}"
    assert verify_by_hand(secret, h2, b2)
    assert json.loads(b2)["data"]["error"] == "it broke"


async def test_a_delivery_is_signed_with_the_secret_stored_encrypted(
    start_worker: StartWorker, jobs: Jobs, receiver: Receiver
) -> None:
    key = Fernet.generate_key().decode()
    settings = WebhookSecretsSettings(environment="test", webhook_secrets_encryption_key=key)
    sealed = sealed_secret(SECRET, settings.webhook_secret_keys())
    await jobs.db[WEBHOOK_SECRETS].insert_one({"_id": jobs.user_id, **sealed})
    await start_worker(webhook_secrets_encryption_key=SecretStr(f"{key},an-older-entry"))
    await request_delivery(jobs, receiver.url)

    await eventually(lambda: _received(receiver, 1))

    headers, body = receiver.received[0]
    assert verify_by_hand(SECRET, headers, body)


async def test_delivery_gives_up_after_the_last_configured_attempt(
    start_worker: StartWorker, jobs: Jobs, receiver: Receiver
) -> None:
    receiver.statuses = [500, 502, 503, 500]
    await start_worker()
    job_id = await request_delivery(jobs, receiver.url)

    await eventually(lambda: _recorded(jobs.db, job_id, 3), within=10)
    await asyncio.sleep(1.5)

    records = await deliveries(jobs.db, job_id)
    assert [r["status_code"] for r in records] == [500, 502, 503]
    assert records[-1]["next_retry_at"] is None
    assert len(receiver.received) == 3


async def test_a_private_destination_is_refused_unless_allowed(
    start_worker: StartWorker, jobs: Jobs, receiver: Receiver
) -> None:
    await start_worker(webhook_allow_private=False, webhook_retry_delays_seconds=[])
    job_id = await request_delivery(jobs, receiver.url)

    await eventually(lambda: _recorded(jobs.db, job_id, 1), within=10)

    [record] = await deliveries(jobs.db, job_id)
    assert record["status_code"] is None
    assert "https" in record["error"]
    assert receiver.received == []


async def test_a_retry_the_broker_refused_is_queued_when_the_request_comes_back(
    start_worker: StartWorker, jobs: Jobs, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the attempt is recorded, then its retry cannot be queued (a broker restart, a
    # worker killed just then): the request is redelivered and must not be dropped as
    # a duplicate of the attempt it made
    receiver.statuses = [503]
    worker = await start_worker()
    publisher = worker.runtime.publisher
    refused: list[int] = []
    publish_delayed = publisher.publish_delayed

    async def refuse_once(family: QueueFamily, payload: Any, seconds: float, **kw: Any) -> int:
        if not refused:
            refused.append(payload.attempt)
            raise PublishError("broker gone (injected)")
        return await publish_delayed(family, payload, seconds, **kw)

    monkeypatch.setattr(publisher, "publish_delayed", refuse_once)
    job_id = await request_delivery(jobs, receiver.url)

    await eventually(lambda: _recorded(jobs.db, job_id, 2), within=10)

    assert refused == [1]
    first, second = await deliveries(jobs.db, job_id)
    assert first["status_code"] == 503
    assert first["retry_scheduled"] is True  # queued by the redelivered request
    assert second["status_code"] == 204
    assert second["attempted_at"] >= first["next_retry_at"]
    assert len(receiver.received) == 2  # the retry, once: no second chain


async def test_a_request_redelivered_after_its_retry_was_queued_is_dropped(
    start_worker: StartWorker, jobs: Jobs, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the retry is queued and marked, then the handler fails before the ack: the
    # redelivered request must not queue a second one
    receiver.statuses = [503]
    await start_worker()
    failed: list[object] = []
    note_retry_scheduled = crud.note_retry_scheduled

    async def note_then_fail(db: Database, attempt_id: object) -> None:
        await note_retry_scheduled(db, attempt_id)
        if not failed:
            failed.append(attempt_id)
            raise PublishError("connection lost before the ack (injected)")

    monkeypatch.setattr(crud, "note_retry_scheduled", note_then_fail)
    job_id = await request_delivery(jobs, receiver.url)

    await eventually(lambda: _recorded(jobs.db, job_id, 2), within=10)
    await asyncio.sleep(2.5)  # a second chain would have come back by now

    assert len(failed) == 1
    assert [r["status_code"] for r in await deliveries(jobs.db, job_id)] == [503, 204]
    assert len(receiver.received) == 2
