"""Tokens auth must refuse, key rotation, and verification by an independent JOSE library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from git44_auth.core.config import AuthSettings
from git44_auth.keys import KeyRing, SigningKey, private_key_pem
from tests.integration.auth.flows import bearer, login, problem_code, register

RunApp = Callable[[AuthSettings], AbstractAsyncContextManager[httpx.AsyncClient]]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(user_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "git44-auth",
        "aud": "git44",
        "sub": user_id,
        "role": "user",
        "type": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
    }
    return {**claims, **overrides}


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> bytes:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}".encode()


def _forgeries(keys: KeyRing, user_id: str) -> dict[str, str]:
    kid = keys.signer.kid
    other = Ed25519PrivateKey.generate()
    public_pem = keys.signer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": kid}, _claims(user_id))
    hs_signature = hmac.new(public_pem, hs_input, hashlib.sha256).digest()
    none_input = _unsigned({"alg": "none", "typ": "JWT", "kid": kid}, _claims(user_id))
    return {
        "wrong signature": pyjwt.encode(
            _claims(user_id), other, algorithm="EdDSA", headers={"kid": kid}
        ),
        "alg none": none_input.decode() + ".",
        "HS256 with the public key": f"{hs_input.decode()}.{_b64(hs_signature)}",
        "wrong audience": keys.sign(_claims(user_id, aud="someone-else")),
        "wrong issuer": keys.sign(_claims(user_id, iss="evil-auth")),
        "unknown kid": pyjwt.encode(
            _claims(user_id), other, algorithm="EdDSA", headers={"kid": "not-a-key"}
        ),
        "garbage": "not.a.token",
        **{
            f"no {claim}": keys.sign({k: v for k, v in _claims(user_id).items() if k != claim})
            for claim in ("sub", "jti", "exp", "role", "type")
        },
    }


async def test_forged_and_misdirected_tokens_are_refused(
    client: httpx.AsyncClient, auth_app: FastAPI
) -> None:
    user = await register(client)
    keys: KeyRing = auth_app.state.context.keys
    for case, token in _forgeries(keys, user["user"]["id"]).items():
        response = await client.get("/api/auth/me", headers=bearer(token))
        assert response.status_code == 401, case
        assert problem_code(response) == "token_invalid", case


async def test_expired_token_is_refused_as_expired(
    client: httpx.AsyncClient, auth_app: FastAPI
) -> None:
    user = await register(client)
    past = int(time.time()) - 120
    token = auth_app.state.context.keys.sign(_claims(user["user"]["id"], iat=past - 60, exp=past))
    response = await client.get("/api/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert problem_code(response) == "token_expired"


async def test_tokens_are_only_good_for_their_own_use(client: httpx.AsyncClient) -> None:
    session = await register(client)
    as_access = await client.get("/api/auth/me", headers=bearer(session["refreshToken"]))
    assert as_access.status_code == 401
    assert problem_code(as_access) == "token_invalid"
    as_refresh = await client.post(
        "/api/auth/refresh", json={"refreshToken": session["accessToken"]}
    )
    assert as_refresh.status_code == 401
    assert problem_code(as_refresh) == "token_invalid"


# joserfc warns that RFC 9864 deprecates the polymorphic "EdDSA" name in favour of
# "Ed25519"; Git44 tokens say "EdDSA" because that is what PyJWT and the verifiers accept.
@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
async def test_an_independent_jose_library_verifies_tokens_against_the_jwks(
    client: httpx.AsyncClient,
) -> None:
    session = await register(client)
    document = (await client.get("/.well-known/jwks.json")).json()
    assert all("d" not in key for key in document["keys"])  # public halves only
    token = jose_jwt.decode(
        session["accessToken"], KeySet.import_key_set(document), algorithms=["EdDSA"]
    )
    jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": "git44-auth"},
        aud={"essential": True, "value": "git44"},
        sub={"essential": True, "value": session["user"]["id"]},
    ).validate(token.claims)
    assert token.header["kid"] in {key["kid"] for key in document["keys"]}
    assert token.claims["type"] == "access"


def _pem_ring(*keys: Ed25519PrivateKey) -> str:
    return "\n".join(private_key_pem(key) for key in keys)


async def test_rotated_out_key_keeps_verifying_until_removed(
    client: httpx.AsyncClient,
    auth_app: FastAPI,
    run_app: RunApp,
    settings_factory: Callable[..., AuthSettings],
) -> None:
    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    old_kid = SigningKey.from_private_key(old_key).kid
    new_kid = SigningKey.from_private_key(new_key).kid
    user = await register(client)
    old_token = KeyRing.from_pem(_pem_ring(old_key)).sign(_claims(user["user"]["id"]))

    rotated = settings_factory(jwt_private_keys=_pem_ring(new_key, old_key))
    async with run_app(rotated) as http:
        jwks = (await http.get("/.well-known/jwks.json")).json()
        assert [key["kid"] for key in jwks["keys"]] == [new_kid, old_kid]
        assert (await http.get("/api/auth/me", headers=bearer(old_token))).status_code == 200
        fresh = (await login(http, user["user"]["email"])).json()["accessToken"]
        assert pyjwt.get_unverified_header(fresh)["kid"] == new_kid

    retired = settings_factory(jwt_private_keys=_pem_ring(new_key))
    async with run_app(retired) as http:
        assert (await http.get("/api/auth/me", headers=bearer(fresh))).status_code == 200
        refused = await http.get("/api/auth/me", headers=bearer(old_token))
        assert refused.status_code == 401
        assert problem_code(refused) == "token_invalid"
