"""AUTH_REQUIRE_EMAIL_VERIFICATION: one variable auth and jobs-api both read, on by
default in production only."""

from __future__ import annotations

import pytest

from git44_auth.core.config import AuthSettings
from git44_common.settings import EmailVerificationSettings, Environment
from git44_jobs.core.config import JobsSettings
from tests.utils.production import PRODUCTION_CONNECTIONS


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GIT44_ENV", "AUTH_REQUIRE_EMAIL_VERIFICATION", "JOBS_REQUIRE_EMAIL_VERIFICATION"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("environment", "required"),
    [(Environment.DEVELOPMENT, False), (Environment.TEST, False), (Environment.PRODUCTION, True)],
)
def test_unset_means_on_in_production_only(environment: Environment, required: bool) -> None:
    settings = EmailVerificationSettings(environment=environment, **PRODUCTION_CONNECTIONS)
    assert settings.email_verification_required is required
    off = EmailVerificationSettings(
        environment=environment, require_email_verification=False, **PRODUCTION_CONNECTIONS
    )
    assert off.email_verification_required is False


@pytest.mark.parametrize("value", ["true", "false"])
def test_auth_and_jobs_api_read_the_one_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("AUTH_REQUIRE_EMAIL_VERIFICATION", value)
    expected = value == "true"
    assert AuthSettings().email_verification_required is expected
    assert JobsSettings().email_verification_required is expected
