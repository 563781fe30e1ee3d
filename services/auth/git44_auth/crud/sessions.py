"""The `sessions` collection: one document per session (a login and its refreshes).

`_id` = the tokens' `sid` = their refresh-token family; `user_id`, `created_at`,
`ended_at` (None while live) and `end_reason`; `expires_at`, when its last token dies,
has a TTL index. Every service reads the ended ones (`git44_common.sessions`); only
auth writes.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from git44_common.collections import SESSIONS
from git44_common.mongo import Database, Document


async def ensure_session(
    db: Database, *, session_id: str, user_id: str, expires_at: datetime, now: datetime
) -> None:
    """Create the session if new (refresh families from before sessions get one on their
    next refresh) and push its expiry to `expires_at`."""
    await db[SESSIONS].update_one(
        {"_id": session_id},
        {
            "$setOnInsert": {"user_id": user_id, "created_at": now, "ended_at": None},
            "$max": {"expires_at": expires_at},
        },
        upsert=True,
    )


async def get_session(db: Database, session_id: str) -> Document | None:
    return await db[SESSIONS].find_one({"_id": session_id})


async def end_session(
    db: Database,
    *,
    session_id: str,
    user_id: str,
    reason: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    """Mark the session ended (kept until `expires_at` at least); idempotent: the first
    end is kept. A family from before sessions gets its document here."""
    with suppress(DuplicateKeyError):  # it had ended already: the first end is kept
        await db[SESSIONS].update_one(
            {"_id": session_id, "ended_at": None},
            {
                "$setOnInsert": {"user_id": user_id, "created_at": now},
                "$set": {"ended_at": now, "end_reason": reason},
                "$max": {"expires_at": expires_at},
            },
            upsert=True,
        )


async def end_user_sessions(db: Database, *, user_id: str, reason: str, now: datetime) -> list[str]:
    """End every live session of the user; the ids of those it ended."""
    live = db[SESSIONS].find({"user_id": user_id, "ended_at": None}, projection={"_id": 1})
    ids = [doc["_id"] async for doc in live]
    if ids:
        await db[SESSIONS].update_many(
            {"_id": {"$in": ids}, "ended_at": None},
            {"$set": {"ended_at": now, "end_reason": reason}},
        )
    return ids
