"""Settings: development gets conveniences that production refuses."""

from __future__ import annotations

import pathlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from git44_auth.context import load_key_ring
from git44_auth.core.config import DEV_ADMIN_PASSWORD, AuthSettings
from git44_auth.keys import private_key_pem
from tests.utils.production import (
    PRODUCTION_CONNECTIONS,
    PRODUCTION_PUBLIC_URL,
    PRODUCTION_SMTP_URL,
    write_connection_secrets,
)

PEM = private_key_pem(Ed25519PrivateKey.generate())


def test_defaults_follow_the_seed() -> None:
    settings = AuthSettings(environment="test")
    assert settings.bcrypt_rounds == 12
    assert settings.access_token_ttl_seconds == 24 * 3600
    assert settings.refresh_token_ttl_seconds == 7 * 24 * 3600


def test_development_generates_a_key_when_none_is_configured() -> None:
    ring = load_key_ring(AuthSettings(environment="development"))
    assert len(ring.keys) == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # no signing key
        {"jwt_private_keys": PEM, "bcrypt_rounds": 10},
        {"jwt_private_keys": PEM, "bootstrap_admin_password": DEV_ADMIN_PASSWORD},
        {"jwt_private_keys": PEM, "bootstrap_admin_password": "changeme"},
        {"jwt_private_keys": PEM, "public_url": "http://localhost:5173"},  # the default
        {"jwt_private_keys": PEM, "public_url": "http://app.example.com"},
        {"jwt_private_keys": PEM, "public_url": "https://127.0.0.1"},
        {"jwt_private_keys": PEM, "public_url": "https://10.0.0.8/app"},
        {"jwt_private_keys": PEM, "public_url": "https://spa.localhost"},
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        AuthSettings(
            environment="production",
            **PRODUCTION_CONNECTIONS,
            **{"smtp_url": PRODUCTION_SMTP_URL, "public_url": PRODUCTION_PUBLIC_URL, **overrides},
        )
    assert "BEGIN" not in str(caught.value)


def test_production_takes_the_spas_public_https_address() -> None:
    for url in ("https://app.example.com", "https://git44.example.com/app"):
        settings = AuthSettings(
            environment="production",
            **PRODUCTION_CONNECTIONS,
            jwt_private_keys=PEM,
            smtp_url=PRODUCTION_SMTP_URL,
            public_url=url,
        )
        assert settings.public_url == url


def test_production_starts_with_a_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_JWT_PRIVATE_KEYS", PEM)
    monkeypatch.setenv("AUTH_SMTP_URL", PRODUCTION_SMTP_URL)
    monkeypatch.setenv("AUTH_PUBLIC_URL", PRODUCTION_PUBLIC_URL)
    settings = AuthSettings(environment="production", **PRODUCTION_CONNECTIONS)
    assert load_key_ring(settings).signer.kid


def test_keys_come_from_the_secrets_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    second = private_key_pem(Ed25519PrivateKey.generate())
    (tmp_path / "auth_jwt_private_keys").write_text(PEM + second)
    write_connection_secrets(tmp_path)
    (tmp_path / "auth_smtp_url").write_text(PRODUCTION_SMTP_URL)
    monkeypatch.setenv("GIT44_SECRETS_DIR", str(tmp_path))
    ring = load_key_ring(AuthSettings(environment="production", public_url=PRODUCTION_PUBLIC_URL))
    assert [key.kid for key in ring.keys] == [
        load_key_ring(AuthSettings(environment="test", jwt_private_keys=pem)).signer.kid
        for pem in (PEM, second)
    ]


def test_a_one_line_pem_with_escaped_newlines_is_accepted() -> None:
    one_line = PEM.replace("\n", "\\n")
    assert "\n" not in one_line
    settings = AuthSettings(environment="test", jwt_private_keys=one_line)
    assert (
        load_key_ring(settings).signer.kid
        == load_key_ring(AuthSettings(environment="test", jwt_private_keys=PEM)).signer.kid
    )
