"""What the admin tools read of auth's `users` (jobs-api never writes it), and the
audit log: its indexes, and the one read of it (every service writes to it through
git44_common.audit)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pymongo import ASCENDING, DESCENDING

from git44_common.collections import AUDIT_LOG, USERS
from git44_common.mongo import Database, Document, IndexSpec
from git44_common.pagination import SortFields, keyset_sort

# newest first; `_id` (a uuid hex) breaks ties between entries of the same millisecond
NEWEST_FIRST: Final[SortFields] = (("at", datetime), ("_id", str))

INDEXES = (
    IndexSpec(collection=AUDIT_LOG, keys=[("at", DESCENDING)], name="at"),
    IndexSpec(
        collection=AUDIT_LOG,
        keys=[("actor", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)],
        name="actor_at",
    ),
    IndexSpec(
        collection=AUDIT_LOG,
        keys=[("action", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)],
        name="action_at",
    ),
)


async def user_exists(db: Database, user_id: str) -> bool:
    return await db[USERS].find_one({"_id": user_id}, {"_id": 1}) is not None


async def find_audit_entries(db: Database, query: Document, *, limit: int) -> list[Document]:
    """Audit entries matching `query`, newest first."""
    found = db[AUDIT_LOG].find(query).sort(keyset_sort(NEWEST_FIRST)).limit(limit)
    return [doc async for doc in found]
