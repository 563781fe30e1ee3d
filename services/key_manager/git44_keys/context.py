"""Everything key-manager builds once at start-up and shares (app state, consumers)."""

from __future__ import annotations

from dataclasses import dataclass

from git44_common.amqp import Publisher
from git44_common.mongo import Database
from git44_common.security import Authenticator, build_authenticator
from git44_common.tokens import JWKSClient
from git44_keys.core.config import KeysSettings
from git44_keys.crypto import KeyCipher
from git44_keys.lifecycle import KeyLifecycle
from git44_keys.pool import KeyPool
from git44_keys.registry import KeyRegistry
from git44_keys.replicas import new_replica_id


@dataclass(frozen=True, kw_only=True)
class KeysContext:
    settings: KeysSettings
    db: Database
    cipher: KeyCipher
    lifecycle: KeyLifecycle
    pool: KeyPool
    registry: KeyRegistry
    authenticator: Authenticator
    jwks: JWKSClient

    @classmethod
    def build(cls, settings: KeysSettings, db: Database, publisher: Publisher) -> KeysContext:
        cipher = KeyCipher(settings.encryption_key.get_secret_value())
        lifecycle = KeyLifecycle(db, publisher, cooldown_seconds=settings.cooldown_seconds)
        jwks = JWKSClient(settings.jwks_url)
        pool = KeyPool(
            db, cipher=cipher, lifecycle=lifecycle, settings=settings, replica_id=new_replica_id()
        )
        return cls(
            settings=settings,
            db=db,
            cipher=cipher,
            lifecycle=lifecycle,
            pool=pool,
            registry=KeyRegistry(db, cipher=cipher, lifecycle=lifecycle, pool=pool),
            authenticator=build_authenticator(
                settings, db, jwks, status_cache_seconds=settings.admin_status_cache_seconds
            ),
            jwks=jwks,
        )
