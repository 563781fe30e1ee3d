"""Every admin route of the three services refuses a user's token with 403 — including
a token whose `role` claim says admin while the database says user (signed with auth's
own key, as only a leaked key could) — and answers the admin."""

from __future__ import annotations

import httpx
import pytest
from localstack import LocalStack

from tests.security.actors import Account, Signer, register
from tests.utils.requests import bearer

pytestmark = pytest.mark.e2e

ADMIN_ROUTES = [
    ("auth", "GET", "/api/admin/users", None),
    ("auth", "GET", "/api/admin/users/{user}", None),
    ("auth", "PATCH", "/api/admin/users/{user}", {"role": "admin"}),
    ("jobs-api", "GET", "/api/admin/jobs", None),
    ("jobs-api", "POST", "/api/admin/jobs/000000000000000000000000/retry", None),
    ("jobs-api", "PATCH", "/api/admin/users/{user}/quota", {"addCredits": 1000}),
    ("jobs-api", "GET", "/api/admin/stats", None),
    ("jobs-api", "DELETE", "/api/admin/result-cache?link=https://sora.chatgpt.com/p/s_x", None),
    ("jobs-api", "GET", "/api/admin/jobs/000000000000000000000000", None),
    ("jobs-api", "GET", "/api/admin/dead-letters", None),
    ("jobs-api", "POST", "/api/admin/dead-letters/replay", None),
    ("jobs-api", "POST", "/api/admin/dead-letters/000000000000000000000000/replay", None),
    ("jobs-api", "DELETE", "/api/admin/dead-letters", None),
    ("jobs-api", "DELETE", "/api/admin/dead-letters/000000000000000000000000", None),
    ("jobs-api", "GET", "/api/admin/audit-log", None),
    ("key-manager", "GET", "/api/admin/scraper-keys", None),
    ("key-manager", "POST", "/api/admin/scraper-keys", {"apiKey": "sk-sec-admin-route-test"}),
    ("key-manager", "GET", "/api/admin/scraper-keys/summary", None),
    ("key-manager", "DELETE", "/api/admin/scraper-keys/000000000000000000000000", None),
    ("key-manager", "POST", "/api/admin/scraper-keys/000000000000000000000000/reset", None),
]
IDS = [f"{service} {method} {path}" for service, method, path, _ in ADMIN_ROUTES]


@pytest.fixture(scope="module")
def user(security_stack: LocalStack) -> Account:
    return register(security_stack)


def call(
    stack: LocalStack, route: tuple[str, str, str, object], user_id: str, token: str
) -> httpx.Response:
    service, method, path, body = route
    url = f"{stack.url(service)}{path.format(user=user_id)}"
    return httpx.request(method, url, json=body, headers=bearer(token), timeout=30)


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=IDS)
def test_a_user_token_is_forbidden(
    route: tuple[str, str, str, object], security_stack: LocalStack, user: Account
) -> None:
    response = call(security_stack, route, user.id, user.access_token)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=IDS)
def test_an_admin_claim_without_the_admin_role_is_forbidden(
    route: tuple[str, str, str, object],
    security_stack: LocalStack,
    user: Account,
    signer: Signer,
) -> None:
    token = signer.mint(signer.claims(user.id, role="admin"))
    response = call(security_stack, route, user.id, token)
    assert response.status_code == 403, response.text


def test_the_user_was_not_promoted_nor_credited(
    security_stack: LocalStack, user: Account, admin_token: str
) -> None:
    me = httpx.get(f"{security_stack.url('auth')}/api/auth/me", headers=user.headers)
    assert me.json()["role"] == "user"
    quota = httpx.get(f"{security_stack.url('jobs-api')}/api/removal/quota", headers=user.headers)
    assert quota.json()["totalQuota"] == 500
