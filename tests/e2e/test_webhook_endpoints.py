"""Registered webhook endpoints across real processes (ADR 0012): the services, the
simulator (upstream and SMTP sink) and receivers in this test, which check every
Standard Webhooks signature by hand (an independent implementation of the spec, not
the library the worker signs with) and with the `standardwebhooks` package.

Retries are 1 s apart and an endpoint failing for 1.5 s is disabled (5 days in
production), so the auto-disable is seen in seconds."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from localstack import LocalStack
from standardwebhooks import Webhook

from git44_sim.client import SimControl
from git44_sim.models import MailPublic
from tests.utils.accounts import register_account
from tests.utils.receiver import Receiver, serving_receiver
from tests.utils.stack import LOCAL_WEBHOOKS, WEBHOOK_SIM_ARGS, stack_fixture
from tests.utils.waiting import eventually

pytestmark = pytest.mark.e2e

ENDPOINTS = "/api/v1/webhooks/endpoints"
DISABLED_SUBJECT = "A webhook endpoint of yours was disabled"

stack = stack_fixture(
    "stack",
    scope="module",
    tag="we",
    sim_args=WEBHOOK_SIM_ARGS,
    extra_env={
        **LOCAL_WEBHOOKS,
        "GIT44_ENV": "test",
        "AUTH_BCRYPT_ROUNDS": "4",
        "WORKER_WEBHOOK_RETRY_DELAYS_SECONDS": "[1, 1, 1, 1]",
        "WORKER_WEBHOOK_DISABLE_AFTER_SECONDS": "1.5",
        "WORKER_WEBHOOK_ENDPOINT_CACHE_SECONDS": "0",
        "JOBS_WEBHOOK_ENDPOINT_CACHE_SECONDS": "0",
    },
)


def signatures_by_hand(secret: str, headers: dict[str, str], body: bytes) -> int:
    """How many `v1,` entries of `webhook-signature` `secret` verifies: base64 of
    HMAC-SHA256(key, "<id>.<timestamp>.<body>"), timestamp within 5 minutes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) < 300, "timestamp outside the tolerance"
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    entries = [entry.split(",", 1) for entry in headers["webhook-signature"].split(" ")]
    return sum(v == "v1" and hmac.compare_digest(s, expected) for v, s in entries)


