"""What the admin tools read of auth's `users` (jobs-api never writes it), and the
index of the audit log they write to (through git44_common.audit)."""

from __future__ import annotations

from pymongo import DESCENDING

from git44_common.collections import AUDIT_LOG, USERS
from git44_common.mongo import Database, IndexSpec

INDEXES = (IndexSpec(collection=AUDIT_LOG, keys=[("at", DESCENDING)], name="at"),)


async def user_exists(db: Database, user_id: str) -> bool:
    return await db[USERS].find_one({"_id": user_id}, {"_id": 1}) is not None
