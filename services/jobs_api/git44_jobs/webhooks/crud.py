"""Every jobs-api query on `webhook_secrets` (one document per user) and
`webhook_endpoints` (registered endpoints), and its reads of `webhook_deliveries`
(written by the worker, one document per attempt)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument

from git44_common.collections import WEBHOOK_DELIVERIES, WEBHOOK_ENDPOINTS, WEBHOOK_SECRETS
from git44_common.mongo import Database, Document, IndexSpec, is_duplicate_key_error
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
        .find({"user_id": user_id}, projection={"body": 0})
        .sort([("attempted_at", DESCENDING), ("_id", DESCENDING)])
        .limit(limit)
    )
    return [doc async for doc in cursor]


# --- registered endpoints (`webhook_endpoints`, ADR 0012) -----------------------------

ENDPOINT_INDEXES = (
    IndexSpec(
        collection=WEBHOOK_ENDPOINTS,
        keys=[("user_id", ASCENDING), ("created_at", ASCENDING)],
        name="user_created",
    ),
)


async def count_endpoints(db: Database, user_id: str) -> int:
    return await db[WEBHOOK_ENDPOINTS].count_documents({"user_id": user_id})


async def insert_endpoint(db: Database, endpoint: Document) -> None:
    await db[WEBHOOK_ENDPOINTS].insert_one(endpoint)


async def list_endpoints(db: Database, user_id: str) -> list[Document]:
    cursor = db[WEBHOOK_ENDPOINTS].find({"user_id": user_id}).sort("created_at", ASCENDING)
    return [doc async for doc in cursor]


async def get_endpoint(db: Database, user_id: str, endpoint_id: str) -> Document | None:
    return await db[WEBHOOK_ENDPOINTS].find_one({"_id": endpoint_id, "user_id": user_id})


async def update_endpoint(
    db: Database, user_id: str, endpoint_id: str, update: Document, *, expected: Document
) -> Document | None:
    """The endpoint after `update`, or None when it is gone or no longer matches
    `expected` (a concurrent change)."""
    return await db[WEBHOOK_ENDPOINTS].find_one_and_update(
        {"_id": endpoint_id, "user_id": user_id, **expected},
        update,
        return_document=ReturnDocument.AFTER,
    )


async def delete_endpoint(db: Database, user_id: str, endpoint_id: str) -> bool:
    result = await db[WEBHOOK_ENDPOINTS].delete_one({"_id": endpoint_id, "user_id": user_id})
    return result.deleted_count == 1


async def stored_endpoints(db: Database) -> AsyncIterator[Document]:
    async for document in db[WEBHOOK_ENDPOINTS].find({}, {"secrets": 1}).sort("_id"):
        yield document


async def replace_endpoint_secrets(db: Database, stored: Document, *, secrets: list[Any]) -> bool:
    """Store `secrets` unless the endpoint's changed since it was read as `stored`."""
    result = await db[WEBHOOK_ENDPOINTS].update_one(
        {"_id": stored["_id"], "secrets": stored["secrets"]}, {"$set": {"secrets": secrets}}
    )
    return result.matched_count == 1


async def delete_user_endpoints(db: Database, user_id: str) -> int:
    return (await db[WEBHOOK_ENDPOINTS].delete_many({"user_id": user_id})).deleted_count


async def list_endpoint_deliveries(
    db: Database, endpoint_id: str, *, limit: int, event_type: str | None = None
) -> list[Document]:
    """The endpoint's delivery attempts, newest first."""
    query: Document = {"endpoint_id": endpoint_id}
    if event_type is not None:
        query["event_type"] = event_type
    cursor = (
        db[WEBHOOK_DELIVERIES]
        .find(query, projection={"body": 0})
        .sort([("attempted_at", DESCENDING), ("_id", DESCENDING)])
        .limit(limit)
    )
    return [doc async for doc in cursor]


async def get_endpoint_delivery(
    db: Database, endpoint_id: str, delivery_id: ObjectId
) -> Document | None:
    return await db[WEBHOOK_DELIVERIES].find_one({"_id": delivery_id, "endpoint_id": endpoint_id})
