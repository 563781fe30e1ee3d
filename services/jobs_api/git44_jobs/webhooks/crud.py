"""Every jobs-api query on `webhook_secrets` (one document per user) and its reads of
`webhook_deliveries` (written by the worker, one document per attempt)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime

from pymongo import DESCENDING

from git44_common.collections import WEBHOOK_DELIVERIES, WEBHOOK_SECRETS
from git44_common.mongo import Database, Document, is_duplicate_key_error
from git44_common.webhook_secrets import ENCRYPTED_FIELD, PLAIN_FIELD


async def ensure_secret(
    db: Database, user_id: str, *, sealed: Mapping[str, str], now: datetime
) -> None:
    """Store `sealed` as the user's secret unless they have one (race-safe upsert)."""
    try:
        await db[WEBHOOK_SECRETS].update_one(
            {"_id": user_id},
            {"$setOnInsert": {**sealed, "created_at": now}},
            upsert=True,
        )
    except Exception as exc:
        if not is_duplicate_key_error(exc):
            raise


async def get_secret(db: Database, user_id: str) -> Document | None:
    return await db[WEBHOOK_SECRETS].find_one({"_id": user_id})


async def stored_secrets(db: Database, *, plain_only: bool) -> AsyncIterator[Document]:
    """Every secret document, or those still holding a plain-text secret."""
    query = {PLAIN_FIELD: {"$exists": True}} if plain_only else {}
    async for document in db[WEBHOOK_SECRETS].find(query).sort("_id"):
        yield document


async def replace_secret(db: Database, stored: Document, *, token: str) -> bool:
    """Store the secret as `token` (encrypted), unless the document changed since it was
    read as `stored`; a plain-text secret goes."""
    unchanged = {
        "_id": stored["_id"],
        PLAIN_FIELD: stored.get(PLAIN_FIELD),  # None also matches a missing field
        ENCRYPTED_FIELD: stored.get(ENCRYPTED_FIELD),
    }
    result = await db[WEBHOOK_SECRETS].update_one(
        unchanged, {"$set": {ENCRYPTED_FIELD: token}, "$unset": {PLAIN_FIELD: ""}}
    )
    return result.matched_count == 1


async def delete_secret(db: Database, user_id: str) -> None:
    await db[WEBHOOK_SECRETS].delete_one({"_id": user_id})


async def list_user_deliveries(db: Database, user_id: str, *, limit: int) -> list[Document]:
    """The user's delivery attempts, newest first."""
    cursor = (
        db[WEBHOOK_DELIVERIES]
        .find({"user_id": user_id})
        .sort([("attempted_at", DESCENDING), ("_id", DESCENDING)])
        .limit(limit)
    )
    return [doc async for doc in cursor]
