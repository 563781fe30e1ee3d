"""Planted secrets — a password, access and refresh tokens, an API key and a ScraperAPI
key added through key-manager's admin API — are pushed through success and error paths
of every service, then looked for in every error body and every service's log file."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest
from localstack import DEV_ADMIN_PASSWORD, LocalStack

from tests.security.actors import Account, register, submit
from tests.utils.requests import bearer

pytestmark = pytest.mark.e2e

# header and payload are base64url JSON objects ("eyJ…"); the signature may be cut off
JWT_SHAPE = re.compile(r"(?<![\w-])eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*")
API_KEY_SHAPE = re.compile(r"g44_[\w-]{20,}")
SERVICE_LOGS = ("auth", "jobs-api", "key-manager", "worker")  # sim.log is "ScraperAPI"


def leaks(text: str, secrets: list[str]) -> list[str]:
    found = [secret for secret in secrets if secret in text]
    return found + JWT_SHAPE.findall(text) + API_KEY_SHAPE.findall(text)


def misuse(stack: LocalStack, account: Account, password: str, scraper_key: str) -> list[Any]:
    """Requests that put each secret where a careless service would echo or log it."""
    auth, jobs, keys = stack.url("auth"), stack.url("jobs-api"), stack.url("key-manager")
    long_password = password + "x" * 80
    return [
        httpx.post(
            f"{auth}/api/auth/login", json={"email": account.email, "password": "x" + password}
        ),
        httpx.post(f"{auth}/api/auth/login", json={"email": password, "password": password}),
        httpx.post(
            f"{auth}/api/auth/register",
            json={
                "email": "x@example.com",
                "password": long_password,
                "confirmPassword": long_password,
            },
        ),
        httpx.post(
            f"{auth}/api/auth/register",
            json={
                "email": "y@example.com",
                "password": password,
                "confirmPassword": password + "!",
            },
        ),
        httpx.post(f"{auth}/api/auth/refresh", json={"refreshToken": account.refresh_token + "x"}),
        httpx.post(f"{auth}/api/auth/refresh", json={"refreshToken": account.access_token}),
        httpx.get(f"{auth}/api/auth/me", headers=bearer(account.refresh_token)),
        httpx.get(f"{jobs}/api/removal/quota", headers=bearer(account.access_token + "x")),
        httpx.get(f"{jobs}/api/removal/quota", headers=bearer(account.refresh_token)),
        httpx.post(
            f"{jobs}/api/removal", json={"inputLink": account.api_key}, headers=account.headers
        ),
        httpx.post(f"{jobs}/api/removal", json={"inputLink": password}, headers=account.headers),
        httpx.get(f"{jobs}/api/v1/quota", headers={"X-API-Key": account.api_key + "x"}),
        httpx.post(
            f"{jobs}/api/v1/removals",
            json={"inputLink": scraper_key, "callbackUrl": f"https://{scraper_key}.local/"},
            headers={"X-API-Key": account.api_key},
        ),
        httpx.post(
            f"{keys}/api/admin/scraper-keys", json={"apiKey": scraper_key}, headers=account.headers
        ),
        httpx.get(f"{keys}/api/admin/scraper-keys", headers=bearer(account.api_key)),
    ]


@pytest.fixture(scope="module")
def planted(security_stack: LocalStack, admin_token: str) -> dict[str, Any]:
    password = f"planted-pw-{uuid.uuid4().hex}"
    account = register(security_stack, password=password)
    auth = security_stack.url("auth")
    # a second session, refreshed and then reused: auth logs the incident (the token must
    # not be in that line) and ends that session; the account's first one goes on
    login = {"email": account.email, "password": password}
    second = httpx.post(f"{auth}/api/auth/login", json=login).json()["refreshToken"]
    refreshed = httpx.post(f"{auth}/api/auth/refresh", json={"refreshToken": second})
    assert refreshed.status_code == 200
    reused = httpx.post(f"{auth}/api/auth/refresh", json={"refreshToken": second})
    assert reused.status_code == 401
    scraper_key = f"sk-planted-{uuid.uuid4().hex}"
    keys = f"{security_stack.url('key-manager')}/api/admin/scraper-keys"
    added = httpx.post(
        keys, json={"apiKey": scraper_key, "label": "planted"}, headers=bearer(admin_token)
    )
    assert added.status_code == 201, added.text
    bad = httpx.post(
        keys, json={"apiKey": scraper_key, "maxConcurrency": 0}, headers=bearer(admin_token)
    )
    listed = httpx.get(keys, headers=bearer(admin_token))
    for _ in range(3):  # workers may lease the planted key (unknown upstream) and use it
        submit(security_stack, account)
    answers = [added, bad, listed, *misuse(security_stack, account, password, scraper_key)]
    secrets = [
        password,
        DEV_ADMIN_PASSWORD,
        account.access_token,
        account.refresh_token,
        second,
        refreshed.json()["accessToken"],
        refreshed.json()["refreshToken"],
        account.api_key,
        scraper_key,
        admin_token,
    ]
    time.sleep(3)  # let the pipeline run and the logs flush
    return {"answers": answers, "secrets": secrets, "scraper_key": scraper_key}


def test_the_planted_scraper_key_is_shown_masked(planted: dict[str, Any]) -> None:
    added, _, listed = planted["answers"][:3]
    assert added.json()["maskedKey"] != planted["scraper_key"]
    assert planted["scraper_key"] not in listed.text


def test_no_answer_echoes_a_secret(planted: dict[str, Any]) -> None:
    for response in planted["answers"]:
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
        request = f"{response.request.method} {response.request.url.path}"
        assert leaks(response.text, planted["secrets"]) == [], (request, response.text)


@pytest.mark.parametrize("service", SERVICE_LOGS)
def test_no_service_logs_a_secret(
    service: str, security_stack: LocalStack, planted: dict[str, Any]
) -> None:
    log = security_stack.processes[service].log_path.read_text(errors="replace")
    assert log, f"{service} wrote no log at all"
    assert leaks(log, planted["secrets"]) == []
