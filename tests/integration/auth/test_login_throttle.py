"""Login throttling per account and per IP, shared by every replica through MongoDB."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from git44_auth.core.config import AuthSettings
from tests.integration.auth.conftest import asgi_client
from tests.integration.auth.flows import (
    WRONG_PASSWORD,
    login,
    new_email,
    problem_code,
    register,
    register_raw,
)

ACCOUNT_LIMIT = 3
IP_LIMIT = 6
WINDOW = 300


@pytest.fixture
def auth_settings(settings_factory: Callable[..., AuthSettings]) -> AuthSettings:
    return settings_factory(
        login_account_limit=ACCOUNT_LIMIT,
        login_ip_limit=IP_LIMIT,
        login_window_seconds=WINDOW,
    )


def assert_rate_limited(response: httpx.Response, *, window: int = WINDOW) -> None:
    assert response.status_code == 429
    assert problem_code(response) == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= window
    assert response.headers["RateLimit"].startswith('"')  # the exceeded limit's state


async def test_an_account_is_throttled_after_repeated_failures(auth_app: FastAPI) -> None:
    email = new_email()
    async with asgi_client(auth_app, client_ip="10.0.0.1") as client:
        await register(client, email)
        for _ in range(ACCOUNT_LIMIT):
            assert (await login(client, email, WRONG_PASSWORD)).status_code == 401
    # from another address too, and even with the right password
    async with asgi_client(auth_app, client_ip="10.0.0.2") as elsewhere:
        assert_rate_limited(await login(elsewhere, email))


async def test_a_successful_login_clears_the_account_counter(client: httpx.AsyncClient) -> None:
    email = new_email()
    await register(client, email)
    for _ in range(ACCOUNT_LIMIT - 1):
        assert (await login(client, email, WRONG_PASSWORD)).status_code == 401
    assert (await login(client, email)).status_code == 200
    for _ in range(ACCOUNT_LIMIT - 1):
        assert (await login(client, email, WRONG_PASSWORD)).status_code == 401


async def test_an_ip_is_throttled_across_accounts(auth_app: FastAPI) -> None:
    async with asgi_client(auth_app, client_ip="10.0.0.3") as client:
        for _ in range(IP_LIMIT):
            assert (await login(client, new_email(), WRONG_PASSWORD)).status_code == 401
        assert_rate_limited(await login(client, new_email(), WRONG_PASSWORD))
    async with asgi_client(auth_app, client_ip="10.0.0.4") as other:
        assert (await login(other, new_email(), WRONG_PASSWORD)).status_code == 401


async def test_replicas_share_the_counters(
    auth_app: FastAPI,
    auth_settings: AuthSettings,
    run_app: Callable[[AuthSettings], AbstractAsyncContextManager[httpx.AsyncClient]],
) -> None:
    email = new_email()
    async with (
        asgi_client(auth_app, client_ip="10.0.0.5") as first,
        run_app(auth_settings) as second,
    ):
        await register(first, email)
        replicas = [first, second, first]
        for replica in replicas[:ACCOUNT_LIMIT]:
            assert (await login(replica, email, WRONG_PASSWORD)).status_code == 401
        assert_rate_limited(await login(second, email, WRONG_PASSWORD))


async def test_a_successful_login_gives_its_ip_count_back(auth_app: FastAPI) -> None:
    """An office behind one address is not locked out by its own users signing in."""
    async with asgi_client(auth_app, client_ip="10.0.0.6") as office:
        emails = [new_email() for _ in range(IP_LIMIT + 3)]
        for email in emails:
            await register(office, email)
        for email in emails:  # more successful logins than the IP limit
            response = await login(office, email)
            assert response.status_code == 200, response.text
            assert response.headers["RateLimit"].startswith('"login-')


async def test_registrations_are_limited_per_ip_and_in_all(
    run_app: Callable[[AuthSettings], AbstractAsyncContextManager[httpx.AsyncClient]],
    settings_factory: Callable[..., AuthSettings],
    mongo_db: Any,
) -> None:
    settings = settings_factory(register_per_ip_per_hour=3, register_global_per_hour=5)
    async with run_app(settings) as local:
        statuses = [(await register_raw(local, new_email())).status_code for _ in range(4)]
        assert statuses == [201, 201, 201, 429]
        refused = await register_raw(local, new_email())
        assert_rate_limited(refused, window=3600)
        assert refused.json()["policy"] == "register-ip"
        assert refused.headers["RateLimit-Policy"] == '"register-ip";q=3;w=3600'
    assert await mongo_db["users"].count_documents({"role": "user"}) == 3
    # another address may still register, until the whole service's hourly limit
    async with run_app(settings, client_ip="10.0.0.7") as other:
        assert [(await register_raw(other, new_email())).status_code for _ in range(3)] == [
            201, 201, 429,
        ]  # fmt: skip
        assert (await register_raw(other, new_email())).json()["policy"] in {
            "registrations", "register-ip",
        }  # fmt: skip
    assert await mongo_db["users"].count_documents({"role": "user"}) == 5


async def test_password_change_attempts_are_limited_per_user(
    run_app: Callable[[AuthSettings], AbstractAsyncContextManager[httpx.AsyncClient]],
    settings_factory: Callable[..., AuthSettings],
) -> None:
    async with run_app(settings_factory(password_change_per_user=2)) as client:
        registered = await register(client, new_email())
        headers = {"Authorization": f"Bearer {registered['accessToken']}"}
        wrong = {"currentPassword": WRONG_PASSWORD, "newPassword": "n3w-Passw0rd-1",
                 "confirmPassword": "n3w-Passw0rd-1"}  # fmt: skip
        first = await client.post("/api/auth/password", json=wrong, headers=headers)
        assert first.status_code == 401
        assert first.headers["RateLimit"].startswith('"password-change";r=1;t=')
        assert (
            await client.post("/api/auth/password", json=wrong, headers=headers)
        ).status_code == 401
        refused = await client.post("/api/auth/password", json=wrong, headers=headers)
        assert_rate_limited(refused, window=900)
        assert refused.json()["policy"] == "password-change"
