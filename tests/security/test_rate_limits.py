"""Limits an abuser meets, on a stack with the default limits and the gateway in front.

Registrations are counted per client address: the stack's services trust
`X-Forwarded-For` from 127.0.0.1 (where the gateway runs, as in production they trust
only the gateway), so each test plays its clients from its own documentation address
(RFC 5737) and the tests do not share a budget.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway import Gateway, start_gateway
from localstack import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, LocalStack, free_port

from git44_auth.core.config import AuthSettings
from git44_jobs.core.config import JobsSettings
from tests.security.actors import Account, register
from tests.utils.requests import bearer, sora_link
from tests.utils.stack import running_stack

REGISTRATIONS_PER_IP = AuthSettings.model_fields["register_per_ip_per_hour"].default
SUBMISSIONS_PER_USER = JobsSettings.model_fields["user_submissions_per_minute"].default


@pytest.fixture(scope="module")
def limits_stack(
    mongo_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    """Every limit at its default (the test stacks raise registrations per IP)."""
    with running_stack(
        mongo_url=mongo_url,
        amqp_url=amqp_url,
        data_dir=tmp_path_factory.mktemp("limits-stack"),
        tag="l",
        extra_env={"AUTH_REGISTER_PER_IP_PER_HOUR": str(REGISTRATIONS_PER_IP)},
    ) as local:
        yield local


@contextmanager
def _gateway(stack: LocalStack, run_dir: Path, **options: Any) -> Iterator[Gateway]:
    gateway = start_gateway(stack.ports, run_dir=run_dir, listen_port=free_port(), **options)
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def edge(
    limits_stack: LocalStack, nginx: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """The gateway as deployed by default: it trusts no proxy."""
    with _gateway(limits_stack, tmp_path_factory.mktemp("edge")) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def edge_behind_proxy(
    limits_stack: LocalStack, nginx: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """The gateway behind a TLS proxy on 127.0.0.1 (GATEWAY_TRUSTED_PROXIES)."""
    with _gateway(
        limits_stack, tmp_path_factory.mktemp("edge-proxied"), trusted_proxies=["127.0.0.1"]
    ) as gateway:
        yield gateway


def _register_body() -> dict[str, str]:
    email = f"flood-{uuid.uuid4().hex[:10]}@example.com"
    return {"email": email, "password": "flood-Pa55word!", "confirmPassword": "flood-Pa55word!"}


def _windows_spanned(started: float, window_seconds: int) -> int:
    """Fixed windows touched since `started`: a run across a boundary may use two."""
    return int(time.time()) // window_seconds - int(started) // window_seconds + 1


def _assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1


async def _flood_registrations(
    url: str, count: int, headers: dict[str, str] | None = None
) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
        return await asyncio.gather(
            *(
                http.post(f"{url}/api/auth/register", json=_register_body(), headers=headers)
                for _ in range(count)
            )
        )


async def test_a_registration_flood_from_one_address_creates_the_limit_and_no_more(
    edge: Gateway,
) -> None:
    # Through the gateway, which trusts no proxy: every forged X-Forwarded-For is
    # ignored, so the flood is counted against the one real address (127.0.0.1).
    started = time.time()
    async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
        responses = await asyncio.gather(
            *(
                http.post(
                    f"{edge.url}/api/auth/register",
                    json=_register_body(),
                    headers={"X-Forwarded-For": f"198.51.100.{n}"},
                )
                for n in range(3 * REGISTRATIONS_PER_IP)
            )
        )
    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) == {201, 429}, statuses
    windows = _windows_spanned(started, 3600)
    assert statuses[201] == REGISTRATIONS_PER_IP * windows or (
        windows > 1 and statuses[201] <= REGISTRATIONS_PER_IP * windows
    )
    refused = [response for response in responses if response.status_code == 429]
    for response in refused:
        _assert_rate_limited(response)
        assert response.headers["ratelimit-policy"].startswith('"register-ip"')
    created = [
        response.json()["user"]["id"] for response in responses if response.status_code == 201
    ]
    assert len(set(created)) == statuses[201]  # one account per 201, none without one


async def test_a_trusted_proxy_names_the_client_and_the_limit_follows_it(
    edge_behind_proxy: Gateway,
) -> None:
    client, neighbour = "203.0.113.7", "203.0.113.8"
    started = time.time()
    flood = await _flood_registrations(
        edge_behind_proxy.url, REGISTRATIONS_PER_IP + 3, {"X-Forwarded-For": client}
    )
    statuses = Counter(response.status_code for response in flood)
    if _windows_spanned(started, 3600) == 1:
        assert statuses == {201: REGISTRATIONS_PER_IP, 429: 3}
    # the client's neighbour behind the same proxy is not locked out by it
    (other,) = await _flood_registrations(
        edge_behind_proxy.url, 1, {"X-Forwarded-For": f"{client}, {neighbour}"}
    )
    assert other.status_code == 201, other.text


def test_the_gateway_answers_its_own_limit_with_a_429_problem(
    limits_stack: LocalStack, nginx: str, tmp_path: Path
) -> None:
    overrides = {"GATEWAY_REQUESTS_PER_SECOND": "1", "GATEWAY_REQUEST_BURST": "3"}
    origin = "http://localhost:5173"
    with (
        _gateway(limits_stack, tmp_path, overrides=overrides, cors_origins=[origin]) as gateway,
        httpx.Client(base_url=gateway.url, trust_env=False, timeout=10) as http,
    ):
        answers = [http.get("/api/removal/quota", headers={"Origin": origin}) for _ in range(10)]
    statuses = Counter(response.status_code for response in answers)
    assert statuses[401] >= 3, statuses  # the burst passed
    assert statuses[429] >= 1, statuses  # then the gateway refused
    assert 503 not in statuses
    refused = next(response for response in answers if response.status_code == 429)
    _assert_rate_limited(refused)
    assert refused.headers["access-control-allow-origin"] == origin
    exposed = refused.headers["access-control-expose-headers"]
    assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= {
        h.strip() for h in exposed.split(",")
    }


def _admin_token(stack: LocalStack) -> str:
    credentials = {"email": DEV_ADMIN_EMAIL, "password": DEV_ADMIN_PASSWORD}
    response = httpx.post(f"{stack.url('auth')}/api/auth/login", json=credentials, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["accessToken"])


def _second_api_key(stack: LocalStack, account: Account) -> str:
    response = httpx.post(
        f"{stack.url('auth')}/api/auth/api-keys",
        json={"name": "second"},
        headers=account.headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


def _quota(stack: LocalStack, account: Account) -> dict[str, Any]:
    response = httpx.get(
        f"{stack.url('jobs-api')}/api/removal/quota", headers=account.headers, timeout=30
    )
    assert response.status_code == 200, response.text
    quota: dict[str, Any] = response.json()
    return quota


async def test_five_hundred_submissions_over_two_keys_and_the_spa_stop_at_the_user_limit(
    limits_stack: LocalStack,
) -> None:
    account = register(limits_stack, client_ip="192.0.2.10")
    admin = bearer(_admin_token(limits_stack))
    raised = httpx.patch(  # noqa: ASYNC210 (setup before the flood)
        f"{limits_stack.url('jobs-api')}/api/admin/users/{account.id}/quota",
        json={"dailyLimit": 1000},
        headers=admin,
        timeout=30,
    )
    assert raised.status_code == 200, raised.text
    before = _quota(limits_stack, account)
    keys = [account.api_key, _second_api_key(limits_stack, account)]
    jobs_url = limits_stack.url("jobs-api")

    async def submit(http: httpx.AsyncClient, n: int) -> httpx.Response:
        """As a careful client submits: with an Idempotency-Key, so a request whose
        connection dropped (a keep-alive race under this load) can be sent again."""
        body = {"inputLink": sora_link(f"{n:04d}{uuid.uuid4().hex[:12]}")}
        if n % 3 == 2:  # the SPA
            url, headers = f"{jobs_url}/api/removal", dict(account.headers)
        else:  # one of the two API keys
            url, headers = f"{jobs_url}/api/v1/removals", {"X-API-Key": keys[n % 3]}
        headers["Idempotency-Key"] = uuid.uuid4().hex
        for _ in range(3):
            try:
                return await http.post(url, json=body, headers=headers)
            except httpx.TransportError:
                continue
        return await http.post(url, json=body, headers=headers)

    started = time.time()
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(timeout=120, trust_env=False, limits=limits) as http:
        responses = await asyncio.gather(*(submit(http, n) for n in range(500)))
    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {202, 429}, statuses  # no 5xx, nothing else
    accepted = statuses[202]
    assert 0 < accepted <= SUBMISSIONS_PER_USER * _windows_spanned(started, 60)
    for response in responses:
        assert "ratelimit-policy" in response.headers
        assert "ratelimit" in response.headers
        if response.status_code == 429:
            _assert_rate_limited(response)
    # every accepted submission charged exactly once, and only those
    after = _quota(limits_stack, account)
    assert before["remainingQuota"] - after["remainingQuota"] == accepted
    assert after["dailyUsed"] - before["dailyUsed"] == accepted
    job_ids = {response.json()["id"] for response in responses if response.status_code == 202}
    assert len(job_ids) == accepted
