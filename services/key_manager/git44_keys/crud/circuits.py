"""key-manager's read of `upstream_circuits` (the worker's, git44_common.circuits), for
the admin summary."""

from __future__ import annotations

from git44_common.collections import UPSTREAM_CIRCUITS
from git44_common.mongo import Database, Document


async def all_circuits(db: Database) -> list[Document]:
    return [doc async for doc in db[UPSTREAM_CIRCUITS].find().sort("_id", 1)]
