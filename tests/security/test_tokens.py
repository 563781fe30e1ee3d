"""Bad bearer tokens against jobs-api and key-manager (auth tests its own): each token is
a valid one with exactly one property broken, and every one is a 401 problem."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from localstack import LocalStack

from tests.security.actors import Account, Signer, register
from tests.utils.requests import bearer

pytestmark = pytest.mark.e2e

# (service, path) — a user route on jobs-api, the admin API on key-manager (tokens carry
# the admin role there, so the token itself is the only reason to refuse).
TARGETS = [
    ("jobs-api", "/api/removal/quota", "user"),
    ("key-manager", "/api/admin/scraper-keys", "admin"),
]


def public_pem(signer: Signer) -> bytes:
    return signer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_raw(signer: Signer) -> bytes:
    return signer.key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


Forger = Callable[[Signer, str, str], str]

BAD_TOKENS: dict[str, Forger] = {
    "forged: another Ed25519 key, auth's kid": lambda s, sub, role: s.mint(
        s.claims(sub, role), key=Ed25519PrivateKey.generate()
    ),
    "expired": lambda s, sub, role: s.mint(s.claims(sub, role, iat=1, exp=61)),
    "alg none": lambda s, sub, role: s.unsigned(s.claims(sub, role)),
    "alg NONE": lambda s, sub, role: s.unsigned(s.claims(sub, role), alg="NONE"),
    "HS256 keyed with the public key PEM": lambda s, sub, role: s.hmac_with(
        s.claims(sub, role), public_pem(s)
    ),
    "HS256 keyed with the raw public key": lambda s, sub, role: s.hmac_with(
        s.claims(sub, role), public_raw(s)
    ),
    "HS256 keyed with the JWK x": lambda s, sub, role: s.hmac_with(
        s.claims(sub, role), str(s.jwk["x"]).encode()
    ),
    "refresh token used as access": lambda s, sub, role: s.mint(
        s.claims(sub, role, type="refresh")
    ),
    "wrong audience": lambda s, sub, role: s.mint(s.claims(sub, role, aud="other")),
    "wrong issuer": lambda s, sub, role: s.mint(s.claims(sub, role, iss="evil")),
    "no exp": lambda s, sub, role: s.mint(
        {k: v for k, v in s.claims(sub, role).items() if k != "exp"}
    ),
    "unknown kid, another key": lambda s, sub, role: s.mint(
        s.claims(sub, role), key=Ed25519PrivateKey.generate(), kid="not-a-published-kid"
    ),
    "signature stripped": lambda s, sub, role: s.mint(s.claims(sub, role)).rsplit(".", 1)[0] + ".",
    "payload swapped under a valid signature": lambda s, sub, role: swap_payload(
        s.mint(s.claims(sub, role)), s.claims("someone-else", role)
    ),
}


def swap_payload(token: str, claims: dict[str, object]) -> str:
    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


@pytest.fixture(scope="module")
def victim(security_stack: LocalStack) -> Account:
    return register(security_stack)


@pytest.fixture(scope="module")
def admin_id(security_stack: LocalStack, admin_token: str) -> str:
    me = httpx.get(f"{security_stack.url('auth')}/api/auth/me", headers=bearer(admin_token))
    user_id: str = me.json()["id"]
    return user_id


def test_a_correctly_signed_token_is_accepted(
    security_stack: LocalStack, signer: Signer, victim: Account, admin_id: str
) -> None:
    """The control: without it every 401 below could be a broken signer."""
    for service, path, role in TARGETS:
        sub = admin_id if role == "admin" else victim.id
        token = signer.mint(signer.claims(sub, role))
        response = httpx.get(f"{security_stack.url(service)}{path}", headers=bearer(token))
        assert response.status_code == 200, (service, response.text)


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_a_broken_token_is_refused(
    name: str, security_stack: LocalStack, signer: Signer, victim: Account, admin_id: str
) -> None:
    for service, path, role in TARGETS:
        sub = admin_id if role == "admin" else victim.id
        token = BAD_TOKENS[name](signer, sub, role)
        response = httpx.get(f"{security_stack.url(service)}{path}", headers=bearer(token))
        assert response.status_code == 401, (service, name, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] in {"unauthorized", "token_invalid", "token_expired"}
        assert token not in response.text


def test_an_expired_token_says_so(
    security_stack: LocalStack, signer: Signer, victim: Account
) -> None:
    token = signer.mint(signer.claims(victim.id, iat=1, exp=61))
    response = httpx.get(
        f"{security_stack.url('jobs-api')}/api/removal/quota", headers=bearer(token)
    )
    assert response.json()["code"] == "token_expired"
