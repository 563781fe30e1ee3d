"""Webhook signing secrets at rest: stored encrypted under the one key list jobs-api and
the worker share, plain-text ones from before still read until they are migrated."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from git44_common.exceptions import UnreadableSecret
from git44_common.webhook_secrets import (
    ENCRYPTED_FIELD,
    PLAIN_FIELD,
    WebhookSecretsSettings,
    new_webhook_secret,
    open_secret,
    sealed_secret,
)
from git44_jobs.core.config import JobsSettings
from git44_worker.core.config import WorkerSettings
from tests.utils.production import write_connection_secrets

pytestmark = pytest.mark.filterwarnings("ignore:.*placeholder value:UserWarning")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GIT44_SECRETS_DIR", "WEBHOOK_SECRETS_ENCRYPTION_KEY", "GIT44_ENV"):
        monkeypatch.delenv(name, raising=False)


def keys_of(setting: str) -> WebhookSecretsSettings:
    return WebhookSecretsSettings(environment="test", webhook_secrets_encryption_key=setting)


def test_a_secret_is_stored_encrypted_and_opens_again() -> None:
    keys = keys_of("a webhook passphrase").webhook_secret_keys()
    secret = new_webhook_secret()
    stored = sealed_secret(secret, keys)
    assert set(stored) == {ENCRYPTED_FIELD}
    assert secret not in stored[ENCRYPTED_FIELD]
    assert open_secret(stored, keys) == secret


def test_a_plain_secret_from_before_is_read_as_is() -> None:
    keys = keys_of("a webhook passphrase").webhook_secret_keys()
    assert open_secret({PLAIN_FIELD: "whsec_from_before"}, keys) == "whsec_from_before"


def test_a_secret_under_an_unknown_key_is_unreadable() -> None:
    stored = sealed_secret("whsec_x", keys_of("one passphrase").webhook_secret_keys())
    with pytest.raises(UnreadableSecret):
        open_secret(stored, keys_of("another passphrase").webhook_secret_keys())


def test_jobs_api_and_the_worker_read_one_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("WEBHOOK_SECRETS_ENCRYPTION_KEY", key)
    stored = sealed_secret("whsec_shared", JobsSettings().webhook_secret_keys())
    assert open_secret(stored, WorkerSettings().webhook_secret_keys()) == "whsec_shared"


def test_both_read_the_one_secret_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    (tmp_path / "webhook_secrets_encryption_key").write_text(key + "\n")
    write_connection_secrets(tmp_path)
    monkeypatch.setenv("GIT44_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("GIT44_ENV", "production")
    for settings in (JobsSettings(), WorkerSettings()):
        assert settings.webhook_secrets_encryption_key.get_secret_value() == key


@pytest.mark.parametrize("settings_class", [JobsSettings, WorkerSettings])
def test_production_refuses_the_development_default(
    settings_class: type[WebhookSecretsSettings],
) -> None:
    with pytest.raises(ValidationError, match="webhook_secrets_encryption_key"):
        settings_class(environment="production")


def test_the_derivation_is_pinned() -> None:
    """Stored secrets depend on it: a change would make every webhook secret unreadable."""
    keys = keys_of("correct horse battery staple").webhook_secret_keys()
    token = (
        "gAAAAABrDcK1vRKxrtiotP83ZcMjo_9EdK-VKLx9kQ6-SUZ5jGM4uh-mlFMzeYzBlw9QNGcA39l0BrSJTVAY4t8e"
        "kJgTyhcM9g=="
    )
    assert open_secret({ENCRYPTED_FIELD: token}, keys) == "whsec_pinned"
