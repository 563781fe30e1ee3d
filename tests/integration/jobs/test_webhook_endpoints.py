"""Webhook endpoints an integrator manages (`/api/v1/webhooks/endpoints`, ADR 0012):
registration, changes, secret rotation, deliveries, redelivery and ping requests, on
real MongoDB and RabbitMQ. Delivery itself is the worker's (tests/e2e)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aio_pika.abc import AbstractRobustConnection

from git44_common.amqp import Topology
from git44_common.contracts import WebhookDeliveryRequested
from git44_common.mongo import Database
from git44_common.webhook_endpoints import live_secrets
from git44_common.webhook_secrets import open_secret
from tests.integration.jobs.support import Jobs, Users
from tests.utils.requests import sora_link

ENDPOINTS = "/api/v1/webhooks/endpoints"
HOOK = "https://hooks.example.com/git44"


async def _requests(
    connection: AbstractRobustConnection, namespace: str
) -> list[WebhookDeliveryRequested]:
    """The delivery requests waiting in the webhook queue (taken off it)."""
    found = []
    async with connection.channel() as channel:
        queue = await channel.get_queue(Topology(namespace=namespace).webhooks_queue)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            found.append(WebhookDeliveryRequested.model_validate_json(message.body))
    return found


async def test_an_endpoint_is_registered_listed_changed_and_deleted_by_key_or_token(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create()
    key = {"X-API-Key": await users.api_key(user)}
    bearer = users.bearer(user)
    created = await jobs.client.post(
        ENDPOINTS,
        json={"url": HOOK, "description": "prod", "eventTypes": ["removal.success"]},
        headers=key,
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert created.headers["location"] == f"{ENDPOINTS}/{endpoint['id']}"
    assert created.headers["cache-control"] == "no-store"
    assert endpoint["secret"].startswith("whsec_")
    assert (endpoint["url"], endpoint["eventTypes"], endpoint["enabled"]) == (
        HOOK,
        ["removal.success"],
        True,
    )
    stored = await mongo_db.webhook_endpoints.find_one({"_id": endpoint["id"]})
    assert endpoint["secret"] not in json.dumps(stored, default=str)  # encrypted at rest
    assert live_secrets(stored, jobs.context.webhook_keys, now=datetime.now(UTC)) == [
        endpoint["secret"]
    ]

    # the SPA sees the same endpoint, without its secret
    listed = await jobs.client.get(ENDPOINTS, headers=bearer)
    assert [e["id"] for e in listed.json()["data"]] == [endpoint["id"]]
    assert "secret" not in listed.json()["data"][0]
    changed = await jobs.client.patch(
        f"{ENDPOINTS}/{endpoint['id']}",
        json={"eventTypes": ["removal.processing", "removal.success"], "enabled": False},
        headers=bearer,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["eventTypes"] == ["removal.processing", "removal.success"]
    assert (changed.json()["enabled"], changed.json()["disabledReason"]) == (
        False,
        "disabled by its owner",
    )
    enabled = await jobs.client.patch(
        f"{ENDPOINTS}/{endpoint['id']}", json={"enabled": True}, headers=key
    )
    assert (enabled.json()["enabled"], enabled.json()["disabledAt"]) == (True, None)

    # another user sees nothing of it
    stranger = users.bearer(await users.create())
    for method in ("GET", "DELETE"):
        other = await jobs.client.request(method, f"{ENDPOINTS}/{endpoint['id']}", headers=stranger)
        assert other.status_code == 404
        assert other.headers["content-type"] == "application/problem+json"
    deleted = await jobs.client.delete(f"{ENDPOINTS}/{endpoint['id']}", headers=key)
    assert deleted.status_code == 204
    assert (await jobs.client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=key)).status_code == 404


async def test_bad_endpoints_get_problems_not_500s(
    start_jobs: Callable[..., Any], users: Users
) -> None:
    async with start_jobs(webhook_endpoints_per_user=2) as jobs:
        user = await users.create()
        key = {"X-API-Key": await users.api_key(user)}
        for body in (
            {"url": "http://hooks.example.com/x"},
            {"url": "https://10.0.0.5/x"},
            {"url": HOOK, "eventTypes": []},
            {"url": HOOK, "eventTypes": ["removal.exploded"]},
            {"url": HOOK, "unknown": 1},
        ):
            answer = await jobs.client.post(ENDPOINTS, json=body, headers=key)
            assert answer.status_code == 422, (body, answer.text)
            assert answer.json()["code"] == "validation_failed"
        assert (await jobs.client.post(ENDPOINTS, json={"url": HOOK})).status_code == 401
        for _ in range(2):
            assert (await jobs.client.post(ENDPOINTS, json={"url": HOOK}, headers=key)).is_success
        third = await jobs.client.post(ENDPOINTS, json={"url": HOOK}, headers=key)
        assert (third.status_code, third.json()["code"]) == (409, "webhook_endpoint_limit")
        endpoint = (await jobs.client.get(ENDPOINTS, headers=key)).json()["data"][0]["id"]
        empty = await jobs.client.patch(f"{ENDPOINTS}/{endpoint}", json={}, headers=key)
        assert empty.status_code == 422
        missing = await jobs.client.post(
            f"{ENDPOINTS}/{endpoint}/deliveries/not-an-id/redeliver", headers=key
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


async def test_a_rotation_keeps_the_old_secret_signing_for_the_overlap(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    user = await users.create()
    key = {"X-API-Key": await users.api_key(user)}
    endpoint = (await jobs.client.post(ENDPOINTS, json={"url": HOOK}, headers=key)).json()
    rotated = await jobs.client.post(f"{ENDPOINTS}/{endpoint['id']}/rotate-secret", headers=key)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret"] != endpoint["secret"]
    expires = datetime.fromisoformat(body["previousSecretExpiresAt"])
    assert timedelta(hours=23.9) < expires - datetime.now(UTC) <= timedelta(hours=24)
    stored = await mongo_db.webhook_endpoints.find_one({"_id": endpoint["id"]})
    keys = jobs.context.webhook_keys
    assert live_secrets(stored, keys, now=datetime.now(UTC)) == [
        body["secret"],
        endpoint["secret"],
    ]
    assert live_secrets(stored, keys, now=expires + timedelta(seconds=1)) == [body["secret"]]
    # a second rotation drops the first secret: at most two ever sign
    again = (
        await jobs.client.post(f"{ENDPOINTS}/{endpoint['id']}/rotate-secret", headers=key)
    ).json()
    stored = await mongo_db.webhook_endpoints.find_one({"_id": endpoint["id"]})
    assert [open_secret(s, keys) for s in stored["secrets"]] == [again["secret"], body["secret"]]


async def test_ping_and_redelivery_are_queued_for_the_worker(
    jobs: Jobs,
    users: Users,
    mongo_db: Database,
    amqp_connection: AbstractRobustConnection,
    amqp_namespace: str,
) -> None:
    user = await users.create()
    key = {"X-API-Key": await users.api_key(user)}
    endpoint = (await jobs.client.post(ENDPOINTS, json={"url": HOOK}, headers=key)).json()
    await _requests(amqp_connection, amqp_namespace)

    ping = await jobs.client.post(f"{ENDPOINTS}/{endpoint['id']}/ping", headers=key)
    assert ping.status_code == 202, ping.text
    assert ping.json()["eventType"] == "webhook.ping"
    [request] = await _requests(amqp_connection, amqp_namespace)
    assert (request.endpoint_id, request.event_type, request.job_id) == (
        endpoint["id"],
        "webhook.ping",
        None,
    )
    assert json.loads(request.body or "")["data"] == {"endpointId": endpoint["id"]}

    # an attempt the worker recorded (a 500), listed and sent again
    body = json.dumps({"type": "removal.success", "data": {}})
    await mongo_db.webhook_deliveries.insert_one(
        {
            "job_id": "j1",
            "event_id": f"evt_1:{endpoint['id']}",
            "msg_id": "evt_1",
            "endpoint_id": endpoint["id"],
            "user_id": user,
            "event_type": "removal.success",
            "body": body,
            "url": HOOK,
            "attempt": 1,
            "status_code": 500,
            "latency_ms": 12.5,
            "error": "HTTP 500",
            "next_retry_at": None,
            "attempted_at": datetime.now(UTC),
        }
    )
    listed = await jobs.client.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries", headers=key)
    [attempt] = listed.json()["data"]
    assert (attempt["webhookId"], attempt["statusCode"], attempt["attempt"]) == ("evt_1", 500, 1)
    assert "body" not in attempt
    again = await jobs.client.post(
        f"{ENDPOINTS}/{endpoint['id']}/deliveries/{attempt['id']}/redeliver", headers=key
    )
    assert again.status_code == 202, again.text
    assert again.json() == {"webhookId": "evt_1", "eventType": "removal.success"}
    [request] = await _requests(amqp_connection, amqp_namespace)
    assert (request.msg_id, request.body, request.attempt) == ("evt_1", body, 0)
    assert request.event_id.startswith(f"evt_1:{endpoint['id']}:r")

    # a disabled endpoint is not pinged
    await jobs.client.patch(f"{ENDPOINTS}/{endpoint['id']}", json={"enabled": False}, headers=key)
    refused = await jobs.client.post(f"{ENDPOINTS}/{endpoint['id']}/ping", headers=key)
    assert (refused.status_code, refused.json()["code"]) == (409, "webhook_endpoint_disabled")


async def test_a_cancel_asks_for_the_cancelled_webhook_only_when_subscribed(
    start_jobs: Callable[..., Any],
    users: Users,
    mongo_db: Database,
    amqp_connection: AbstractRobustConnection,
    amqp_namespace: str,
) -> None:
    async with start_jobs(webhook_endpoint_cache_seconds=0) as jobs:
        user = await users.create()
        key = {"X-API-Key": await users.api_key(user)}

        async def cancelled_job() -> dict[str, Any]:
            job = (
                await jobs.client.post(
                    "/api/v1/removals", json={"inputLink": sora_link()}, headers=key
                )
            ).json()
            answer = await jobs.client.post(f"/api/v1/removals/{job['id']}/cancel", headers=key)
            assert answer.status_code == 200, answer.text
            stored = await mongo_db.removal_jobs.find_one({"_id": job["id"]})
            assert stored is not None
            return stored

        await _requests(amqp_connection, amqp_namespace)
        unwatched = await cancelled_job()
        assert not unwatched.get("webhook_pending")
        assert not unwatched.get("webhook_event_id")
        assert await _requests(amqp_connection, amqp_namespace) == []

        types = ["removal.cancelled"]
        await jobs.client.post(ENDPOINTS, json={"url": HOOK, "eventTypes": types}, headers=key)
        watched = await cancelled_job()
        assert watched["webhook_pending"] is False  # asked for, and marked so
        [request] = await _requests(amqp_connection, amqp_namespace)
        assert (request.job_id, request.event_id, request.endpoint_id) == (
            watched["_id"],
            watched["webhook_event_id"],
            None,
        )
