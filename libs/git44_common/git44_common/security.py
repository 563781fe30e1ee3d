"""Who is calling: bearer tokens and Dev API keys turned into a `Principal`.

Every service but auth authenticates here. Access tokens are verified against auth's
JWKS (`tokens.TokenVerifier`); Dev API keys are looked up by their SHA-256 hash in
auth's `api_keys` collection. Either way the user's `disabled` flag is read from
`users` (auth's collection; read-only here) through a short cache, so a disabled user
is refused by every service within `status_cache_seconds` even with a live token.
An access token of an ended session is refused too (`git44_common.sessions`): its `sid`
is in `ended_sessions`, or it was issued before the user's `sessions_valid_after`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from git44_common.clock import utc_now
from git44_common.collections import API_KEYS, USERS
from git44_common.contracts import SessionsEnded
from git44_common.exceptions import Forbidden, TokenInvalid, Unauthorized
from git44_common.mongo import Database
from git44_common.sessions import EndedSessions, as_utc
from git44_common.settings import ServiceSettings
from git44_common.tokens import JWKSClient, Role, TokenClaims, TokenVerifier

API_KEY_PREFIX = "g44_"


def generate_api_key() -> str:
    """A new Dev API key: `g44_` + 43 url-safe random characters (256 bits)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """What is stored and looked up: the key's SHA-256, hex (keys are random, so no salt)."""
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_display_prefix(key: str) -> str:
    """The part of a key shown in listings so a user can tell keys apart."""
    return key[: len(API_KEY_PREFIX) + 6]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    user_id: str
    role: Role
    via: Literal["token", "api_key"]
    api_key_id: str | None = None
    # when the access token stops being valid (None for an API key)
    expires_at: datetime | None = None
    # the token's session and issue time (None for an API key or a token without `sid`)
    session_id: str | None = None
    issued_at: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


_STATUS_FIELDS = {"disabled": 1, "role": 1, "email_verified": 1, "sessions_valid_after": 1}


