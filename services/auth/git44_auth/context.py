"""What the auth routes work with, built once in the lifespan (`build_context`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx

from git44_auth.core.config import AuthSettings
from git44_auth.keys import KeyRing
from git44_auth.mail.outbox import MailOutbox
from git44_auth.passwords import PasswordHasher
from git44_auth.throttle import AuthLimits, Throttle
from git44_auth.tokens import TokenPolicy
from git44_common.amqp import Publisher
from git44_common.mongo import Database
from git44_common.security import Authenticator
from git44_common.tokens import JWKSClient, TokenVerifier

LOCAL_JWKS_URL = "http://auth.local/.well-known/jwks.json"


@dataclass(frozen=True, kw_only=True)
class AuthContext:
    settings: AuthSettings
    db: Database
    keys: KeyRing
    policy: TokenPolicy
    hasher: PasswordHasher
    throttle: Throttle
    verifier: TokenVerifier
    authenticator: Authenticator
    mail: MailOutbox
    publisher: Publisher | None = None  # None in the CLI: no events, the store suffices
    jobs_api: httpx.AsyncClient | None = None  # None in the CLI: no data export


def local_jwks_client(keys: KeyRing) -> JWKSClient:
    """A JWKS client reading auth's own key set in memory instead of over HTTP.

    Auth verifies its tokens with the same `TokenVerifier` every other service uses,
    parsing the very document `/.well-known/jwks.json` serves.
    """
    transport = httpx.MockTransport(lambda _request: httpx.Response(200, json=keys.jwks()))
    return JWKSClient(LOCAL_JWKS_URL, http=httpx.AsyncClient(transport=transport))


def load_key_ring(settings: AuthSettings) -> KeyRing:
    """The configured keys; a fresh one in development/test when none is configured."""
    if settings.jwt_private_keys is None:
        return KeyRing.generate()  # AuthSettings refuses this outside development
    return KeyRing.from_pem(settings.jwt_private_keys.get_secret_value())


def build_context(
    settings: AuthSettings,
    db: Database,
    keys: KeyRing,
    *,
    publisher: Publisher | None = None,
    jobs_api: httpx.AsyncClient | None = None,
) -> AuthContext:
    """The context; without a `publisher` (the CLI) mail waits in the outbox."""
    verifier = TokenVerifier(
        local_jwks_client(keys), issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    return AuthContext(
        settings=settings,
        db=db,
        keys=keys,
        policy=TokenPolicy(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        ),
        hasher=PasswordHasher(rounds=settings.bcrypt_rounds),
        throttle=Throttle(db, AuthLimits.from_settings(settings)),
        verifier=verifier,
        authenticator=Authenticator(
            verifier=verifier, db=db, status_cache_seconds=settings.user_status_cache_seconds
        ),
        mail=MailOutbox(
            db=db,
            publisher=publisher,
            public_url=settings.public_url,
            publish_timeout=settings.mail_publish_timeout_seconds,
        ),
        publisher=publisher,
        jobs_api=jobs_api,
    )
