"""Login brute force: after the per-account limit every attempt is 429 with Retry-After,
even the right password, and a throttled answer reveals nothing."""

from __future__ import annotations

import httpx
import pytest
from localstack import LocalStack

from tests.security.actors import PASSWORD, register

pytestmark = pytest.mark.e2e

ACCOUNT_LIMIT = 10  # AUTH_LOGIN_ACCOUNT_LIMIT's default


def test_guessing_a_password_is_throttled(security_stack: LocalStack) -> None:
    account = register(security_stack)
    url = f"{security_stack.url('auth')}/api/auth/login"
    statuses = [
        httpx.post(url, json={"email": account.email, "password": f"guess-{n:04d}"}).status_code
        for n in range(ACCOUNT_LIMIT)
    ]
    assert statuses == [401] * ACCOUNT_LIMIT

    for password in ("guess-next", PASSWORD):
        response = httpx.post(url, json={"email": account.email, "password": password})
        assert response.status_code == 429, response.text
        assert response.json()["code"] == "rate_limited"
        retry_after = int(response.headers["Retry-After"])
        assert 0 < retry_after <= 300
        assert "accessToken" not in response.text
