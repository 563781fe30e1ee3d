"""Request and response schemas of the auth API (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from git44_auth.passwords import MAX_PASSWORD_BYTES
from git44_common.tokens import Role

MIN_PASSWORD_LENGTH = 8
MAX_EMAIL_LENGTH = 320


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


def _password_fits_bcrypt(value: str) -> str:
    if len(value.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"must be at most {MAX_PASSWORD_BYTES} bytes")
    return value


Password = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_BYTES)


class RegisterRequest(Schema):
    email: str = Field(max_length=MAX_EMAIL_LENGTH)
    password: str = Password
    confirm_password: str = Field(max_length=MAX_PASSWORD_BYTES)

    _bytes = field_validator("password")(_password_fits_bcrypt)

    @model_validator(mode="after")
    def _passwords_match(self) -> Self:
        if self.password != self.confirm_password:
            raise ValueError("passwords do not match")
        return self


class LoginRequest(Schema):
    email: str = Field(min_length=1, max_length=MAX_EMAIL_LENGTH)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_BYTES)


class RefreshRequest(Schema):
    refresh_token: str = Field(min_length=1, max_length=8192)


class PasswordChangeRequest(Schema):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_BYTES)
    new_password: str = Password
    confirm_password: str = Field(max_length=MAX_PASSWORD_BYTES)

    _bytes = field_validator("new_password")(_password_fits_bcrypt)

    @model_validator(mode="after")
    def _passwords_match(self) -> Self:
        if self.new_password != self.confirm_password:
            raise ValueError("passwords do not match")
        return self


class UserPublic(Schema):
    id: str
    email: str
    role: Role
    created_at: datetime


class UserAdminPublic(UserPublic):
    disabled: bool
    updated_at: datetime | None = None


class UsersPublic(Schema):
    data: list[UserAdminPublic]
    next_cursor: str | None


class UserUpdate(Schema):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: bool | None = None


class TokensPublic(Schema):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class SessionPublic(TokensPublic):
    user: UserPublic


class ApiKeyCreate(Schema):
    name: str = Field(default="Default", min_length=1, max_length=100)


class ApiKeyPublic(Schema):
    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used: datetime | None = None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="the secret key; shown only in this response")


class ApiKeysPublic(Schema):
    data: list[ApiKeyPublic]
    next_cursor: str | None = None


class RegisteredPublic(SessionPublic):
    api_key: ApiKeyCreated
