"""Sessions that end, with every service a real process: after a logout, a "log out
everywhere" or a password change, jobs-api and key-manager refuse the old access token
within 5 s (401 `token_invalid`), auth refuses the old refresh token, and an open SSE
stream of the ended session closes."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from localstack import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, LocalStack

from tests.integration.auth.flows import NEW_PASSWORD, PASSWORD, new_email

BOUND_SECONDS = 5.0
QUOTA = "/api/removal/quota"  # jobs-api, any user
SCRAPER_KEYS = "/api/admin/scraper-keys"  # key-manager, admins


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_in(stack: LocalStack, email: str, password: str = PASSWORD) -> dict[str, Any]:
    body = {"email": email, "password": password}
    response = httpx.post(f"{stack.url('auth')}/api/auth/login", json=body, timeout=30)
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session


def new_admin(stack: LocalStack) -> str:
    """A fresh admin's email (the development admin promotes it): its sessions are ours
    to end without disturbing anyone else's."""
    email = new_email()
    body = {"email": email, "password": PASSWORD, "confirmPassword": PASSWORD}
    auth = stack.url("auth")
    user = httpx.post(f"{auth}/api/auth/register", json=body, timeout=30).json()["user"]
    root = log_in(stack, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD)
    promoted = httpx.patch(
        f"{auth}/api/admin/users/{user['id']}",
        json={"role": "admin"},
        headers=bearer(root["accessToken"]),
        timeout=30,
    )
    assert promoted.status_code == 200, promoted.text
    return email


def accepted_everywhere(stack: LocalStack, token: str) -> None:
    assert httpx.get(f"{stack.url('jobs-api')}{QUOTA}", headers=bearer(token)).status_code == 200
    keys = httpx.get(f"{stack.url('key-manager')}{SCRAPER_KEYS}", headers=bearer(token))
    assert keys.status_code == 200, keys.text


def refused_everywhere_within_bound(stack: LocalStack, token: str, *, since: float) -> None:
    """jobs-api and key-manager both answer 401 `token_invalid` to `token` before
    BOUND_SECONDS have passed since `since`."""
    targets = [f"{stack.url('jobs-api')}{QUOTA}", f"{stack.url('key-manager')}{SCRAPER_KEYS}"]
    while targets:
        response = httpx.get(targets[0], headers=bearer(token), timeout=5)
        if response.status_code == 401:
            assert response.json()["code"] == "token_invalid"
            targets.pop(0)
            continue
        assert response.status_code == 200, response.text
        assert time.monotonic() - since < BOUND_SECONDS, f"still accepted: {targets[0]}"
        time.sleep(0.1)
    assert time.monotonic() - since < BOUND_SECONDS


def refresh_status(stack: LocalStack, refresh_token: str) -> tuple[int, str]:
    response = httpx.post(
        f"{stack.url('auth')}/api/auth/refresh", json={"refreshToken": refresh_token}, timeout=30
    )
    return response.status_code, response.json().get("code", "")


def test_logout_ends_that_session_everywhere_and_no_other(stack: LocalStack) -> None:
    email = new_admin(stack)
    ending, other = log_in(stack, email), log_in(stack, email)
    accepted_everywhere(stack, ending["accessToken"])

    out = httpx.post(
        f"{stack.url('auth')}/api/auth/logout",
        json={"refreshToken": ending["refreshToken"]},
        timeout=30,
    )
    assert out.status_code == 204
    refused_everywhere_within_bound(stack, ending["accessToken"], since=time.monotonic())
    assert refresh_status(stack, ending["refreshToken"]) == (401, "token_invalid")
    accepted_everywhere(stack, other["accessToken"])  # another session of the same user


def test_log_out_everywhere_ends_every_session(stack: LocalStack) -> None:
    email = new_admin(stack)
    first, second = log_in(stack, email), log_in(stack, email)

    out = httpx.post(
        f"{stack.url('auth')}/api/auth/logout-all", headers=bearer(first["accessToken"]), timeout=30
    )
    assert out.status_code == 204
    started = time.monotonic()
    for session in (first, second):
        refused_everywhere_within_bound(stack, session["accessToken"], since=started)
        assert refresh_status(stack, session["refreshToken"]) == (401, "token_invalid")
    accepted_everywhere(stack, log_in(stack, email)["accessToken"])  # a new login works


def test_a_password_change_ends_the_other_sessions_and_keeps_the_new_one(
    stack: LocalStack,
) -> None:
    email = new_admin(stack)
    old = log_in(stack, email)
    body = {
        "currentPassword": PASSWORD,
        "newPassword": NEW_PASSWORD,
        "confirmPassword": NEW_PASSWORD,
    }
    changed = httpx.post(
        f"{stack.url('auth')}/api/auth/password",
        json=body,
        headers=bearer(old["accessToken"]),
        timeout=30,
    )
    assert changed.status_code == 200, changed.text
    refused_everywhere_within_bound(stack, old["accessToken"], since=time.monotonic())
    assert refresh_status(stack, old["refreshToken"]) == (401, "token_invalid")
    accepted_everywhere(stack, changed.json()["accessToken"])


async def closing_event(stack: LocalStack, session: dict[str, Any]) -> dict[str, Any]:
    """Open an SSE stream with the session's token, log the session out, and return the
    stream's last event and how long it stayed open after the logout."""
    events: list[tuple[str, str]] = []
    headers = bearer(session["accessToken"])
    async with (
        httpx.AsyncClient(timeout=30) as http,
        http.stream(
            "GET", f"{stack.url('jobs-api')}/api/removal/events", headers=headers
        ) as stream,
    ):
        assert stream.status_code == 200
        kind = ""
        logged_out_at = 0.0
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                kind = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                events.append((kind, line.removeprefix("data:").strip()))
                if kind == "ready":
                    await http.post(
                        f"{stack.url('auth')}/api/auth/logout",
                        json={"refreshToken": session["refreshToken"]},
                    )
                    logged_out_at = time.monotonic()
        open_for = time.monotonic() - logged_out_at
    return {"event": events[-1][0], "data": json.loads(events[-1][1]), "open_for": open_for}


def test_an_open_sse_stream_closes_when_its_session_ends(stack: LocalStack) -> None:
    session = log_in(stack, new_admin(stack))
    last = asyncio.run(asyncio.wait_for(closing_event(stack, session), timeout=30))
    assert (last["event"], last["data"]) == ("closed", {"reason": "session_ended"})
    assert last["open_for"] < BOUND_SECONDS
