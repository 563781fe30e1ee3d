"""The create-admin command's argument and password checks."""

from __future__ import annotations

import pytest

from git44_auth.cli import admin_password, check_email, parse_args
from git44_auth.core.config import AuthSettings
from git44_auth.exceptions import CliError


def test_parse_create_admin() -> None:
    args = parse_args(["create-admin", "--email", "Ops@Example.com"])
    assert (args.command, args.email) == ("create-admin", "Ops@Example.com")
    assert parse_args([]).command is None
    assert parse_args(["replay-dead-mail"]).command == "replay-dead-mail"


def test_email_is_lower_cased_and_checked() -> None:
    assert check_email(" Admin@Git44.Local ") == "admin@git44.local"
    for bad in ("nobody", "@example.com", "a b@example.com"):
        with pytest.raises(CliError):
            check_email(bad)


def test_password_comes_from_settings_or_the_prompt() -> None:
    from_env = AuthSettings(environment="test", admin_password="from the environment")
    assert admin_password(from_env) == "from the environment"
    prompted = AuthSettings(environment="test")
    assert admin_password(prompted, prompt=lambda _: "typed twice ok") == "typed twice ok"
    with pytest.raises(CliError):
        admin_password(AuthSettings(environment="test", admin_password="é" * 40))
