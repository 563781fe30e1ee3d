"""Minted tokens carry exactly the claims every Git44 verifier checks, and pass it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from git44_auth.context import local_jwks_client
from git44_auth.keys import KeyRing
from git44_auth.tokens import TokenPolicy, mint_pair
from git44_common.exceptions import TokenInvalid
from git44_common.tokens import TokenVerifier

POLICY = TokenPolicy(
    issuer="git44-auth",
    audience="git44",
    access_ttl=timedelta(hours=24),
    refresh_ttl=timedelta(days=7),
)


def test_claims_and_lifetimes() -> None:
    keys = KeyRing.generate()
    now = datetime.now(UTC)
    pair = mint_pair(keys, POLICY, user_id="u1", role="admin", now=now)
    access = jwt.decode(pair.access.token, options={"verify_signature": False})
    refresh = jwt.decode(pair.refresh.token, options={"verify_signature": False})
    assert set(access) == {"iss", "aud", "sub", "role", "type", "jti", "iat", "exp"}
    assert (access["sub"], access["role"], access["type"]) == ("u1", "admin", "access")
    assert refresh["type"] == "refresh"
    assert access["exp"] - access["iat"] == 24 * 3600
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600
    assert access["jti"] != refresh["jti"] == pair.refresh.jti
    assert pair.expires_in == 24 * 3600
    assert jwt.get_unverified_header(pair.access.token) == {
        "alg": "EdDSA",
        "kid": keys.signer.kid,
        "typ": "JWT",
    }


async def test_the_shared_verifier_accepts_them_through_the_local_jwks() -> None:
    keys = KeyRing.generate()
    verifier = TokenVerifier(local_jwks_client(keys), issuer="git44-auth", audience="git44")
    pair = mint_pair(keys, POLICY, user_id="u1", role="user", now=datetime.now(UTC))
    claims = await verifier.verify(pair.access.token)
    assert claims.sub == "u1"
    assert (await verifier.verify(pair.refresh.token, token_type="refresh")).type == "refresh"
    with pytest.raises(TokenInvalid):
        await verifier.verify(pair.refresh.token)
    other = mint_pair(KeyRing.generate(), POLICY, user_id="u1", role="user", now=datetime.now(UTC))
    with pytest.raises(TokenInvalid):
        await verifier.verify(other.access.token)
