"""Throwaway users registered over HTTP, for tests and benchmarks against a running stack."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

PASSWORD = "correct horse battery"  # throwaway users of a throwaway database


async def register_account(
    http: httpx.AsyncClient, auth_url: str = "", *, prefix: str = "user"
) -> dict[str, Any]:
    """A new user on the auth service at `auth_url` (or `http`'s base URL): the register
    answer (`user`, `accessToken`, `refreshToken`, `apiKey`)."""
    email = f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": PASSWORD, "confirmPassword": PASSWORD}
    response = await http.post(f"{auth_url}/api/auth/register", json=body)
    if response.status_code != 201:
        raise AssertionError(f"register {email}: {response.status_code} {response.text}")
    answer: dict[str, Any] = response.json()
    return answer


async def register_user(
    http: httpx.AsyncClient, auth_url: str = "", *, prefix: str = "user"
) -> tuple[str, str]:
    """A new user: (user id, access token)."""
    answer = await register_account(http, auth_url, prefix=prefix)
    return str(answer["user"]["id"]), str(answer["accessToken"])
