"""Leaving the service, with every service a real process: the export holds the user's
jobs; deleting the account (by its user, with their password, or by an admin) makes
login fail, jobs-api refuse the old token within 5 s, the jobs disappear from jobs-api
(jobs still at the upstream once they end) and the ACCOUNT_DELETED mail arrive."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from localstack import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, LocalStack

from tests.e2e.test_sessions_end import bearer, log_in
from tests.integration.auth.flows import PASSWORD, new_email
from tests.utils.requests import sora_link

BOUND_SECONDS = 5.0
# a job at the upstream ends within a few seconds, then waits for the next pass (10 s)
JOBS_GONE_WITHIN = 40.0
DELETED_SUBJECT = "Your Git44 account was deleted"


def register_with_jobs(
    stack: LocalStack, *, jobs: int = 2
) -> tuple[str, dict[str, Any], list[str]]:
    """A new user's email, session and the ids of `jobs` jobs they submitted."""
    email = new_email()
    body = {"email": email, "password": PASSWORD, "confirmPassword": PASSWORD}
    registered = httpx.post(f"{stack.url('auth')}/api/auth/register", json=body, timeout=30)
    assert registered.status_code == 201, registered.text
    session = registered.json()
    job_ids = []
    for _ in range(jobs):
        submitted = httpx.post(
            f"{stack.url('jobs-api')}/api/removal",
            json={"inputLink": sora_link(uuid.uuid4().hex)},
            headers=bearer(session["accessToken"]),
            timeout=30,
        )
        assert submitted.status_code == 202, submitted.text
        job_ids.append(submitted.json()["id"])
    return email, session, job_ids


def login_status(stack: LocalStack, email: str) -> int:
    body = {"email": email, "password": PASSWORD}
    return httpx.post(f"{stack.url('auth')}/api/auth/login", json=body, timeout=30).status_code


def refused_within_bound(stack: LocalStack, token: str, *, since: float) -> None:
    while True:
        response = httpx.get(
            f"{stack.url('jobs-api')}/api/removal/quota", headers=bearer(token), timeout=5
        )
        if response.status_code == 401:
            assert response.json()["code"] == "token_invalid"
            return
        assert time.monotonic() - since < BOUND_SECONDS, "still accepted"
        time.sleep(0.1)


def wait_until(check: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        time.sleep(0.5)


def wait_for_jobs_gone(stack: LocalStack, user_id: str) -> None:
    """jobs-api (asked by the development admin) holds no job of `user_id` any more."""
    admin = bearer(log_in(stack, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD)["accessToken"])

    def none_left() -> bool:
        response = httpx.get(
            f"{stack.url('jobs-api')}/api/admin/jobs",
            params={"userId": user_id},
            headers=admin,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return bool(response.json()["data"] == [])

    wait_until(none_left, within=JOBS_GONE_WITHIN, what="jobs gone")


def wait_for_deleted_mail(stack: LocalStack, email: str) -> None:
    def arrived() -> bool:
        response = httpx.get(f"{stack.url('sim')}/_control/mail", params={"to": email}, timeout=30)
        return any(m["subject"] == DELETED_SUBJECT for m in response.json()["data"])

    wait_until(arrived, within=20, what="account-deleted mail")


def test_export_then_delete_own_account(stack: LocalStack) -> None:
    email, session, job_ids = register_with_jobs(stack)
    token = session["accessToken"]
    auth = stack.url("auth")

    export = httpx.get(f"{auth}/api/auth/me/export", headers=bearer(token), timeout=30)
    assert export.status_code == 200, export.text
    document = export.json()
    assert document["account"]["email"] == email
    assert "passwordHash" not in document["account"]
    assert [key["name"] for key in document["apiKeys"]] == ["Default"]
    assert "keyHash" not in document["apiKeys"][0]
    assert {job["id"] for job in document["removal"]["jobs"]} == set(job_ids)
    assert document["removal"]["quota"]["totalQuota"] >= 0

    wrong = httpx.request(
        "DELETE", f"{auth}/api/auth/me", json={"currentPassword": "not it"},
        headers=bearer(token), timeout=30,
    )  # fmt: skip
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_credentials"

    deleted = httpx.request(
        "DELETE", f"{auth}/api/auth/me", json={"currentPassword": PASSWORD},
        headers=bearer(token), timeout=30,
    )  # fmt: skip
    assert deleted.status_code == 204, deleted.text
    refused_within_bound(stack, token, since=time.monotonic())
    assert login_status(stack, email) == 401
    wait_for_jobs_gone(stack, session["user"]["id"])
    wait_for_deleted_mail(stack, email)


def test_an_admin_deletes_a_user_end_to_end(stack: LocalStack) -> None:
    email, session, _ = register_with_jobs(stack, jobs=1)
    user_id = session["user"]["id"]
    admin = bearer(log_in(stack, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD)["accessToken"])
    users = f"{stack.url('auth')}/api/admin/users"

    deleted = httpx.delete(f"{users}/{user_id}", headers=admin, timeout=30)
    assert deleted.status_code == 204, deleted.text
    refused_within_bound(stack, session["accessToken"], since=time.monotonic())
    assert login_status(stack, email) == 401
    assert httpx.get(f"{users}/{user_id}", headers=admin, timeout=30).status_code == 404
    assert httpx.delete(f"{users}/{user_id}", headers=admin, timeout=30).status_code == 404
    wait_for_jobs_gone(stack, user_id)
    wait_for_deleted_mail(stack, email)
