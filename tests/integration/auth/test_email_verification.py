"""Email verification through a real SMTP server: registration mails the link, its token
verifies the address once; with verification required an unverified user signs in and
reads but gets no new API key; `/me` shows `emailVerified`; accounts from before
verification count as verified."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from git44_auth.account_tokens import hash_token
from git44_auth.core.config import AuthSettings
from git44_common.mongo import Database
from tests.integration.auth.flows import bearer, link_token, new_email, problem_code, register
from tests.utils.smtp import SmtpSink

pytestmark = pytest.mark.integration

VERIFY_SUBJECT = "Verify your email address"


@pytest.fixture
def auth_settings(settings_factory: Callable[..., AuthSettings], sink: SmtpSink) -> AuthSettings:
    return settings_factory(smtp_url=sink.url, require_email_verification=True)


async def verification_token(sink: SmtpSink, email: str, *, count: int = 1) -> str:
    mails = await sink.wait_for_mail(email, count=count)
    newest = next(mail for mail in mails if mail.subject == VERIFY_SUBJECT)
    return link_token(newest.text, "/verify-email")


async def me(client: httpx.AsyncClient, session: dict[str, str]) -> dict[str, object]:
    response = await client.get("/api/auth/me", headers=bearer(session["accessToken"]))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_registration_mails_a_link_that_verifies_the_address_once(
    client: httpx.AsyncClient, sink: SmtpSink, auth_settings: AuthSettings
) -> None:
    email = new_email()
    session = await register(client, email)
    assert session["apiKey"]["key"].startswith("g44_")  # registration keeps its first key
    assert session["user"]["emailVerified"] is False
    [mail] = await sink.wait_for_mail(email)
    assert mail.subject == VERIFY_SUBJECT
    assert f"{auth_settings.public_url}/verify-email?token=" in (mail.text or "")
    token = link_token(mail.text, "/verify-email")

    assert (await me(client, session))["emailVerified"] is False
    refused = await client.post(
        "/api/auth/api-keys", json={"name": "ci"}, headers=bearer(session["accessToken"])
    )
    assert refused.status_code == 403
    assert problem_code(refused) == "email_unverified"

    assert (await client.post("/api/auth/verify-email", json={"token": token})).status_code == 204
    assert (await me(client, session))["emailVerified"] is True
    again = await client.post("/api/auth/verify-email", json={"token": token})
    assert again.status_code == 422  # single use
    created = await client.post(
        "/api/auth/api-keys", json={"name": "ci"}, headers=bearer(session["accessToken"])
    )
    assert created.status_code == 201, created.text


async def test_resend_mails_a_new_link_until_verified(
    client: httpx.AsyncClient, sink: SmtpSink
) -> None:
    email = new_email()
    session = await register(client, email)
    headers = bearer(session["accessToken"])
    resent = await client.post("/api/auth/verify-email/resend", headers=headers)
    assert resent.status_code == 202
    token = await verification_token(sink, email, count=2)
    assert (await client.post("/api/auth/verify-email", json={"token": token})).status_code == 204

    done = await client.post("/api/auth/verify-email/resend", headers=headers)
    assert done.status_code == 202
    assert done.json()["detail"] == "The address is verified."
    assert (await client.post("/api/auth/verify-email/resend")).status_code == 401


async def test_tokens_are_stored_hashed_and_expire(
    client: httpx.AsyncClient, sink: SmtpSink, mongo_db: Database
) -> None:
    email = new_email()
    await register(client, email)
    token = await verification_token(sink, email)
    assert await mongo_db.account_tokens.find_one({"_id": token}) is None
    stored = await mongo_db.account_tokens.find_one({"_id": hash_token(token)})
    assert stored is not None
    assert stored["purpose"] == "verify_email"
    assert stored["expires_at"] - stored["created_at"] == timedelta(hours=24)

    await mongo_db.account_tokens.update_one(
        {"_id": hash_token(token)}, {"$set": {"expires_at": stored["created_at"]}}
    )
    expired = await client.post("/api/auth/verify-email", json={"token": token})
    assert expired.status_code == 422
    assert problem_code(expired) == "validation_failed"


async def test_accounts_from_before_verification_count_as_verified(
    client: httpx.AsyncClient, mongo_db: Database
) -> None:
    session = await register(client)
    await mongo_db.users.update_one(
        {"_id": session["user"]["id"]}, {"$unset": {"email_verified": ""}}
    )
    assert (await me(client, session))["emailVerified"] is True
    created = await client.post(
        "/api/auth/api-keys", json={"name": "ci"}, headers=bearer(session["accessToken"])
    )
    assert created.status_code == 201, created.text


async def test_without_required_verification_unverified_users_create_keys(
    run_app: Callable[..., object],
    settings_factory: Callable[..., AuthSettings],
    sink: SmtpSink,
) -> None:
    settings = settings_factory(smtp_url=sink.url, require_email_verification=False)
    async with run_app(settings) as other:  # type: ignore[attr-defined]
        session = await register(other, new_email())
        assert session["user"]["emailVerified"] is False
        created = await other.post(
            "/api/auth/api-keys", json={"name": "ci"}, headers=bearer(session["accessToken"])
        )
        assert created.status_code == 201, created.text
