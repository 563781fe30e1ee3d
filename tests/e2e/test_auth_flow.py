"""Auth as a real process: the development admin, a user's session, tokens verified over
HTTP by the shared verifier and by an independent JOSE library, a clean log, and mail
in the simulator's SMTP sink (as `make run` wires it)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from localstack import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, LocalStack

from git44_common.tokens import JWKSClient, TokenClaims, TokenVerifier
from git44_sim.client import SimControl
from git44_sim.models import MailPublic
from tests.integration.auth.flows import NEW_PASSWORD, PASSWORD, leaked_secrets, new_email
from tests.utils.waiting import eventually


def register(base: str, email: str) -> dict[str, object]:
    body = {"email": email, "password": PASSWORD, "confirmPassword": PASSWORD}
    response = httpx.post(f"{base}/api/auth/register", json=body, timeout=30)
    assert response.status_code == 201, response.text
    registered: dict[str, object] = response.json()
    return registered


def test_the_development_admin_can_log_in_and_manage_users(stack: LocalStack) -> None:
    base = stack.url("auth")
    credentials = {"email": DEV_ADMIN_EMAIL, "password": DEV_ADMIN_PASSWORD}
    response = httpx.post(f"{base}/api/auth/login", json=credentials, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["role"] == "admin"
    headers = {"Authorization": f"Bearer {response.json()['accessToken']}"}
    users = httpx.get(f"{base}/api/admin/users", params={"role": "admin"}, headers=headers)
    assert [u["email"] for u in users.json()["data"]] == [DEV_ADMIN_EMAIL]


async def verify_like_other_services(jwks_url: str, token: str) -> TokenClaims:
    verifier = TokenVerifier(JWKSClient(jwks_url), issuer="git44-auth", audience="git44")
    try:
        return await verifier.verify(token)
    finally:
        await verifier.jwks.aclose()


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")  # RFC 9864 naming; see ADR 0003
def test_tokens_verify_against_the_served_jwks(stack: LocalStack) -> None:
    base = stack.url("auth")
    session = register(base, new_email())
    token = str(session["accessToken"])
    jwks_url = f"{base}/.well-known/jwks.json"

    claims = asyncio.run(verify_like_other_services(jwks_url, token))
    assert claims.sub == session["user"]["id"]  # type: ignore[index]

    document = httpx.get(jwks_url).json()
    decoded = jose_jwt.decode(token, KeySet.import_key_set(document), algorithms=["EdDSA"])
    jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": "git44-auth"}, aud={"essential": True, "value": "git44"}
    ).validate(decoded.claims)

    me = httpx.get(f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


def test_the_auth_log_holds_no_secrets(stack: LocalStack) -> None:
    base = stack.url("auth")
    email = new_email()
    session = register(base, email)
    httpx.post(f"{base}/api/auth/login", json={"email": email, "password": "wrong-password-1"})
    httpx.post(f"{base}/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    httpx.post(f"{base}/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    log = stack.processes["auth"].log_path.read_text()
    assert "refresh token reuse detected" in log
    assert leaked_secrets(log, extra=(DEV_ADMIN_PASSWORD, "wrong-password-1")) == []


async def test_a_password_change_lands_in_the_simulators_mail_sink(stack: LocalStack) -> None:
    base, email = stack.url("auth"), new_email()
    session = register(base, email)
    body = {
        "currentPassword": PASSWORD,
        "newPassword": NEW_PASSWORD,
        "confirmPassword": NEW_PASSWORD,
    }
    headers = {"Authorization": f"Bearer {session['accessToken']}"}
    async with httpx.AsyncClient(timeout=30) as http:
        changed = await http.post(f"{base}/api/auth/password", json=body, headers=headers)
    assert changed.status_code == 200

    async with SimControl(stack.url("sim")) as sim:

        async def mailed() -> list[MailPublic]:
            mails = await sim.list_mail(to=email)  # the registration's verification mail too
            return [mail for mail in mails if mail.subject == "Your Git44 password was changed"]

        [mail] = await eventually(mailed, within=20)
    assert mail.to == [email]
