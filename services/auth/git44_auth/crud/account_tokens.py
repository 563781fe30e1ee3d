"""The `account_tokens` collection: the single-use tokens mailed to users (verify an
email address, reset a password).

`_id` = the token's SHA-256 (the token itself is never stored), `purpose`, `user_id`,
`created_at`, `expires_at` (TTL index: the collection prunes itself), `used_at` (None
until redeemed).
"""

from __future__ import annotations

from datetime import datetime

from git44_common.collections import ACCOUNT_TOKENS
from git44_common.mongo import Database, Document


async def insert_token(
    db: Database,
    *,
    token_hash: str,
    purpose: str,
    user_id: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    await db[ACCOUNT_TOKENS].insert_one(
        {
            "_id": token_hash,
            "purpose": purpose,
            "user_id": user_id,
            "created_at": now,
            "expires_at": expires_at,
            "used_at": None,
        }
    )


async def use_token(
    db: Database, *, token_hash: str, purpose: str, now: datetime
) -> Document | None:
    """The live token, marked used in the same write: of two concurrent redemptions
    only one gets it; None for an unknown, used or expired token."""
    return await db[ACCOUNT_TOKENS].find_one_and_update(
        {"_id": token_hash, "purpose": purpose, "used_at": None, "expires_at": {"$gt": now}},
        {"$set": {"used_at": now}},
    )


async def use_user_tokens(db: Database, *, user_id: str, purpose: str, now: datetime) -> int:
    """Mark every live token of the user for `purpose` used (the others of a redeemed one)."""
    result = await db[ACCOUNT_TOKENS].update_many(
        {"user_id": user_id, "purpose": purpose, "used_at": None}, {"$set": {"used_at": now}}
    )
    return result.modified_count


async def delete_user_tokens(db: Database, user_id: str) -> int:
    """Delete the user's verification and reset tokens, used or not; how many."""
    result = await db[ACCOUNT_TOKENS].delete_many({"user_id": user_id})
    return result.deleted_count
