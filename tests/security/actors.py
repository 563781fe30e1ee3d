"""Helpers for the security suite: accounts on the stack, a token signer holding auth's
key, and the secrets the suite plants."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from localstack import LocalStack

from tests.utils.requests import bearer, sora_link

PASSWORD = "s3cur1ty-Suite-planted-pw"


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    access_token: str
    refresh_token: str
    api_key: str
    api_key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


def register(
    stack: LocalStack, password: str = PASSWORD, *, client_ip: str | None = None
) -> Account:
    """A new account; `client_ip` is the address the request comes from, as the gateway
    (on 127.0.0.1, trusted by the services) would name it."""
    email = f"sec-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": password, "confirmPassword": password}
    headers = {"X-Forwarded-For": client_ip} if client_ip else None
    response = httpx.post(
        f"{stack.url('auth')}/api/auth/register", json=body, headers=headers, timeout=30
    )
    assert response.status_code == 201, response.text
    session = response.json()
    return Account(
        id=session["user"]["id"],
        email=email,
        access_token=session["accessToken"],
        refresh_token=session["refreshToken"],
        api_key=session["apiKey"]["key"],
        api_key_id=session["apiKey"]["id"],
    )


def submit(stack: LocalStack, account: Account, link: str | None = None) -> dict[str, Any]:
    """A job of `account`'s, for `link` or a new one (a link submitted before is answered
    from the result cache at once)."""
    response = httpx.post(
        f"{stack.url('jobs-api')}/api/removal",
        json={"inputLink": link or sora_link()},
        headers=account.headers,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """Mints tokens with auth's own signing key (set by the suite), so each test can
    change exactly one property of an otherwise valid token."""

    def __init__(self, key: Ed25519PrivateKey, jwk: dict[str, Any]) -> None:
        self.key = key
        self.jwk = jwk
        self.kid = str(jwk["kid"])

    def claims(self, user_id: str, role: str = "user", **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": "git44-auth",
            "aud": "git44",
            "sub": user_id,
            "role": role,
            "type": "access",
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 600,
            **overrides,
        }

    def mint(
        self, claims: dict[str, Any], key: Ed25519PrivateKey | None = None, kid: str = ""
    ) -> str:
        headers = {"kid": kid or self.kid}
        return jwt.encode(claims, key or self.key, algorithm="EdDSA", headers=headers)

    def unsigned(self, claims: dict[str, Any], alg: str = "none") -> str:
        header = b64url(json.dumps({"alg": alg, "typ": "JWT", "kid": self.kid}).encode())
        return f"{header}.{b64url(json.dumps(claims).encode())}."

    def hmac_with(self, claims: dict[str, Any], secret: bytes) -> str:
        """HS256 keyed with public material: the classic key-confusion attack."""
        header = {"alg": "HS256", "typ": "JWT", "kid": self.kid}
        signing_input = (
            f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        )
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(signature)}"
