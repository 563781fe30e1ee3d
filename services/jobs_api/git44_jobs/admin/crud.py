"""What the admin tools read of auth's `users` (jobs-api never writes it)."""

from __future__ import annotations

from git44_common.collections import USERS
from git44_common.mongo import Database


async def user_exists(db: Database, user_id: str) -> bool:
    return await db[USERS].find_one({"_id": user_id}, {"_id": 1}) is not None
