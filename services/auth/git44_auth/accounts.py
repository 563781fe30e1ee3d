"""Accounts: registration, password login, password change, Dev API keys.

A password change and a new API key are mailed to the user (`ctx.mail`), so a stolen
session that changes either shows in their inbox; registration's first key is not.
Registration mails the email verification link (verification.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email

from git44_auth.context import AuthContext
from git44_auth.crud import api_keys, users
from git44_auth.mail.messages import MailKind
from git44_auth.metrics import LOGINS, REGISTRATIONS
from git44_auth.models import PasswordChangeRequest, RegisterRequest
from git44_auth.passwords import weak_password_reason
from git44_auth.sessions import end_all_sessions, start_session
from git44_auth.tokens import TokenPair
from git44_auth.verification import ensure_verified, send_verification_mail
from git44_common.exceptions import (
    Conflict,
    EmailTaken,
    Forbidden,
    InvalidCredentials,
    NotFound,
    TokenInvalid,
    ValidationFailed,
)
from git44_common.ids import new_id
from git44_common.mongo import Database, Document
from git44_common.security import api_key_display_prefix, generate_api_key, hash_api_key
from git44_common.tokens import Role

log = logging.getLogger(__name__)
FIRST_API_KEY_NAME = "Default"


@dataclass(frozen=True)
class NewApiKey:
    record: Document
    key: str  # the secret: returned once, never stored or logged


@dataclass(frozen=True)
class Registration:
    user: Document
    tokens: TokenPair
    api_key: NewApiKey


def normalize_email(raw: str) -> str:
    """The address lower-cased, or ValidationFailed (422) if it is not a valid address."""
    try:
        valid = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        errors = [{"loc": ["body", "email"], "msg": str(exc), "type": "value_error.email"}]
        raise ValidationFailed("email: not a valid email address", errors=errors) from None
    return valid.normalized.lower()


def check_new_password(password: str, *, min_length: int, field: str) -> None:
    """ValidationFailed (422) unless `password` (the body's `field`) may be set."""
    reason = weak_password_reason(password, min_length=min_length)
    if reason is not None:
        errors = [{"loc": ["body", field], "msg": reason, "type": "value_error.password"}]
        raise ValidationFailed(f"{field}: {reason}", errors=errors)


async def create_user(
    ctx: AuthContext,
    *,
    email: str,
    password: str,
    role: Role,
    email_verified: bool,
    now: datetime,
) -> Document:
    """A new user; EmailTaken (409) if the address is registered (even concurrently)."""
    if await users.get_user_by_email(ctx.db, email) is not None:
        raise EmailTaken("This email address is already registered.")
    password_hash = await ctx.hasher.hash(password)
    user = await users.insert_user(
        ctx.db,
        user_id=new_id(),
        email=email,
        password_hash=password_hash,
        role=role,
        email_verified=email_verified,
        now=now,
    )
    if user is None:  # lost the race to a concurrent registration: the unique index decided
        raise EmailTaken("This email address is already registered.")
    return user


async def register(ctx: AuthContext, request: RegisterRequest, *, now: datetime) -> Registration:
    """A new account with its first API key, signed in (the caller has counted it
    against the registration limits)."""
    email = normalize_email(request.email)
    check_new_password(
        request.password, min_length=ctx.settings.password_min_length, field="password"
    )
    user = await create_user(
        ctx, email=email, password=request.password, role="user", email_verified=False, now=now
    )
    # The first key works for reads at once; submitting waits for the verification.
    api_key = await issue_api_key(ctx, user_id=user["_id"], name=FIRST_API_KEY_NAME, now=now)
    await send_verification_mail(ctx, user, now=now)
    tokens = await start_session(ctx, user, now=now)
    REGISTRATIONS.inc()
    log.info("user registered", extra={"user_id": user["_id"]})
    return Registration(user=user, tokens=tokens, api_key=api_key)


async def log_in(
    ctx: AuthContext, *, email: str, password: str, client_ip: str, now: datetime
) -> tuple[Document, TokenPair]:
    """The user and a new session (the caller has counted the attempt against the login
    limits, before the password is checked); a success gives the attempt back."""
    email = email.strip().lower()
    user = await users.get_user_by_email(ctx.db, email)
    # Unknown emails check against a dummy hash: same time as a wrong password.
    if not await ctx.hasher.verify(password, user["password_hash"] if user else None):
        LOGINS.labels("invalid_credentials").inc()
        raise InvalidCredentials("The email or password is incorrect.")
    assert user is not None
    if user.get("disabled"):
        LOGINS.labels("disabled").inc()
        raise Forbidden("This account is disabled.")
    await ctx.throttle.login_succeeded(ip=client_ip, email=email, now=now)
    LOGINS.labels("success").inc()
    return user, await start_session(ctx, user, now=now)


async def change_password(
    ctx: AuthContext, *, user_id: str, request: PasswordChangeRequest, now: datetime
) -> TokenPair:
    """Set a new password, end every session of the user, and start a new one."""
    check_new_password(
        request.new_password, min_length=ctx.settings.password_min_length, field="newPassword"
    )
    user = await users.get_user(ctx.db, user_id)
    if user is None:
        raise TokenInvalid("The user no longer exists.")
    if not await ctx.hasher.verify(request.current_password, user["password_hash"]):
        raise InvalidCredentials("The current password is incorrect.")
    await replace_password(
        ctx, user, request.new_password, now=now, revoke_api_keys=request.revoke_api_keys
    )
    return await start_session(ctx, user, now=now)


async def replace_password(
    ctx: AuthContext,
    user: Document,
    password: str,
    *,
    now: datetime,
    revoke_api_keys: bool = False,
) -> None:
    """Set the user's new (checked) password, end every session of theirs (and, when
    asked, revoke every API key) and mail them that it changed: a password change, a
    reset by mail and an admin account taken over with `create-admin` all end here."""
    user_id = user["_id"]
    password_hash = await ctx.hasher.hash(password)
    await users.set_password_hash(ctx.db, user_id=user_id, password_hash=password_hash, now=now)
    await end_all_sessions(ctx, user_id, now=now, reason="password_changed")
    revoked = 0
    if revoke_api_keys:
        revoked = await api_keys.revoke_user_api_keys(ctx.db, user_id=user_id, now=now)
    log.info("password changed", extra={"user_id": user_id, "api_keys_revoked": revoked})
    await ctx.mail.send(MailKind.PASSWORD_CHANGED, to=user["email"])


async def create_api_key(
    ctx: AuthContext,
    *,
    user_id: str,
    name: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> NewApiKey:
    """A new key for the user (see `issue_api_key`), announced to them by mail;
    EmailUnverified (403) while they must verify their address."""
    user = await users.get_user(ctx.db, user_id)
    if user is not None:
        ensure_verified(ctx, user)
    new = await issue_api_key(ctx, user_id=user_id, name=name, now=now, expires_at=expires_at)
    if user is not None:
        await ctx.mail.send(
            MailKind.API_KEY_CREATED,
            to=user["email"],
            key_name=name,
            key_prefix=new.record["prefix"],
        )
    return new


async def issue_api_key(
    ctx: AuthContext,
    *,
    user_id: str,
    name: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> NewApiKey:
    """A new key, unless the user has AUTH_MAX_API_KEYS_PER_USER live ones (409), even
    under concurrent creations; it works until revoked, or until `expires_at`."""
    if expires_at is not None and expires_at <= now:
        errors = [
            {"loc": ["body", "expiresAt"], "msg": "must be in the future", "type": "value_error"}
        ]
        raise ValidationFailed("expiresAt: must be in the future", errors=errors)
    key = generate_api_key()
    record = await api_keys.insert_api_key(
        ctx.db,
        key_id=new_id(),
        user_id=user_id,
        name=name,
        prefix=api_key_display_prefix(key),
        key_hash=hash_api_key(key),
        now=now,
        expires_at=expires_at,
        cap=ctx.settings.max_api_keys_per_user,
    )
    if record is None:
        raise Conflict("Too many active API keys; revoke one first.")
    log.info("api key created", extra={"user_id": user_id, "api_key_id": record["_id"]})
    return NewApiKey(record=record, key=key)


async def get_account(db: Database, user_id: str) -> Document | None:
    """The user, or None if it does not exist (any more)."""
    return await users.get_user(db, user_id)


async def list_api_keys(db: Database, user_id: str, *, limit: int) -> list[Document]:
    """The user's live API keys, newest first."""
    return await api_keys.list_active_api_keys(db, user_id, limit=limit)


async def revoke_api_key(db: Database, *, user_id: str, key_id: str, now: datetime) -> None:
    """Revoke one of the user's API keys at once (404 if there is no such live key)."""
    if not await api_keys.revoke_api_key(db, user_id=user_id, key_id=key_id, now=now):
        raise NotFound("No such API key.")