def verified(secret: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The body, once both verifiers accept it."""
    assert signatures_by_hand(secret, headers, body) == 1
    payload: dict[str, Any] = Webhook(secret).verify(body, headers)
    return payload


async def until(check: Callable[[], bool], *, within: float = 30, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


class Account:
    def __init__(self, http: httpx.AsyncClient, stack: LocalStack, registered: dict[str, Any]):
        self.http = http
        self.jobs = stack.url("jobs-api")
        self.email = str(registered["user"]["email"])
        self.key = {"X-API-Key": registered["apiKey"]["key"]}
        self.bearer = {"Authorization": f"Bearer {registered['accessToken']}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, f"{self.jobs}{path}", **kwargs)

    async def endpoint(self, url: str, types: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"url": url} if types is None else {"url": url, "eventTypes": types}
        created = await self.call("POST", ENDPOINTS, json=body, headers=self.key)
        assert created.status_code == 201, created.text
        endpoint: dict[str, Any] = created.json()
        return endpoint

    async def submit(self) -> str:
        link = f"https://sora.chatgpt.com/p/s_we{uuid.uuid4().hex[:16]}"  # never cached
        submitted = await self.call(
            "POST", "/api/v1/removals", json={"inputLink": link}, headers=self.key
        )
        assert submitted.status_code == 202, submitted.text
        return str(submitted.json()["id"])

    async def deliveries(self, endpoint_id: str) -> list[dict[str, Any]]:
        listed = await self.call("GET", f"{ENDPOINTS}/{endpoint_id}/deliveries", headers=self.key)
        assert listed.status_code == 200, listed.text
        found: list[dict[str, Any]] = listed.json()["data"]
        return found


async def new_account(http: httpx.AsyncClient, stack: LocalStack) -> Account:
    return Account(http, stack, await register_account(http, stack.url("auth"), prefix="we"))


async def test_a_subscription_receives_exactly_its_event_types_signed(stack: LocalStack) -> None:
    async with (
        serving_receiver("/hooks/progress", otherwise=204) as hooks,
        serving_receiver("/hooks/all", otherwise=204) as everything,
        httpx.AsyncClient(timeout=30, trust_env=False) as http,
    ):
        account = await new_account(http, stack)
        wanted = await account.endpoint(hooks.url, ["removal.processing", "removal.success"])
        every = await account.endpoint(everything.url)  # all types, by default
        job_id = await account.submit()
        await until(lambda: len(hooks.received) >= 2, what="processing and success")
        await until(lambda: len(everything.received) >= 3, what="queued, processing, success")
        await asyncio.sleep(1.5)  # anything more would have come by now

    bodies = [verified(wanted["secret"], headers, body) for headers, body in hooks.received]
    assert sorted(b["type"] for b in bodies) == ["removal.processing", "removal.success"]
    assert all(b["data"]["id"] == job_id for b in bodies)
    by_type = {b["type"]: b for b in bodies}
    assert by_type["removal.processing"]["data"]["status"] == "processing"
    assert by_type["removal.success"]["data"]["status"] == "success"
    assert ".mp4?expires=" in by_type["removal.success"]["data"]["outputLink"]
    assert len({headers["webhook-id"] for headers, _ in hooks.received}) == 2

    all_types = [verified(every["secret"], h, b)["type"] for h, b in everything.received]
    assert sorted(all_types) == ["removal.processing", "removal.queued", "removal.success"]
    # one event, one webhook-id, whichever endpoint it goes to
    ids = {json.loads(b)["type"]: h["webhook-id"] for h, b in everything.received}
    assert ids["removal.success"] == by_type_ids(hooks)["removal.success"]


def by_type_ids(hooks: Receiver) -> dict[str, str]:
    return {json.loads(body)["type"]: headers["webhook-id"] for headers, body in hooks.received}


async def test_during_a_rotation_either_secret_verifies(stack: LocalStack) -> None:
    async with (
        serving_receiver("/hooks/rotating", otherwise=204) as hooks,
        httpx.AsyncClient(timeout=30, trust_env=False) as http,
    ):
        account = await new_account(http, stack)
        endpoint = await account.endpoint(hooks.url, ["removal.success"])
        rotated = await account.call(
            "POST", f"{ENDPOINTS}/{endpoint['id']}/rotate-secret", headers=account.bearer
        )
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["secret"]
        job_id = await account.submit()
        pinged = await account.call(
            "POST", f"{ENDPOINTS}/{endpoint['id']}/ping", headers=account.key
        )
        assert pinged.status_code == 202, pinged.text
        await until(lambda: len(hooks.received) >= 2, what="the ping and the success")

    for headers, body in hooks.received:
        assert len(headers["webhook-signature"].split(" ")) == 2  # v1,<new> v1,<old>
        old = verified(endpoint["secret"], headers, body)  # a receiver not switched yet
        new = verified(new_secret, headers, body)  # one that switched
        assert old == new
    types = {json.loads(body)["type"]: json.loads(body) for _, body in hooks.received}
    assert types["webhook.ping"]["data"] == {"endpointId": endpoint["id"]}
    assert types["removal.success"]["data"]["id"] == job_id


async def test_a_500_is_listed_with_its_attempts_and_can_be_redelivered(
    stack: LocalStack,
) -> None:
    async with (
        serving_receiver("/hooks/flaky", statuses=[500], otherwise=200) as hooks,
        httpx.AsyncClient(timeout=30, trust_env=False) as http,
    ):
        account = await new_account(http, stack)
        endpoint = await account.endpoint(hooks.url, ["removal.success"])
        job_id = await account.submit()
        await until(lambda: len(hooks.received) >= 2, what="the 500 and its retry")
        deliveries = await eventually(
            lambda: _when(account.deliveries(endpoint["id"]), lambda d: len(d) >= 2), within=10
        )
        assert [(d["attempt"], d["statusCode"]) for d in reversed(deliveries)] == [
            (1, 500),
            (2, 200),
        ]
        failed = deliveries[-1]
        assert (failed["jobId"], failed["eventType"], failed["error"]) == (
            job_id,
            "removal.success",
            "HTTP 500",
        )
        assert failed["latencyMs"] >= 0
        assert failed["nextRetryAt"] is not None
        assert deliveries[0]["nextRetryAt"] is None

        again = await account.call(
            "POST",
            f"{ENDPOINTS}/{endpoint['id']}/deliveries/{failed['id']}/redeliver",
            headers=account.key,
        )
        assert again.status_code == 202, again.text
        await until(lambda: len(hooks.received) >= 3, what="the redelivery")
        listed = await eventually(
            lambda: _when(account.deliveries(endpoint["id"]), lambda d: len(d) >= 3), within=10
        )

    (_, first_body), _, (headers, body) = hooks.received
    assert body == first_body  # the same event, byte for byte
    assert headers["webhook-id"] == again.json()["webhookId"] == failed["webhookId"]
    verified(endpoint["secret"], headers, body)
    assert (listed[0]["attempt"], listed[0]["statusCode"]) == (1, 200)


async def test_an_endpoint_failing_too_long_is_disabled_and_its_owner_mailed(
    stack: LocalStack,
) -> None:
    async with (
        serving_receiver("/hooks/dark", otherwise=500) as hooks,
        httpx.AsyncClient(timeout=30, trust_env=False) as http,
    ):
        account = await new_account(http, stack)
        endpoint = await account.endpoint(hooks.url)
        await account.call("POST", f"{ENDPOINTS}/{endpoint['id']}/ping", headers=account.key)

        async def disabled() -> dict[str, Any] | None:
            read = await account.call("GET", f"{ENDPOINTS}/{endpoint['id']}", headers=account.key)
            body: dict[str, Any] = read.json()
            return body if not body["enabled"] else None

        state = await eventually(disabled, within=30)
        assert "every delivery failed" in state["disabledReason"]
        tried = len(hooks.received)
        assert tried >= 2
        await asyncio.sleep(2.5)  # the retries still queued send nothing more
        assert len(hooks.received) == tried
        pinged = await account.call(
            "POST", f"{ENDPOINTS}/{endpoint['id']}/ping", headers=account.key
        )
        assert (pinged.status_code, pinged.json()["code"]) == (409, "webhook_endpoint_disabled")

    async with SimControl(stack.url("sim")) as sim:

        async def mailed() -> list[MailPublic]:
            found = await sim.list_mail(to=account.email)
            return [mail for mail in found if mail.subject == DISABLED_SUBJECT]

        [mail] = await eventually(mailed, within=20)
    assert mail.text is not None
    assert hooks.url in mail.text


async def _when(
    read: Any, ready: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]] | None:
    found: list[dict[str, Any]] = await read
    return found if ready(found) else None


async def test_a_job_waiting_for_another_with_its_link_sends_no_event_twice(
    stack: LocalStack,
) -> None:
    """Two jobs of one link: the second waits for the first (single-flight), going back
    to `queued` and being claimed again; its subscriber hears no news of that."""
    async with (
        serving_receiver("/hooks/twins", otherwise=204) as hooks,
        httpx.AsyncClient(timeout=30, trust_env=False) as http,
    ):
        account = await new_account(http, stack)
        endpoint = await account.endpoint(hooks.url)
        link = f"https://sora.chatgpt.com/p/s_tw{uuid.uuid4().hex[:16]}"
        body = {"inputLink": link}
        first, second = [
            (await account.call("POST", "/api/v1/removals", json=body, headers=account.key))
            for _ in range(2)
        ]
        ids = {first.json()["id"], second.json()["id"]}

        def both_succeeded() -> bool:
            done = [json.loads(b) for _, b in hooks.received]
            return {p["data"]["id"] for p in done if p["type"] == "removal.success"} == ids

        await until(both_succeeded, what="both successes")
        await asyncio.sleep(1.5)

    per_job: dict[str, list[str]] = {job_id: [] for job_id in ids}
    for headers, raw in hooks.received:
        payload = verified(endpoint["secret"], headers, raw)
        per_job[payload["data"]["id"]].append(payload["type"])
    for job_id, types in per_job.items():
        assert len(types) == len(set(types)), (job_id, types)
        assert set(types) <= {"removal.queued", "removal.processing", "removal.success"}
        assert {"removal.queued", "removal.success"} <= set(types), (job_id, types)
