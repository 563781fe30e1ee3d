"""Settings: prefixed and shared environment, secrets directory, placeholder secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from git44_common.settings import ServiceSettings
from tests.utils.production import PRODUCTION_CONNECTIONS, write_connection_secrets

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
    write_connection_secrets(tmp_path)  # shared settings: files named without the prefix
    monkeypatch.setenv("GIT44_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("GIT44_ENV", "production")
    settings = DemoSettings()
    assert settings.signing_secret.get_secret_value() == "a-real-secret-value"
    assert "a-real-secret-value" not in repr(settings)
    assert settings.mongodb_url == PRODUCTION_CONNECTIONS["mongodb_url"]
    assert settings.amqp_url == PRODUCTION_CONNECTIONS["amqp_url"]


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


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        ("MONGODB_URL", "mongodb://127.0.0.1:27017/?directConnection=true"),
        ("MONGODB_URL", "mongodb://git44:git44-dev-only@mongo:27017/?replicaSet=rs0"),
        ("AMQP_URL", "amqp://guest:guest@rabbitmq:5672/"),
        ("AMQP_URL", "amqp://git44:git44-dev-only@rabbitmq:5672/"),
        ("AMQP_URL", "amqp://git44:ChangeMe@rabbitmq:5672/"),
        ("AMQP_URL", "amqp://git44:@rabbitmq:5672/"),
        ("AMQP_URL", "amqp://rabbitmq:5672/"),
    ],
)
def test_production_refuses_connections_without_real_credentials(
    monkeypatch: pytest.MonkeyPatch, variable: str, url: str
) -> None:
    for name, value in PRODUCTION_CONNECTIONS.items():
        monkeypatch.setenv(name.upper(), value)
    monkeypatch.setenv(variable, url)
    monkeypatch.setenv("DEMO_SIGNING_SECRET", "a-real-secret-value")
    monkeypatch.setenv("GIT44_ENV", "production")
    with pytest.raises(ValidationError, match=variable) as refused:
        DemoSettings()
    assert url not in str(refused.value)  # the message never quotes a password


def test_production_accepts_credentials_that_are_not_in_the_url() -> None:
    x509 = "mongodb://mongo:27017/?authMechanism=MONGODB-X509&tls=true"
    settings = DemoSettings(
        environment="production",
        signing_secret="a-real-secret-value",
        mongodb_url=x509,
        amqp_url=PRODUCTION_CONNECTIONS["amqp_url"],
    )
    assert settings.mongodb_url == x509