class UserStatusCache:
    """`disabled`, `role`, `email_verified` and `sessions_valid_after` of users, cached a
    few seconds per user (a `SessionsEnded` event drops the user's entry at once)."""

    def __init__(self, db: Database, *, ttl_seconds: float = 30.0) -> None:
        self._db = db
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, dict[str, Any] | None]] = {}

    async def get(self, user_id: str) -> dict[str, Any] | None:
        now = time.monotonic()
        cached = self._entries.get(user_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        return await self.reload(user_id)

    async def reload(self, user_id: str) -> dict[str, Any] | None:
        """The user as stored now, cached from now on."""
        now = time.monotonic()
        user = await self._db[USERS].find_one({"_id": user_id}, projection=_STATUS_FIELDS)
        if len(self._entries) > 50_000:
            self._entries.clear()
        self._entries[user_id] = (now, user)
        return user

    def forget(self, user_id: str) -> None:
        self._entries.pop(user_id, None)


class Authenticator:
    """Turns an `Authorization: Bearer` header or an `X-API-Key` into a `Principal`."""

    def __init__(
        self,
        *,
        verifier: TokenVerifier,
        db: Database,
        status_cache_seconds: float = 30.0,
        last_used_every_seconds: float = 60.0,
    ) -> None:
        self._verifier = verifier
        self._db = db
        self._users = UserStatusCache(db, ttl_seconds=status_cache_seconds)
        self.ended_sessions = EndedSessions()  # kept current by a `SessionWatch`
        self._last_used_every = timedelta(seconds=last_used_every_seconds)

    async def from_bearer(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("a bearer token is required")
        claims = await self._verifier.verify(token.strip(), token_type="access")
        user = await self._users.get(claims.sub)
        if user is None:
            raise TokenInvalid("the user no longer exists")
        # disabling a user ends all their sessions: their tokens are invalid, like any
        # ended session's (an API key of theirs is refused with 403 instead)
        if user.get("disabled"):
            raise TokenInvalid("this account is disabled")
        if self._session_ended(claims.sid, claims.iat, user):
            raise TokenInvalid("this session has ended")
        # The stored role wins over the token's: a demoted admin loses admin rights within
        # the status cache's lifetime, not when the 24 h token expires.
        role = user.get("role", claims.role)
        return _token_principal(claims, role=role)

    async def from_api_key(self, key: str | None) -> Principal:
        if not key or not key.startswith(API_KEY_PREFIX) or len(key) > 128:
            raise Unauthorized("a valid X-API-Key is required")
        digest = hash_api_key(key)
        record = await self._db[API_KEYS].find_one({"key_hash": digest, "revoked_at": None})
        if record is None or not hmac.compare_digest(record["key_hash"], digest):
            raise Unauthorized("a valid X-API-Key is required")
        expires_at = record.get("expires_at")
        if expires_at is not None and expires_at <= utc_now():
            raise Unauthorized("this API key has expired")
        user = await self._ensure_enabled(record["user_id"])
        await self._touch_api_key(record)
        return Principal(
            user_id=record["user_id"],
            role=user.get("role", "user"),
            via="api_key",
            api_key_id=str(record["_id"]),
        )

    async def is_enabled(self, user_id: str) -> bool:
        """Whether the user still exists and is not disabled (through the status cache)."""
        user = await self._users.get(user_id)
        return user is not None and not user.get("disabled")

    async def is_email_verified(self, user_id: str) -> bool:
        """Whether the user has verified their email address (users from before
        verification existed have no `email_verified` field: verified). Only a verified
        answer comes from the cache: an unverified one is read again, so a user who just
        verified may submit at once, whatever the cache's lifetime."""
        user = await self._users.get(user_id)
        if user is not None and user.get("email_verified", True):
            return True
        user = await self._users.reload(user_id)
        return user is not None and bool(user.get("email_verified", True))

    async def is_session_live(self, principal: Principal) -> bool:
        """Whether the session of `principal`'s token has not ended (an API key's: True)."""
        if principal.issued_at is None:
            return True
        user = await self._users.get(principal.user_id)
        return user is not None and not self._session_ended(
            principal.session_id, principal.issued_at, user
        )

    def sessions_ended(self, event: SessionsEnded) -> None:
        """Hear a `SessionsEnded` event: its sessions are refused from now on, the
        user's status (`sessions_valid_after`) is read afresh next time."""
        for session_id in event.session_ids:
            self.ended_sessions.add(session_id)
        self._users.forget(event.user_id)

    def _session_ended(self, session_id: str | None, issued_at: int, user: dict[str, Any]) -> bool:
        if session_id is not None and session_id in self.ended_sessions:
            return True
        valid_after = user.get("sessions_valid_after")
        # whole seconds, as `iat`: the session a password change starts in the same
        # second stays valid; the ones it ended are refused by their `sid`
        return valid_after is not None and issued_at < int(as_utc(valid_after).timestamp())

    async def _ensure_enabled(self, user_id: str) -> dict[str, Any]:
        user = await self._users.get(user_id)
        if user is None:
            raise TokenInvalid("the user no longer exists")
        if user.get("disabled"):
            raise Forbidden("this account is disabled")
        return user

    async def _touch_api_key(self, record: dict[str, Any]) -> None:
        # `last_used` is informational: bump it at most once a minute per key, not per request.
        now = utc_now()
        last_used = record.get("last_used")
        if last_used is not None and now - last_used < self._last_used_every:
            return
        await self._db[API_KEYS].update_one({"_id": record["_id"]}, {"$set": {"last_used": now}})


def _token_principal(claims: TokenClaims, *, role: Role) -> Principal:
    return Principal(
        user_id=claims.sub,
        role=role,
        via="token",
        expires_at=datetime.fromtimestamp(claims.exp, UTC),
        session_id=claims.sid,
        issued_at=claims.iat,
    )


def build_authenticator(
    settings: ServiceSettings, db: Database, jwks: JWKSClient, *, status_cache_seconds: float
) -> Authenticator:
    """An Authenticator checking tokens against auth's keys (`jwks`) and the settings'
    issuer and audience, and users' status in `db` (cached `status_cache_seconds`)."""
    verifier = TokenVerifier(jwks, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return Authenticator(verifier=verifier, db=db, status_cache_seconds=status_cache_seconds)
