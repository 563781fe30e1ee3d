"""key-manager settings: secrets and seed keys are refused where they do not belong."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from git44_keys.core.config import KeysSettings
from tests.utils.production import PRODUCTION_CONNECTIONS


def test_the_placeholder_encryption_key_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="encryption_key"):
        KeysSettings(environment="production")


def test_seed_keys_are_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="SEED_KEYS"):
        KeysSettings(
            environment="production",
            **PRODUCTION_CONNECTIONS,
            encryption_key="a-real-production-secret-value",
            seed_keys="k1-aaaaaaaa",
        )


def test_the_placeholder_encryption_key_only_warns_in_development() -> None:
    with pytest.warns(UserWarning, match="placeholder"):
        KeysSettings(environment="development")


def test_seed_keys_are_a_comma_list_in_development() -> None:
    settings = KeysSettings(
        environment="development",
        encryption_key="dev-secret-value",
        seed_keys=" demo-key-1, ,demo-key-2 ",
    )
    assert settings.seed_key_list == ["demo-key-1", "demo-key-2"]


def test_defaults_follow_the_design() -> None:
    settings = KeysSettings(environment="test", encryption_key="test-secret-value")
    assert settings.lease_seconds == 90
    assert settings.cooldown_seconds == 3600
    assert settings.default_max_concurrency == 5


def test_a_malformed_key_list_is_refused_without_showing_it() -> None:
    with pytest.raises(ValidationError, match="empty entry") as raised:
        KeysSettings(environment="test", encryption_key="new-s3cret-passphrase,")
    assert "s3cret" not in str(raised.value)


def test_a_replica_ttl_shorter_than_two_heartbeats_is_refused() -> None:
    """One late heartbeat must not stop a replica leasing."""
    with pytest.raises(ValidationError, match="KEYS_REPLICA_TTL_SECONDS"):
        KeysSettings(environment="test", replica_heartbeat_seconds=2, replica_ttl_seconds=3)
