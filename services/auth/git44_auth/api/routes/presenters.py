"""Documents and domain results turned into response schemas."""

from __future__ import annotations

from typing import Any

from git44_auth.accounts import NewApiKey, Registration
from git44_auth.models import (
    ApiKeyCreated,
    ApiKeyPublic,
    RegisteredPublic,
    SessionPublic,
    TokensPublic,
    UserAdminPublic,
    UserPublic,
)
from git44_auth.tokens import TokenPair
from git44_common.mongo import Document


def _user_fields(user: Document) -> dict[str, Any]:
    return {
        "id": user["_id"],
        "email": user["email"],
        "role": user["role"],
        "created_at": user["created_at"],
    }


def _token_fields(tokens: TokenPair) -> dict[str, Any]:
    return {
        "access_token": tokens.access.token,
        "refresh_token": tokens.refresh.token,
        "expires_in": tokens.expires_in,
    }


def _api_key_fields(record: Document) -> dict[str, Any]:
    return {
        "id": record["_id"],
        "name": record["name"],
        "prefix": record["prefix"],
        "created_at": record["created_at"],
        "last_used": record.get("last_used"),
    }


def user_public(user: Document) -> UserPublic:
    return UserPublic(**_user_fields(user))


def user_admin_public(user: Document) -> UserAdminPublic:
    return UserAdminPublic(
        **_user_fields(user),
        disabled=bool(user.get("disabled")),
        updated_at=user.get("updated_at"),
    )


def tokens_public(tokens: TokenPair) -> TokensPublic:
    return TokensPublic(**_token_fields(tokens))


def session_public(user: Document, tokens: TokenPair) -> SessionPublic:
    return SessionPublic(**_token_fields(tokens), user=user_public(user))


def api_key_public(record: Document) -> ApiKeyPublic:
    return ApiKeyPublic(**_api_key_fields(record))


def api_key_created(new: NewApiKey) -> ApiKeyCreated:
    return ApiKeyCreated(**_api_key_fields(new.record), key=new.key)


def registered_public(done: Registration) -> RegisteredPublic:
    return RegisteredPublic(
        **_token_fields(done.tokens),
        user=user_public(done.user),
        api_key=api_key_created(done.api_key),
    )
