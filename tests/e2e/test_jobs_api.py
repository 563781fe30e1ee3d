"""jobs-api as a real process with auth's real tokens and API keys."""

from __future__ import annotations

import uuid

import httpx
from localstack import LocalStack

from tests.utils.requests import sora_link


def _register(stack: LocalStack) -> dict:
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery staple"
    response = httpx.post(
        f"{stack.url('auth')}/api/auth/register",
        json={"email": email, "password": password, "confirmPassword": password},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_registered_user_submits_reads_and_lists_jobs(stack: LocalStack) -> None:
    account = _register(stack)
    jobs = stack.url("jobs-api")
    bearer = {"Authorization": f"Bearer {account['accessToken']}"}
    with httpx.Client(base_url=jobs, timeout=30) as client:
        created = client.post("/api/removal", json={"inputLink": sora_link("e2e1")}, headers=bearer)
        assert created.status_code == 202, created.text
        job = created.json()
        assert job["status"] in {"queued", "processing", "polling", "success", "failed"}
        read = client.get(f"/api/removal/{job['id']}", headers=bearer)
        assert read.json()["id"] == job["id"]
        listed = client.get("/api/removal/user/jobs", headers=bearer).json()
        assert [j["id"] for j in listed["data"]] == [job["id"]]
        quota = client.get("/api/removal/quota", headers=bearer).json()
        assert quota["remainingQuota"] == quota["totalQuota"] - 1
        bad = client.post("/api/removal", json={"inputLink": "http://x.y/p/1"}, headers=bearer)
        assert bad.status_code == 422


def test_the_dev_api_accepts_the_api_key_from_registration(stack: LocalStack) -> None:
    account = _register(stack)
    headers = {"X-API-Key": account["apiKey"]["key"]}
    with httpx.Client(base_url=stack.url("jobs-api"), timeout=30) as client:
        created = client.post(
            "/api/v1/removals",
            json={"inputLink": sora_link("e2e2"), "callbackUrl": "https://hooks.example.com/x"},
            headers=headers,
        )
        assert created.status_code == 202, created.text
        assert created.json()["callbackUrl"] == "https://hooks.example.com/x"
        secret = client.get("/api/v1/webhook-secret", headers=headers).json()
        assert secret["secret"].startswith("whsec_")
        assert client.get("/api/v1/quota", headers=headers).status_code == 200
