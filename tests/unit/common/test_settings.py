"""Settings: prefixed and shared environment, secrets directory, placeholder secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from git44_common.settings import ServiceSettings

# Development only warns about placeholder secrets; one test below checks the warning.
pytestmark = pytest.mark.filterwarnings("ignore:.*placeholder value:UserWarning")


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")

    port: int = 9999
    signing_secret: SecretStr = SecretStr("changethis")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GIT44_ENV",
        "MONGODB_URL",
        "AMQP_URL",
        "GIT44_SECRETS_DIR",
        "DEMO_PORT",
        "DEMO_MONGODB_URL",
        "DEMO_SIGNING_SECRET",
        "DEMO_ENVIRONMENT",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_local_development_setup() -> None:
    settings = DemoSettings()
    assert settings.port == 9999
    assert settings.amqp_url == "amqp://guest:guest@127.0.0.1:5672/"
    assert settings.is_development


def test_shared_variables_apply_and_the_service_prefix_overrides_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONGODB_URL", "mongodb://shared:27017")
    monkeypatch.setenv("AMQP_URL", "amqp://shared/")
    monkeypatch.setenv("DEMO_MONGODB_URL", "mongodb://mine:27017")
    monkeypatch.setenv("DEMO_PORT", "8123")
    settings = DemoSettings()
    assert settings.mongodb_url == "mongodb://mine:27017"
    assert settings.amqp_url == "amqp://shared/"
    assert settings.port == 8123


def test_secrets_come_from_the_secrets_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "demo_signing_secret").write_text("a-real-secret-value")
    monkeypatch.setenv("GIT44_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("GIT44_ENV", "production")
    settings = DemoSettings()
    assert settings.signing_secret.get_secret_value() == "a-real-secret-value"
    assert "a-real-secret-value" not in repr(settings)


def test_placeholder_secrets_are_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT44_ENV", "production")
    with pytest.raises(ValidationError, match="placeholder"):
        DemoSettings()


def test_placeholder_secrets_only_warn_in_development() -> None:
    with pytest.warns(UserWarning, match="placeholder"):
        settings = DemoSettings()
    assert settings.signing_secret.get_secret_value() == "changethis"


def test_bad_values_fail_with_the_field_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_PORT", "not-a-port")
    with pytest.raises(ValidationError, match="port"):
        DemoSettings()
