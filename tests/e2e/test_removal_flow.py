"""One job all the way through every service: register with auth, submit to jobs-api,
the worker leases a ScraperAPI key from key-manager, drives the simulator's RemoveSora
task to completion, and the job shows `success` with the download link."""

from __future__ import annotations

import time
import uuid

import httpx
from localstack import LocalStack

from tests.utils.requests import sora_link


def register(stack: LocalStack) -> str:
    email = f"flow-{uuid.uuid4().hex[:8]}@example.com"
    response = httpx.post(
        f"{stack.url('auth')}/api/auth/register",
        json={"email": email, "password": "correct horse", "confirmPassword": "correct horse"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["accessToken"])


def wait_for_status(stack: LocalStack, job_id: str, token: str, *, within: float) -> dict:
    deadline = time.monotonic() + within
    job: dict = {}
    while time.monotonic() < deadline:
        response = httpx.get(
            f"{stack.url('jobs-api')}/api/removal/{job_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in ("success", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job still {job.get('status')} after {within}s: {job}")


def test_a_submitted_job_reaches_success_through_every_service(stack: LocalStack) -> None:
    token = register(stack)
    link = sora_link(uuid.uuid4().hex)
    submitted = httpx.post(
        f"{stack.url('jobs-api')}/api/removal",
        json={"inputLink": link},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert submitted.status_code == 202, submitted.text
    # 202 shows the job as it is by then: a fast worker may already have claimed it
    assert submitted.json()["status"] in ("queued", "processing", "polling")

    job = wait_for_status(stack, submitted.json()["id"], token, within=60)

    assert job["status"] == "success", job
    assert job["outputLink"].startswith(f"{stack.url('sim')}/removesora/files/")
    assert job["taskId"]
    assert job["pollCount"] >= 1
    assert job["startedAt"]
    assert job["completedAt"]
    stats = httpx.get(f"{stack.url('sim')}/_control/stats").json()
    assert stats["tasksByVideoUrl"][link] == 1
