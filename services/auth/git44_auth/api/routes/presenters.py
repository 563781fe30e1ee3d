"""Documents and domain results turned into response schemas."""

from __future__ import annotations

from git44_auth.accounts import NewApiKey
from git44_auth.models import (
    ApiKeyCreated,
    ApiKeyPublic,
    SessionPublic,
    TokensPublic,
    UserAdminPublic,
    UserPublic,
)
from git44_auth.tokens import TokenPair
from git44_common.mongo import Document


def user_public(user: Document) -> UserPublic:
    return UserPublic(
        id=user["_id"], email=user["email"], role=user["role"], created_at=user["created_at"]
    )


def user_admin_public(user: Document) -> UserAdminPublic:
    return UserAdminPublic(
        id=user["_id"],
        email=user["email"],
        role=user["role"],
        created_at=user["created_at"],
        disabled=bool(user.get("disabled")),
        updated_at=user.get("updated_at"),
    )


def tokens_public(tokens: TokenPair) -> TokensPublic:
    return TokensPublic(
        access_token=tokens.access.token,
        refresh_token=tokens.refresh.token,
        expires_in=tokens.expires_in,
    )


def session_public(user: Document, tokens: TokenPair) -> SessionPublic:
    return SessionPublic(**tokens_public(tokens).model_dump(), user=user_public(user))


def api_key_public(record: Document) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=record["_id"],
        name=record["name"],
        prefix=record["prefix"],
        created_at=record["created_at"],
        last_used=record.get("last_used"),
    )


def api_key_created(new: NewApiKey) -> ApiKeyCreated:
    return ApiKeyCreated(**api_key_public(new.record).model_dump(), key=new.key)
