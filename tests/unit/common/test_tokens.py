"""Token verification against auth's JWKS; the JWKS endpoint is an httpx MockTransport."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from git44_common.exceptions import ServiceUnavailable, TokenExpired, TokenInvalid
from git44_common.tokens import JWKSClient, TokenVerifier

JWKS_URL = "http://auth.test/.well-known/jwks.json"
ISSUER = "git44-auth"
AUDIENCE = "git44"


class FakeAuth:
    """Holds signing keys and serves their public halves as a JWKS."""

    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.requests = 0
        self.down = False
        self.add_key("k1")

    def add_key(self, kid: str) -> Ed25519PrivateKey:
        self.keys[kid] = Ed25519PrivateKey.generate()
        return self.keys[kid]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.down:
            return httpx.Response(503)
        keys = []
        for kid, private in self.keys.items():
            jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
            keys.append({**jwk, "kid": kid, "alg": "EdDSA", "use": "sig"})
        return httpx.Response(200, json={"keys": keys})

    def mint(self, kid: str = "k1", key: Ed25519PrivateKey | None = None, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": "user-1",
            "role": "user",
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 3600,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "type": "access",
        }
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, key or self.keys[kid], algorithm="EdDSA", headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b""
    if secret is not None:
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.fixture
def auth() -> FakeAuth:
    return FakeAuth()


@pytest.fixture
async def http(auth: FakeAuth) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(auth.handle)) as client:
        yield client


def make_verifier(http: httpx.AsyncClient, **jwks_options: Any) -> TokenVerifier:
    jwks = JWKSClient(JWKS_URL, http=http, **jwks_options)
    return TokenVerifier(jwks, issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture
def verifier(http: httpx.AsyncClient) -> TokenVerifier:
    return make_verifier(http)


async def test_a_valid_access_token_yields_its_claims(
    auth: FakeAuth, verifier: TokenVerifier
) -> None:
    claims = await verifier.verify(auth.mint(role="admin", sub="u-42"))
    assert (claims.sub, claims.role, claims.type, claims.iss) == ("u-42", "admin", "access", ISSUER)


async def test_an_expired_token_is_token_expired(auth: FakeAuth, verifier: TokenVerifier) -> None:
    past = int(time.time()) - 7200
    with pytest.raises(TokenExpired):
        await verifier.verify(auth.mint(iat=past, exp=past + 60))


async def test_a_signature_by_another_key_with_the_same_kid_is_rejected(
    auth: FakeAuth, verifier: TokenVerifier
) -> None:
    with pytest.raises(TokenInvalid):
        await verifier.verify(auth.mint(key=Ed25519PrivateKey.generate()))


async def test_alg_none_is_rejected(auth: FakeAuth, verifier: TokenVerifier) -> None:
    claims = jwt.decode(auth.mint(), options={"verify_signature": False})
    token = unsigned_token({"alg": "none", "kid": "k1", "typ": "JWT"}, claims, secret=None)
    with pytest.raises(TokenInvalid):
        await verifier.verify(token)


async def test_hs256_signed_with_the_public_key_is_rejected(
    auth: FakeAuth, verifier: TokenVerifier
) -> None:
    claims = jwt.decode(auth.mint(), options={"verify_signature": False})
    public = auth.keys["k1"].public_key()
    for secret in (
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    ):
        token = unsigned_token({"alg": "HS256", "kid": "k1", "typ": "JWT"}, claims, secret)
        with pytest.raises(TokenInvalid):
            await verifier.verify(token)


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "someone-else"},
        {"iss": "evil-issuer"},
        {"jti": None},
        {"sub": None},
        {"role": "superuser"},
        {"type": None},
        {"iat": int(time.time()) + 3600},
    ],
    ids=["aud", "iss", "no-jti", "no-sub", "bad-role", "no-type", "iat-in-future"],
)
async def test_wrong_or_missing_claims_are_rejected(
    auth: FakeAuth, verifier: TokenVerifier, overrides: dict[str, Any]
) -> None:
    with pytest.raises(TokenInvalid):
        await verifier.verify(auth.mint(**overrides))


async def test_a_refresh_token_is_not_an_access_token(
    auth: FakeAuth, verifier: TokenVerifier
) -> None:
    refresh = auth.mint(type="refresh")
    with pytest.raises(TokenInvalid):
        await verifier.verify(refresh)
    assert (await verifier.verify(refresh, token_type="refresh")).type == "refresh"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 10_000])
async def test_malformed_tokens_are_token_invalid(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(TokenInvalid):
        await verifier.verify(token)


async def test_a_token_without_kid_is_rejected(auth: FakeAuth, verifier: TokenVerifier) -> None:
    claims = jwt.decode(auth.mint(), options={"verify_signature": False})
    token = jwt.encode(claims, auth.keys["k1"], algorithm="EdDSA")
    with pytest.raises(TokenInvalid):
        await verifier.verify(token)


async def test_the_jwks_is_fetched_once_for_many_verifications(
    auth: FakeAuth, verifier: TokenVerifier
) -> None:
    for _ in range(20):
        await verifier.verify(auth.mint())
    assert auth.requests == 1


async def test_an_unknown_kid_refetches_once_and_then_succeeds_after_rotation(
    auth: FakeAuth, http: httpx.AsyncClient
) -> None:
    verifier = make_verifier(http, min_refetch_seconds=0)
    await verifier.verify(auth.mint("k1"))
    auth.add_key("k2")  # auth rotates its signing key
    new_tokens = [auth.mint("k2") for _ in range(10)]
    results = await asyncio.gather(*(verifier.verify(t) for t in new_tokens))
    assert len(results) == 10
    assert auth.requests == 2  # the first fetch and exactly one refetch


async def test_random_kids_cannot_force_a_refetch_storm(
    auth: FakeAuth, http: httpx.AsyncClient
) -> None:
    verifier = make_verifier(http, min_refetch_seconds=60)
    await verifier.verify(auth.mint("k1"))
    for n in range(5):
        forged = auth.mint(f"forged-{n}", key=Ed25519PrivateKey.generate())
        with pytest.raises(TokenInvalid):
            await verifier.verify(forged)
    assert auth.requests == 1


async def test_jwks_unreachable_with_nothing_cached_is_service_unavailable(
    auth: FakeAuth, verifier: TokenVerifier
) -> None:
    auth.down = True
    with pytest.raises(ServiceUnavailable) as caught:
        await verifier.verify(auth.mint())
    assert caught.value.headers["Retry-After"]


async def test_jwks_unreachable_keeps_serving_the_cached_keys(
    auth: FakeAuth, http: httpx.AsyncClient
) -> None:
    verifier = make_verifier(http, cache_seconds=0, min_refetch_seconds=0)
    await verifier.verify(auth.mint())
    auth.down = True
    assert (await verifier.verify(auth.mint())).sub == "user-1"
    assert auth.requests == 2  # it tried, failed, and used the stale keys


async def test_a_network_error_is_service_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(ServiceUnavailable):
            await JWKSClient(JWKS_URL, http=http).get_key("k1")
