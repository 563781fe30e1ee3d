"""The `api_keys` collection, read by jobs-api with exactly these field names:
`_id`, `user_id`, `name`, `prefix`, `key_hash` (SHA-256 hex), `created_at`,
`last_used`, `revoked_at` (None while the key works), `expires_at` (None: no end)."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from git44_common.collections import API_KEYS, USERS
from git44_common.mongo import Database, Document


async def insert_api_key(
    db: Database,
    *,
    key_id: str,
    user_id: str,
    name: str,
    prefix: str,
    key_hash: str,
    now: datetime,
    expires_at: datetime | None,
    cap: int,
) -> Document | None:
    """The new key, or None when the user has `cap` live keys (neither revoked nor
    expired) already.

    Counting and inserting run in one transaction that first writes the user's
    document (`$inc` of `api_keys_version`): concurrent creations for one user conflict
    on it and are retried one after the other, so the count a creation sees is final and
    the cap holds under any concurrency. The write must change the document: setting a
    field to the value it holds (two creations in the same millisecond once set the same
    `api_keys_changed_at`) is no write to conflict on, and the cap was passed."""
    record: Document = {
        "_id": key_id,
        "user_id": user_id,
        "name": name,
        "prefix": prefix,
        "key_hash": key_hash,
        "created_at": now,
        "last_used": None,
        "revoked_at": None,
        "expires_at": expires_at,
    }

    async def create(session: AsyncClientSession) -> bool:
        await db[USERS].update_one(
            {"_id": user_id}, {"$inc": {"api_keys_version": 1}}, session=session
        )
        unexpired = [{"expires_at": None}, {"expires_at": {"$gt": now}}]
        live = {"user_id": user_id, "revoked_at": None, "$or": unexpired}
        if await db[API_KEYS].count_documents(live, session=session) >= cap:
            return False
        await db[API_KEYS].insert_one(record, session=session)
        return True

    async with db.client.start_session() as session:
        created = await session.with_transaction(create)
    return record if created else None


async def list_active_api_keys(db: Database, user_id: str, *, limit: int) -> list[Document]:
    cursor = (
        db[API_KEYS]
        .find({"user_id": user_id, "revoked_at": None}, projection={"key_hash": 0})
        .sort([("created_at", -1), ("_id", -1)])
    )
    return await cursor.limit(limit).to_list(length=limit)


async def revoke_api_key(db: Database, *, user_id: str, key_id: str, now: datetime) -> bool:
    """True if the caller's live key was revoked; another user's key counts as absent."""
    result = await db[API_KEYS].update_one(
        {"_id": key_id, "user_id": user_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
    )
    return result.modified_count == 1


async def revoke_user_api_keys(db: Database, *, user_id: str, now: datetime) -> int:
    """Revoke every live key of the user; how many."""
    result = await db[API_KEYS].update_many(
        {"user_id": user_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
    )
    return result.modified_count


async def list_user_api_keys(db: Database, user_id: str) -> list[Document]:
    """Every key of the user, revoked ones too, without hashes (the data export)."""
    cursor = db[API_KEYS].find({"user_id": user_id}, projection={"key_hash": 0})
    return await cursor.sort([("created_at", 1), ("_id", 1)]).to_list(length=None)


async def delete_user_api_keys(db: Database, user_id: str) -> int:
    """Delete every key of the user, live or revoked; how many."""
    result = await db[API_KEYS].delete_many({"user_id": user_id})
    return result.deleted_count
