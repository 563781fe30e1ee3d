"""Request and response schemas of the auth API (camelCase on the wire)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, AwareDatetime, Field, model_validator

from git44_auth.passwords import MAX_PASSWORD_BYTES
from git44_common.schemas import ApiInput, ApiModel, IsoTime, Page
from git44_common.tokens import Role

if TYPE_CHECKING:
    from git44_auth.tokens import TokenPair

MAX_EMAIL_LENGTH = 320


def _fits_bcrypt(value: str) -> str:
    if len(value.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"must be at most {MAX_PASSWORD_BYTES} bytes")
    return value


# The minimum length is AUTH_PASSWORD_MIN_LENGTH, checked by the service (accounts.py).
NewPassword = Annotated[
    str,
    Field(min_length=1, max_length=MAX_PASSWORD_BYTES),
    AfterValidator(_fits_bcrypt),
]


class _ConfirmedPassword(ApiModel):
    """A body that repeats its new password in `confirmPassword`."""

    password_fields: ClassVar[tuple[str, str]]  # (the new password, its confirmation)

    @model_validator(mode="after")
    def _passwords_match(self) -> Self:
        password, confirmation = (getattr(self, name) for name in self.password_fields)
        if password != confirmation:
            raise ValueError("passwords do not match")
        return self


# Request bodies accept unknown fields (ApiModel), as they always did; UserUpdate refuses them.


class RegisterRequest(_ConfirmedPassword):
    password_fields = ("password", "confirm_password")

    email: str = Field(max_length=MAX_EMAIL_LENGTH)
    password: NewPassword
    confirm_password: str = Field(max_length=MAX_PASSWORD_BYTES)


class LoginRequest(ApiModel):
    email: str = Field(min_length=1, max_length=MAX_EMAIL_LENGTH)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_BYTES)


class RefreshRequest(ApiModel):
    refresh_token: str = Field(min_length=1, max_length=8192)


class PasswordChangeRequest(_ConfirmedPassword):
    password_fields = ("new_password", "confirm_password")

    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_BYTES)
    new_password: NewPassword
    confirm_password: str = Field(max_length=MAX_PASSWORD_BYTES)
    revoke_api_keys: bool = Field(
        default=False, description="also revoke every API key (e.g. one may have leaked)"
    )


class VerifyEmailRequest(ApiModel):
    token: str = Field(min_length=1, max_length=128)


class PasswordForgotRequest(ApiModel):
    email: str = Field(min_length=1, max_length=MAX_EMAIL_LENGTH)


class PasswordResetRequest(_ConfirmedPassword):
    password_fields = ("password", "confirm_password")

    token: str = Field(min_length=1, max_length=128)
    password: NewPassword
    confirm_password: str = Field(max_length=MAX_PASSWORD_BYTES)
    revoke_api_keys: bool = Field(
        default=False, description="also revoke every API key (e.g. one may have leaked)"
    )


class AcceptedPublic(ApiModel):
    """A request taken on, its outcome mailed (202)."""

    detail: str


class UserPublic(ApiModel):
    id: str
    email: str
    role: Role
    created_at: IsoTime
    # absent in accounts from before email verification: they count as verified
    email_verified: bool = True


class UserAdminPublic(UserPublic):
    disabled: bool = False
    updated_at: IsoTime | None = None


class UsersPublic(Page[UserAdminPublic]):
    pass


class UserUpdate(ApiInput):
    role: Role | None = None
    disabled: bool | None = None


class TokensPublic(ApiModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int

    @classmethod
    def of(cls, tokens: TokenPair, **extra: Any) -> Self:
        return cls(
            access_token=tokens.access.token,
            refresh_token=tokens.refresh.token,
            expires_in=tokens.expires_in,
            **extra,
        )


class SessionPublic(TokensPublic):
    user: UserPublic


class ApiKeyCreate(ApiModel):
    name: str = Field(default="Default", min_length=1, max_length=100)
    expires_at: AwareDatetime | None = Field(
        default=None, description="when the key stops working (none: until revoked)"
    )


class ApiKeyPublic(ApiModel):
    id: str
    name: str
    prefix: str
    created_at: IsoTime
    last_used: IsoTime | None = None
    expires_at: IsoTime | None = None


class ApiKeyExport(ApiKeyPublic):
    revoked_at: IsoTime | None = None


class AccountExportPublic(ApiModel):
    """Everything Git44 holds about the caller, from every service, in one document."""

    account: UserPublic
    api_keys: list[ApiKeyExport]
    removal: dict[str, Any] = Field(description="jobs-api's part: `quota` and `jobs`")


class AccountDeleteRequest(ApiModel):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_BYTES)


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="the secret key; shown only in this response")


class ApiKeysPublic(Page[ApiKeyPublic]):
    next_cursor: str | None = None  # every live key fits one page


class RegisteredPublic(SessionPublic):
    api_key: ApiKeyCreated


@dataclass(frozen=True)
class UserFilter:
    """The admin's user list filters: an email substring, a role, the disabled flag."""

    email_contains: str | None = None
    role: Role | None = None
    disabled: bool | None = None
