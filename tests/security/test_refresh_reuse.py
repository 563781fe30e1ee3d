"""Refresh-token rotation through the real auth process: a replayed refresh token is
refused and ends the whole session family, including the thief's newer token."""

from __future__ import annotations

import httpx
import pytest
from localstack import LocalStack

from tests.security.actors import register

pytestmark = pytest.mark.e2e


def refresh(stack: LocalStack, token: str) -> httpx.Response:
    return httpx.post(
        f"{stack.url('auth')}/api/auth/refresh", json={"refreshToken": token}, timeout=30
    )


def test_a_reused_refresh_token_revokes_the_family(security_stack: LocalStack) -> None:
    account = register(security_stack)
    first = refresh(security_stack, account.refresh_token)
    assert first.status_code == 200, first.text
    rotated = first.json()["refreshToken"]
    assert rotated != account.refresh_token

    replay = refresh(security_stack, account.refresh_token)
    assert replay.status_code == 401
    assert replay.json()["code"] == "token_invalid"
    assert account.refresh_token not in replay.text

    # the legitimate holder's newer token died with the family
    after = refresh(security_stack, rotated)
    assert after.status_code == 401
    assert after.json()["code"] == "token_invalid"


def test_an_access_token_is_not_a_refresh_token(security_stack: LocalStack) -> None:
    account = register(security_stack)
    response = refresh(security_stack, account.access_token)
    assert response.status_code == 401
    assert account.access_token not in response.text


def test_a_logged_out_refresh_token_is_dead(security_stack: LocalStack) -> None:
    account = register(security_stack)
    base = security_stack.url("auth")
    logout = httpx.post(f"{base}/api/auth/logout", json={"refreshToken": account.refresh_token})
    assert logout.status_code == 204
    assert refresh(security_stack, account.refresh_token).status_code == 401
