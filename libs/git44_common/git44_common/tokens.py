"""Verification of the EdDSA JWTs minted by the auth service.

Only auth holds the private key; every other service verifies with the public keys it
publishes at `/.well-known/jwks.json`. `JWKSClient` fetches that set with httpx
(PyJWT's `PyJWKClient` is synchronous urllib), caches it, and refetches it when a
token names an unknown `kid` (key rotation) — at most once per `min_refetch_seconds`,
however many requests miss at the same time. Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any, Literal

import httpx
import jwt
from jwt import PyJWK, PyJWKSet
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from git44_common.exceptions import ServiceUnavailable, TokenExpired, TokenInvalid

log = logging.getLogger(__name__)

TokenType = Literal["access", "refresh"]
Role = Literal["user", "admin"]
MAX_TOKEN_LENGTH = 8192
_REQUIRED_CLAIMS = ("sub", "jti", "exp", "iat", "iss", "aud")


class TokenClaims(BaseModel):
    """The verified claims of a Git44 token."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    sub: str = Field(min_length=1)
    role: Role
    jti: str = Field(min_length=1)
    exp: int
    iat: int
    type: TokenType = Field(validation_alias=AliasChoices("type", "typ"))
    iss: str
    aud: str | list[str]
    # the session (login) the token belongs to; tokens minted before sessions had ids
    # carry none and stay valid until they expire
    sid: str | None = None


class JWKSClient:
    """Cached access to a JWKS document, keyed by `kid`."""

    def __init__(
        self,
        url: str,
        *,
        http: httpx.AsyncClient | None = None,
        cache_seconds: float = 300,
        min_refetch_seconds: float = 5,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def aclose(self) -> None:
        """Close the HTTP client if this instance created it."""
        if self._owns_http:
            await self._http.aclose()

    async def get_key(self, kid: str) -> PyJWK:
        """The public key named `kid`; raises TokenInvalid if the set has no such key."""
        if self._is_fresh() and kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if not self._is_fresh() or (kid not in self._keys and self._may_refetch()):
                await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise TokenInvalid("The token was signed with an unknown key.")
        return key

    def _is_fresh(self) -> bool:
        return self._fetched_at is not None and (
            time.monotonic() - self._fetched_at < self.cache_seconds
        )

    def _may_refetch(self) -> bool:
        return self._attempted_at is None or (
            time.monotonic() - self._attempted_at >= self.min_refetch_seconds
        )

    async def _refresh(self) -> None:
        if not self._may_refetch():
            if self._keys:
                return
            raise ServiceUnavailable("Token verification keys are unavailable.", retry_after=5)
        self._attempted_at = time.monotonic()
        self.fetch_count += 1
        try:
            keys = await self._fetch()
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            log.warning("JWKS fetch failed: %s", type(exc).__name__, extra={"url": self.url})
            if not self._keys:
                raise ServiceUnavailable(
                    "Token verification keys are unavailable.", retry_after=5
                ) from exc
            return  # keep serving the keys we have
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def _fetch(self) -> dict[str, PyJWK]:
        response = await self._http.get(self.url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError("JWKS document is not an object")
        usable = [
            k
            for k in document.get("keys", [])
            if isinstance(k, dict) and k.get("use", "sig") == "sig"
        ]
        return {key.key_id: key for key in PyJWKSet(usable) if key.key_id}


class TokenVerifier:
    """Checks a bearer token's header, signature and claims; returns its claims."""

    def __init__(
        self,
        jwks: JWKSClient,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str] = ("EdDSA",),
        leeway: float = 0,
    ) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway = leeway

    async def verify(self, token: str, *, token_type: TokenType = "access") -> TokenClaims:
        """Verified claims of `token`; TokenExpired or TokenInvalid (401) otherwise."""
        alg, kid = self._read_header(token)
        key = await self.jwks.get_key(kid)
        if key.algorithm_name != alg:
            raise TokenInvalid("The token's algorithm does not match its key.")
        claims = self._decode(token, key, alg)
        try:
            verified = TokenClaims.model_validate(claims)
        except ValidationError:
            raise TokenInvalid("The token's claims are invalid.") from None
        if verified.type != token_type:
            raise TokenInvalid(f"This endpoint needs an {token_type!r} token.")
        return verified

    def _read_header(self, token: str) -> tuple[str, str]:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise TokenInvalid("The token is malformed.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenInvalid("The token is malformed.") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise TokenInvalid("The token's algorithm is not accepted.")
        if not isinstance(kid, str) or not kid:
            raise TokenInvalid("The token names no signing key.")
        return alg, kid

    def _decode(self, token: str, key: PyJWK, alg: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(_REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("The token has expired.") from None
        except jwt.PyJWTError:
            raise TokenInvalid("The token is invalid.") from None
