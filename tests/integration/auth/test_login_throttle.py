"""Login throttling per account and per IP, shared by every replica through MongoDB."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

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


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert problem_code(response) == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= WINDOW


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
