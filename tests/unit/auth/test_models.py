"""Request validation: passwords must match and fit bcrypt's 72 bytes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from git44_auth.models import PasswordChangeRequest, RegisterRequest, UserUpdate


def register(password: str, confirm: str | None = None) -> RegisterRequest:
    return RegisterRequest.model_validate(
        {"email": "a@example.com", "password": password, "confirmPassword": confirm or password}
    )


def test_a_valid_registration() -> None:
    assert register("eight ch").password == "eight ch"


@pytest.mark.parametrize(
    ("password", "confirm"),
    [("", None), ("x" * 73, None), ("é" * 37, None), ("long enough", "different!")],
)
def test_invalid_passwords(password: str, confirm: str | None) -> None:
    # the minimum length is the setting's, checked by the service (test_session_flow)
    with pytest.raises(ValidationError):
        register(password, confirm)


def test_password_change_needs_matching_new_passwords() -> None:
    with pytest.raises(ValidationError):
        PasswordChangeRequest.model_validate(
            {"currentPassword": "old", "newPassword": "new password", "confirmPassword": "nope"}
        )


def test_user_update_accepts_only_role_and_disabled() -> None:
    assert UserUpdate.model_validate({"disabled": True}).disabled is True
    with pytest.raises(ValidationError):
        UserUpdate.model_validate({"email": "x@example.com"})
