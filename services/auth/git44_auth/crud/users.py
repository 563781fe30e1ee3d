"""The `users` collection: `_id` (uuid4 hex), `email` (lower-cased, unique),
`password_hash`, `role`, `disabled`, `email_verified` (absent in users from before
email verification: they count as verified), `created_at`, `updated_at`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from git44_auth.models import UserFilter
from git44_common.collections import USERS
from git44_common.mongo import Database, Document
from git44_common.pagination import after_cursor, keyset_sort, split_page
from git44_common.tokens import Role


async def insert_user(
    db: Database,
    *,
    user_id: str,
    email: str,
    password_hash: str,
    role: Role,
    email_verified: bool,
    now: datetime,
) -> Document | None:
    """The new user, or None when the email is taken (the unique index decides)."""
    user: Document = {
        "_id": user_id,
        "email": email,
        "password_hash": password_hash,
        "role": role,
        "disabled": False,
        "email_verified": email_verified,
        "created_at": now,
        "updated_at": now,
    }
    try:
        await db[USERS].insert_one(user)
    except DuplicateKeyError:
        return None
    return user


async def get_user(db: Database, user_id: str) -> Document | None:
    return await db[USERS].find_one({"_id": user_id})


async def get_user_by_email(db: Database, email: str) -> Document | None:
    return await db[USERS].find_one({"email": email})


async def set_password_hash(
    db: Database, *, user_id: str, password_hash: str, now: datetime
) -> bool:
    result = await db[USERS].update_one(
        {"_id": user_id}, {"$set": {"password_hash": password_hash, "updated_at": now}}
    )
    return result.matched_count == 1


async def mark_email_verified(db: Database, *, user_id: str, now: datetime) -> bool:
    result = await db[USERS].update_one(
        {"_id": user_id}, {"$set": {"email_verified": True, "updated_at": now}}
    )
    return result.matched_count == 1


async def set_sessions_valid_after(db: Database, *, user_id: str, now: datetime) -> None:
    """Every session of the user that started before `now` has ended (as far as the
    services are concerned: they refuse access tokens issued before it)."""
    await db[USERS].update_one({"_id": user_id}, {"$max": {"sessions_valid_after": now}})


async def update_user(
    db: Database, *, user_id: str, changes: dict[str, Any], now: datetime
) -> tuple[Document, Document] | None:
    """(before, after) of the user whose fields `changes` were set, or None if no such user."""
    before = await db[USERS].find_one_and_update(
        {"_id": user_id},
        {"$set": {**changes, "updated_at": now}},
        return_document=ReturnDocument.BEFORE,
    )
    if before is None:
        return None
    return before, {**before, **changes, "updated_at": now}


async def list_users(
    db: Database, which: UserFilter, *, cursor: str | None, limit: int
) -> tuple[list[Document], str | None]:
    """One page of the users `which` matches, newest first, and the next page's cursor
    (None on the last); ValidationFailed (422) for a cursor this listing did not hand out."""
    query: Document = {}
    if which.email_contains:
        query["email"] = {"$regex": re.escape(which.email_contains.lower())}
    if which.role is not None:
        query["role"] = which.role
    if which.disabled is not None:
        query["disabled"] = which.disabled
    found = db[USERS].find(after_cursor(query, cursor), projection={"password_hash": 0})
    docs = await found.sort(keyset_sort()).limit(limit + 1).to_list()
    return split_page(docs, limit)


async def delete_user(db: Database, user_id: str) -> bool:
    """True if the user existed and is gone."""
    result = await db[USERS].delete_one({"_id": user_id})
    return result.deleted_count == 1
