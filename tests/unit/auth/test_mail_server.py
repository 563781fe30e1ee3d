"""AUTH_SMTP_URL: TLS modes, ports, credentials; and the settings production refuses."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from git44_auth.core.config import DEV_SMTP_URL, AuthSettings
from git44_auth.keys import private_key_pem
from git44_auth.mail.server import SmtpServer, parse_smtp_url
from tests.utils.production import PRODUCTION_CONNECTIONS, PRODUCTION_PUBLIC_URL

PRODUCTION = {
    **PRODUCTION_CONNECTIONS,
    "jwt_private_keys": private_key_pem(Ed25519PrivateKey.generate()),
    "public_url": PRODUCTION_PUBLIC_URL,
}


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("smtp://127.0.0.1:1025", SmtpServer(host="127.0.0.1", port=1025)),
        ("smtp://mail.example", SmtpServer(host="mail.example", port=25)),
        (
            "smtp://app:p%40ss%2Fword@mail.example:587?starttls=required",
            SmtpServer(
                host="mail.example",
                port=587,
                username="app",
                password="p@ss/word",
                start_tls=True,
            ),
        ),
        (
            "smtp://relay.local?starttls=off",
            SmtpServer(host="relay.local", port=25, start_tls=False),
        ),
        (
            "smtps://app:secret-pass@mail.example",
            SmtpServer(
                host="mail.example", port=465, username="app", password="secret-pass", use_tls=True
            ),
        ),
    ],
)
def test_smtp_urls(url: str, server: SmtpServer) -> None:
    assert parse_smtp_url(url) == server


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example",
        "smtp://",
        "smtps://u:hunter2-pass@mail.example?starttls=off",
        "smtp://mail.example?starttls=maybe",
        "smtp://u:hunter2-pass@mail.example:99999",
    ],
)
def test_bad_smtp_urls_are_refused_without_quoting_them(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP URL|starttls") as caught:
        parse_smtp_url(url)
    assert "hunter2" not in str(caught.value)


def test_development_sends_to_the_simulators_sink_by_default() -> None:
    settings = AuthSettings(environment="development")
    assert settings.smtp_server_url() == DEV_SMTP_URL
    assert parse_smtp_url(DEV_SMTP_URL).is_development_sink
    assert settings.mail_max_attempts == len(settings.mail_retry_delays_seconds) + 1


@pytest.mark.parametrize(
    "smtp_url",
    [None, "smtp://127.0.0.1:1025", "smtp://localhost:1025", "smtp://app:changeme@mail.example"],
)
def test_production_refuses_no_smtp_server_the_dev_sink_or_a_placeholder(
    smtp_url: str | None,
) -> None:
    with pytest.raises(ValidationError, match="AUTH_SMTP_URL") as caught:
        AuthSettings(environment="production", **PRODUCTION, smtp_url=smtp_url)
    assert "changeme" not in str(caught.value)


def test_production_takes_a_real_smtp_server() -> None:
    settings = AuthSettings(
        environment="production", **PRODUCTION, smtp_url="smtps://app:a-real-pass@mail.example"
    )
    assert parse_smtp_url(settings.smtp_server_url()).use_tls


@pytest.mark.parametrize(
    "overrides",
    [{"mail_from": "no address here"}, {"mail_retry_delays_seconds": [10, -1]}],
)
def test_mail_settings_are_checked(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AuthSettings(environment="test", **overrides)


def test_a_blank_smtp_url_means_none() -> None:
    assert AuthSettings(environment="test", smtp_url=" ").smtp_server_url() == DEV_SMTP_URL
