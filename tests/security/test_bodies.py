"""Oversized bodies are refused with a 413 problem on every service, announced or not."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from localstack import LocalStack

from tests.security.actors import Account, register
from tests.utils.requests import bearer

pytestmark = pytest.mark.e2e

BIG = 2 * 1024 * 1024  # above every service's body limit

TARGETS = [
    ("auth", "/api/auth/register", "none"),
    ("auth", "/api/auth/login", "none"),
    ("jobs-api", "/api/removal", "user"),
    ("jobs-api", "/api/v1/removals/batch", "api-key"),
    ("key-manager", "/api/admin/scraper-keys", "admin"),
]


@pytest.fixture(scope="module")
def account(security_stack: LocalStack) -> Account:
    return register(security_stack)


def headers(kind: str, account: Account, admin_token: str) -> dict[str, str]:
    base = {"Content-Type": "application/json"}
    if kind == "user":
        return {**base, **account.headers}
    if kind == "api-key":
        return {**base, "X-API-Key": account.api_key}
    if kind == "admin":
        return {**base, **bearer(admin_token)}
    return base


def big_json() -> bytes:
    return b'{"email": "' + b"a" * BIG + b'"}'


def chunks() -> Iterator[bytes]:
    """The same body with no Content-Length (chunked): the limit must hold while reading."""
    body = big_json()
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


@pytest.mark.parametrize(("service", "path", "kind"), TARGETS)
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_oversized_body_is_413(
    framing: str,
    service: str,
    path: str,
    kind: str,
    security_stack: LocalStack,
    account: Account,
    admin_token: str,
) -> None:
    content = big_json() if framing == "content-length" else chunks()
    try:
        response = httpx.post(
            f"{security_stack.url(service)}{path}",
            content=content,
            headers=headers(kind, account, admin_token),
            timeout=30,
        )
    except httpx.WriteError:  # the server answered and closed before the body ended
        pytest.fail("the connection was dropped instead of a 413 answer")
    assert response.status_code == 413, response.text[:300]
    assert response.json()["code"] == "payload_too_large"
