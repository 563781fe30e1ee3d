"""Tokens mailed to users: random, single-use, stored as a hash, short-lived.

A token is 256 random bits (url-safe text). Only its SHA-256 is stored: the token is
not a password (nobody picks it, so no salt or slow hash is needed), and a copy of the
database does not hand out links that work. A token is used up by the write that
redeems it (`crud.account_tokens.use_token`), so a link works once even when it is
clicked twice at the same moment.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from git44_auth.crud import account_tokens
from git44_common.exceptions import ValidationFailed
from git44_common.mongo import Database


class Purpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"


LIFETIMES = {
    Purpose.VERIFY_EMAIL: timedelta(hours=24),
    Purpose.RESET_PASSWORD: timedelta(minutes=30),
}
MAX_TOKEN_LENGTH = 128  # what a request may carry; ours are 43 characters


def invalid_token(detail: str) -> ValidationFailed:
    """The answer to a token that does not work (422 on `token`, not a 401: the caller's
    session is fine, only the link is not)."""
    errors = [{"loc": ["body", "token"], "msg": "invalid, used or expired", "type": "value_error"}]
    return ValidationFailed(detail, errors=errors)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(db: Database, *, user_id: str, purpose: Purpose, now: datetime) -> str:
    """A new token for the user; it works once, for its purpose's lifetime."""
    token = secrets.token_urlsafe(32)
    await account_tokens.insert_token(
        db,
        token_hash=hash_token(token),
        purpose=purpose,
        user_id=user_id,
        expires_at=now + LIFETIMES[purpose],
        now=now,
    )
    return token


async def redeem_token(db: Database, token: str, *, purpose: Purpose, now: datetime) -> str | None:
    """The user id of a live token for `purpose`, which is used up; None otherwise."""
    record = await account_tokens.use_token(
        db, token_hash=hash_token(token), purpose=purpose, now=now
    )
    return None if record is None else str(record["user_id"])


async def retire_tokens(db: Database, *, user_id: str, purpose: Purpose, now: datetime) -> None:
    """Use up the user's other live tokens for `purpose` (an older reset link dies with
    the reset it did not do)."""
    await account_tokens.use_user_tokens(db, user_id=user_id, purpose=purpose, now=now)
