"""An unknown email costs a bcrypt check too, so response times do not reveal accounts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import httpx
import pytest

from git44_auth.core.config import AuthSettings
from tests.integration.auth.flows import WRONG_PASSWORD, login, new_email, register

ROUNDS = 10  # ~50 ms a check: large against the noise, small enough for a quick test
SAMPLES = 7


@pytest.fixture
def auth_settings(settings_factory: Callable[..., AuthSettings]) -> AuthSettings:
    return settings_factory(bcrypt_rounds=ROUNDS, login_ip_limit=100, login_account_limit=100)


async def timed_failed_login(client: httpx.AsyncClient, email: str) -> float:
    started = time.perf_counter()
    response = await login(client, email, WRONG_PASSWORD)
    assert response.status_code == 401
    return time.perf_counter() - started


async def test_unknown_email_takes_as_long_as_a_wrong_password(client: httpx.AsyncClient) -> None:
    known, unknown = new_email(), new_email()
    await register(client, known)
    wrong_password: list[float] = []
    unknown_email: list[float] = []
    for _ in range(SAMPLES):  # interleaved, so load on a shared machine hits both alike
        wrong_password.append(await timed_failed_login(client, known))
        unknown_email.append(await timed_failed_login(client, unknown))
    assert statistics.median(wrong_password) > 0.02  # the hash is really checked
    assert statistics.median(unknown_email) > 0.5 * statistics.median(wrong_password)
    assert statistics.median(unknown_email) < 2.0 * statistics.median(wrong_password)
