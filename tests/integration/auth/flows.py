"""Helpers for the auth integration tests: accounts, tokens, and the secrets they used."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

# Every password the auth tests use; none may ever appear in a log line.
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "tr0ub4dor & 3 more words"
WRONG_PASSWORD = "definitely-not-it-42"
ADMIN_PASSWORD = "bootstrap-admin-pass-7"
TEST_PASSWORDS = (PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, ADMIN_PASSWORD)

# a signed JWT: two base64url JSON objects (each opens with `{"`, "eyJ") and a signature;
# loose enough for any real token, tight enough that random ids in debug logs don't match
JWT_SHAPE = re.compile(r"(?<![\w-])eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,}")
API_KEY_SHAPE = re.compile(r"g44_[\w-]{20,}")


def new_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register_raw(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD
) -> httpx.Response:
    """The response to a registration, whatever it is."""
    return await client.post(
        "/api/auth/register",
        json={"email": email or new_email(), "password": password, "confirmPassword": password},
    )


async def register(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD
) -> dict[str, Any]:
    response = await register_raw(client, email, password)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": password})


def problem_code(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json")
    code: str = response.json()["code"]
    return code


def leaked_secrets(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    """Passwords, tokens and API keys found in `text` (shapes plus the known values)."""
    found = [p for p in (*TEST_PASSWORDS, *extra) if p and p in text]
    found += JWT_SHAPE.findall(text) + API_KEY_SHAPE.findall(text)
    return found


def link_token(text: str | None, path: str) -> str:
    """The `token` of the SPA link to `path` (`/verify-email`, `/reset-password`) in a
    mail's text part."""
    assert text is not None
    found = re.search(rf"https?://\S+{re.escape(path)}\?token=([\w-]+)", text)
    assert found is not None, f"no {path} link in the mail"
    return found.group(1)
