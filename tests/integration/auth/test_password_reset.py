"""Password reset by mail through a real SMTP server: "forgot" answers alike for known
and unknown addresses and is limited per address and per IP; the mailed token sets the
password once, ends every session and brings the "password changed" mail; an admin can
mail a user the reset link."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from git44_auth.account_tokens import hash_token
from git44_auth.core.config import AuthSettings
from git44_common.mongo import Database
from tests.integration.auth.conftest import ADMIN_EMAIL
from tests.integration.auth.flows import (
    ADMIN_PASSWORD,
    NEW_PASSWORD,
    PASSWORD,
    bearer,
    link_token,
    login,
    new_email,
    problem_code,
    register,
)
from tests.utils.smtp import SmtpSink

pytestmark = pytest.mark.integration

RESET_SUBJECT = "Reset your Git44 password"
CHANGED_SUBJECT = "Your Git44 password was changed"


@pytest.fixture
def auth_settings(settings_factory: Callable[..., AuthSettings], sink: SmtpSink) -> AuthSettings:
    return settings_factory(smtp_url=sink.url, password_forgot_per_email_per_hour=3)


async def forgot(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/api/auth/password/forgot", json={"email": email})


async def reset(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    body = {"token": token, "password": password, "confirmPassword": password}
    return await client.post("/api/auth/password/reset", json=body)


async def mailed(sink: SmtpSink, email: str, subject: str) -> str | None:
    """The text of the newest mail to `email` with `subject`, once it has arrived."""
    return (await sink.wait_for_subject(email, subject)).text


async def test_forgot_then_reset_ends_every_session_and_mails_the_change(
    client: httpx.AsyncClient, sink: SmtpSink, auth_settings: AuthSettings
) -> None:
    email = new_email()
    session = await register(client, email)
    answer = await forgot(client, email.upper())
    assert answer.status_code == 202
    text = await mailed(sink, email, RESET_SUBJECT)
    assert f"{auth_settings.public_url}/reset-password?token=" in (text or "")
    token = link_token(text, "/reset-password")

    weak = await reset(client, token, "short")
    assert weak.status_code == 422  # and the token still works:
    assert (await reset(client, token, NEW_PASSWORD)).status_code == 204
    assert (await reset(client, token, NEW_PASSWORD)).status_code == 422  # single use

    refreshed = await client.post(
        "/api/auth/refresh", json={"refreshToken": session["refreshToken"]}
    )
    assert refreshed.status_code == 401
    assert (await login(client, email, PASSWORD)).status_code == 401
    relogged = await login(client, email, NEW_PASSWORD)
    assert relogged.status_code == 200
    assert relogged.json()["user"]["emailVerified"] is True  # the mailbox was proven
    assert await mailed(sink, email, CHANGED_SUBJECT) is not None


async def test_known_and_unknown_addresses_get_the_same_answer_and_tokens_expire(
    client: httpx.AsyncClient, sink: SmtpSink, mongo_db: Database
) -> None:
    known, unknown = new_email(), new_email("nobody")
    await register(client, known)
    answers = [await forgot(client, known), await forgot(client, unknown)]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()
    token = link_token(await mailed(sink, known, RESET_SUBJECT), "/reset-password")
    stored = await mongo_db.account_tokens.find_one({"_id": hash_token(token)})
    assert stored is not None
    assert stored["expires_at"] - stored["created_at"] == timedelta(minutes=30)
    assert sink.mail_to(unknown) == []

    await mongo_db.account_tokens.update_one(
        {"_id": hash_token(token)}, {"$set": {"expires_at": stored["created_at"]}}
    )
    assert (await reset(client, token, NEW_PASSWORD)).status_code == 422


async def test_forgot_is_limited_per_address_known_or_not(client: httpx.AsyncClient) -> None:
    known, unknown = new_email(), new_email("nobody")
    await register(client, known)
    for email in (known, unknown):
        statuses = [(await forgot(client, email)).status_code for _ in range(4)]
        assert statuses == [202, 202, 202, 429]
    limited = await forgot(client, unknown)
    assert problem_code(limited) == "rate_limited"
    assert "Retry-After" in limited.headers


async def test_forgot_is_limited_per_ip(
    run_app: Callable[..., object], settings_factory: Callable[..., AuthSettings], sink: SmtpSink
) -> None:
    settings = settings_factory(smtp_url=sink.url, password_forgot_per_ip_per_hour=2)
    async with run_app(settings, client_ip="203.0.113.9") as other:  # type: ignore[attr-defined]
        statuses = [(await forgot(other, new_email())).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]


async def test_an_admin_mails_a_user_a_reset_link(
    client: httpx.AsyncClient, sink: SmtpSink, mongo_db: Database
) -> None:
    email = new_email()
    user = (await register(client, email))["user"]
    headers = bearer((await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)).json()["accessToken"])
    mailed_reset = await client.post(
        f"/api/admin/users/{user['id']}/password-reset", headers=headers
    )
    assert mailed_reset.status_code == 202, mailed_reset.text
    token = link_token(await mailed(sink, email, RESET_SUBJECT), "/reset-password")
    assert (await reset(client, token, NEW_PASSWORD)).status_code == 204
    assert (await login(client, email, NEW_PASSWORD)).status_code == 200
    entry = await mongo_db.audit_log.find_one({"target": user["id"]})
    assert entry is not None
    assert entry["action"] == "user.password_reset_mailed"

    unknown = await client.post("/api/admin/users/nobody/password-reset", headers=headers)
    assert unknown.status_code == 404
    session = await login(client, email, NEW_PASSWORD)
    forbidden = await client.post(
        f"/api/admin/users/{user['id']}/password-reset",
        headers=bearer(session.json()["accessToken"]),
    )
    assert forbidden.status_code == 403
