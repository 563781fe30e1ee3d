"""Throwaway users registered over HTTP, for tests and benchmarks against a running stack."""

from __future__ import annotations

import uuid

import httpx

PASSWORD = "correct horse battery"  # throwaway users of a throwaway database


async def register_user(
    http: httpx.AsyncClient, auth_url: str = "", *, prefix: str = "user"
) -> tuple[str, str]:
    """A new user on the auth service at `auth_url` (or `http`'s base URL):
    (user id, access token)."""
    email = f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": PASSWORD, "confirmPassword": PASSWORD}
    response = await http.post(f"{auth_url}/api/auth/register", json=body)
    if response.status_code != 201:
        raise AssertionError(f"register {email}: {response.status_code} {response.text}")
    data = response.json()
    return str(data["user"]["id"]), str(data["accessToken"])
