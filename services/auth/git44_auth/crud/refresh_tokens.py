"""The `refresh_tokens` collection: one document per issued refresh token.

`_id` = `jti`; `family_id` ties together the tokens of one login (each refresh
replaces its token with the next of the family); `replaced_by` marks a rotated token,
`revoked_at` a revoked one; `expires_at` has a TTL index so the collection prunes itself.
"""

from __future__ import annotations

from datetime import datetime

from git44_common.collections import REFRESH_TOKENS
from git44_common.mongo import Database, Document


async def insert_refresh_token(
    db: Database, *, jti: str, family_id: str, user_id: str, expires_at: datetime, now: datetime
) -> None:
    await db[REFRESH_TOKENS].insert_one(
        {
            "_id": jti,
            "jti": jti,
            "family_id": family_id,
            "user_id": user_id,
            "created_at": now,
            "expires_at": expires_at,
            "revoked_at": None,
            "replaced_by": None,
        }
    )


async def claim_refresh_token(
    db: Database, *, jti: str, replaced_by: str, now: datetime
) -> Document | None:
    """Mark a live token as replaced, atomically: of two concurrent refreshes only one wins."""
    return await db[REFRESH_TOKENS].find_one_and_update(
        {"_id": jti, "revoked_at": None, "replaced_by": None, "expires_at": {"$gt": now}},
        {"$set": {"replaced_by": replaced_by, "rotated_at": now}},
    )


async def get_refresh_token(db: Database, jti: str) -> Document | None:
    return await db[REFRESH_TOKENS].find_one({"_id": jti})


async def revoke_family(db: Database, *, family_id: str, now: datetime) -> int:
    result = await db[REFRESH_TOKENS].update_many(
        {"family_id": family_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
    )
    return result.modified_count


async def revoke_user_tokens(db: Database, *, user_id: str, now: datetime) -> int:
    result = await db[REFRESH_TOKENS].update_many(
        {"user_id": user_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
    )
    return result.modified_count


async def delete_user_tokens(db: Database, user_id: str) -> int:
    result = await db[REFRESH_TOKENS].delete_many({"user_id": user_id})
    return result.deleted_count
