"""Every query on `sse_streams`: the slots of the streams users hold open.

A user has `per_user` slots, documents `<user id>:<n>`; a stream takes a free one (or one
whose holder stopped renewing it: a replica that died) and renews it while it runs, so
the cap holds across replicas and a crash frees its slots within their lease.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING

from git44_common.collections import SSE_STREAMS
from git44_common.mongo import Database, IndexSpec, is_duplicate_key_error, ttl_index

INDEXES = (
    # a slot whose stream stopped renewing it is removed once its lease is well past
    ttl_index(SSE_STREAMS, after_seconds=300),
    IndexSpec(collection=SSE_STREAMS, keys=[("stream_id", ASCENDING)], name="stream"),
)


async def take_slot(
    db: Database, user_id: str, *, slots: int, stream_id: str, until: datetime, now: datetime
) -> int | None:
    """The number of the slot `stream_id` took (free or lapsed), or None when all
    `slots` are held."""
    for number in range(slots):
        try:
            await db[SSE_STREAMS].update_one(
                {"_id": f"{user_id}:{number}", "expires_at": {"$lte": now}},
                {"$set": {"user_id": user_id, "stream_id": stream_id, "expires_at": until}},
                upsert=True,
            )
        except Exception as exc:
            if not is_duplicate_key_error(exc):
                raise
            continue  # held by a live stream
        return number
    return None


async def renew_slot(db: Database, stream_id: str, *, until: datetime) -> bool:
    """Extend the stream's lease; False when it lost its slot."""
    result = await db[SSE_STREAMS].update_one(
        {"stream_id": stream_id}, {"$set": {"expires_at": until}}
    )
    return result.matched_count == 1


async def release_slot(db: Database, stream_id: str) -> None:
    await db[SSE_STREAMS].delete_one({"stream_id": stream_id})
