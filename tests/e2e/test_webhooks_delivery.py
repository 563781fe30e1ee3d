"""Webhooks across real processes: a Dev API job with a `callbackUrl` is delivered to a
receiver in this test, which verifies the Standard Webhooks signature by hand (an
independent implementation of the spec, not the library the worker signs with)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from localstack import LocalStack

from git44_common.mongo import create_mongo_client
from tests.utils.accounts import PASSWORD, register_account
from tests.utils.receiver import Receiver, serving_receiver
from tests.utils.stack import LOCAL_WEBHOOKS, WEBHOOK_SIM_ARGS, stack_fixture

pytestmark = pytest.mark.e2e


stack = stack_fixture(
    "stack",
    scope="module",
    tag="e2e",
    sim_args=WEBHOOK_SIM_ARGS,
    extra_env={
        **LOCAL_WEBHOOKS,
        "GIT44_ENV": "test",
        "AUTH_BCRYPT_ROUNDS": "4",
        "WORKER_WEBHOOK_RETRY_DELAYS_SECONDS": "[1, 1, 1, 1, 1]",
    },
)


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes) -> None:
    """Standard Webhooks, by hand: v1 = base64(HMAC-SHA256(key, id.timestamp.body))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) < 300, "timestamp outside the tolerance"
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    signatures = [s.split(",", 1) for s in headers["webhook-signature"].split(" ")]
    assert any(v == "v1" and hmac.compare_digest(s, expected) for v, s in signatures)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving_receiver("/hooks/git44", statuses=[503], otherwise=200) as hooks:
        yield hooks


async def test_a_finished_job_is_delivered_to_its_callback_signed_per_the_spec(
    stack: LocalStack, receiver: Receiver
) -> None:
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        registered = await register_account(http, stack.url("auth"), prefix="hook")
        api = {"X-API-Key": registered["apiKey"]["key"]}
        submitted = await http.post(
            f"{stack.url('jobs-api')}/api/v1/removals",
            json={"inputLink": "https://sora.chatgpt.com/p/s_hook1", "callbackUrl": receiver.url},
            headers=api,
        )
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        secret = await http.get(f"{stack.url('jobs-api')}/api/v1/webhook-secret", headers=api)
        assert secret.status_code == 200, secret.text

        deadline = time.monotonic() + 60
        while len(receiver.received) < 2:  # the first answer is a 503: retried
            assert time.monotonic() < deadline, "no retried webhook arrived"
            await asyncio.sleep(0.2)

    (first_headers, _), (headers, body) = receiver.received
    verify_standard_webhook(secret.json()["secret"], headers, body)
    assert headers["webhook-id"] == first_headers["webhook-id"]
    payload = json.loads(body)
    assert payload["type"] == "removal.success"
    assert payload["data"]["id"] == job_id
    assert payload["data"]["status"] == "success"
    assert ".mp4?expires=" in payload["data"]["outputLink"]

    assert stack.mongodb_url is not None
    client = create_mongo_client(stack.mongodb_url, app_name="e2e-webhooks")
    try:
        db = client[stack.mongodb_db]
        records = await db["webhook_deliveries"].find({"job_id": job_id}).sort("attempt").to_list()
    finally:
        await client.close()
    assert [(r["attempt"], r["status_code"]) for r in records] == [(1, 503), (2, 200)]
    assert all(r["url"] == receiver.url and r["latency_ms"] >= 0 for r in records)


async def delivery_attempts(stack: LocalStack, user_id: str) -> int:
    assert stack.mongodb_url is not None
    client = create_mongo_client(stack.mongodb_url, app_name="e2e-webhooks")
    try:
        return await client[stack.mongodb_db]["webhook_deliveries"].count_documents(
            {"user_id": user_id}
        )
    finally:
        await client.close()


async def test_a_users_deliveries_are_in_their_export_and_go_with_their_account(
    stack: LocalStack,
) -> None:
    async with (
        serving_receiver("/hooks/leaving", statuses=[500]) as hooks,
        httpx.AsyncClient(timeout=30, trust_env=False) as http,
    ):
        registered = await register_account(http, stack.url("auth"), prefix="leaving")
        user_id = registered["user"]["id"]
        token = {"Authorization": f"Bearer {registered['accessToken']}"}
        submitted = await http.post(
            f"{stack.url('jobs-api')}/api/v1/removals",
            json={"inputLink": "https://sora.chatgpt.com/p/s_leaving1", "callbackUrl": hooks.url},
            headers={"X-API-Key": registered["apiKey"]["key"]},
        )
        assert submitted.status_code == 202, submitted.text
        deadline = time.monotonic() + 60
        while await delivery_attempts(stack, user_id) < 2:  # a 500, then the retry's 204
            assert time.monotonic() < deadline, "the webhook was not delivered"
            await asyncio.sleep(0.2)

        export = await http.get(f"{stack.url('auth')}/api/auth/me/export", headers=token)
        assert export.status_code == 200, export.text
        deliveries = export.json()["removal"]["webhookDeliveries"]
        assert [(d["jobId"], d["attempt"], d["statusCode"]) for d in deliveries] == [
            (submitted.json()["id"], 2, 204),
            (submitted.json()["id"], 1, 500),
        ]
        assert {d["url"] for d in deliveries} == {hooks.url}

        deleted = await http.request(
            "DELETE", f"{stack.url('auth')}/api/auth/me", headers=token,
            json={"currentPassword": PASSWORD},
        )  # fmt: skip
        assert deleted.status_code == 204, deleted.text
        deadline = time.monotonic() + 30
        while await delivery_attempts(stack, user_id):
            assert time.monotonic() < deadline, "the deliveries outlived the account"
            await asyncio.sleep(0.5)
