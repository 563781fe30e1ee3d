"""Minting access and refresh tokens (pure: keys and clock are passed in).

Claims are exactly what `git44_common.tokens.TokenVerifier` checks: `iss`, `aud`,
`sub`, `role`, `type`, `jti`, `iat`, `exp`, with the signing key's `kid` in the header,
and `sid`, the session (login) the token belongs to, which every service refuses once
it has ended (`git44_common.sessions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from git44_auth.keys import KeyRing
from git44_common.ids import new_id
from git44_common.tokens import Role, TokenType


@dataclass(frozen=True, kw_only=True)
class TokenPolicy:
    issuer: str
    audience: str
    access_ttl: timedelta
    refresh_ttl: timedelta


@dataclass(frozen=True)
class MintedToken:
    token: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenPair:
    access: MintedToken
    refresh: MintedToken
    expires_in: int  # seconds the access token lives


def mint_token(
    keys: KeyRing,
    policy: TokenPolicy,
    *,
    user_id: str,
    role: Role,
    token_type: TokenType,
    now: datetime,
    session_id: str | None = None,
) -> MintedToken:
    ttl = policy.access_ttl if token_type == "access" else policy.refresh_ttl
    issued = int(now.timestamp())
    expires = issued + int(ttl.total_seconds())
    jti = new_id()
    claims = {
        "iss": policy.issuer,
        "aud": policy.audience,
        "sub": user_id,
        "role": role,
        "type": token_type,
        "jti": jti,
        "iat": issued,
        "exp": expires,
    }
    if session_id is not None:
        claims["sid"] = session_id
    return MintedToken(
        token=keys.sign(claims), jti=jti, expires_at=datetime.fromtimestamp(expires, UTC)
    )


def mint_pair(
    keys: KeyRing,
    policy: TokenPolicy,
    *,
    user_id: str,
    role: Role,
    now: datetime,
    session_id: str | None = None,
) -> TokenPair:
    access, refresh = (
        mint_token(
            keys,
            policy,
            user_id=user_id,
            role=role,
            token_type=kind,
            now=now,
            session_id=session_id,
        )  # fmt: skip
        for kind in ("access", "refresh")
    )
    return TokenPair(
        access=access, refresh=refresh, expires_in=int(policy.access_ttl.total_seconds())
    )
