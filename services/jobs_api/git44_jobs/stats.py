"""The admin panel's numbers: jobs by status, success rate, processing times, queues, quota."""

from __future__ import annotations

import contextlib
import math
from datetime import datetime
from typing import Any

from aio_pika.abc import AbstractRobustConnection

from git44_common.mongo import Database
from git44_common.quota import utc_day
from git44_jobs.core.db import JOBS, QUOTAS

DURATION_SAMPLE = 1000


def summarize_durations(seconds: list[float]) -> tuple[float | None, float | None]:
    """(average, 95th percentile by nearest rank) of `seconds`, or Nones when empty."""
    if not seconds:
        return None, None
    ordered = sorted(seconds)
    rank = max(1, math.ceil(0.95 * len(ordered)))
    return sum(ordered) / len(ordered), ordered[rank - 1]


def success_rate(by_status: dict[str, int]) -> float | None:
    """Successes over finished (success + failed) jobs; None before any finished."""
    finished = by_status.get("success", 0) + by_status.get("failed", 0)
    return by_status.get("success", 0) / finished if finished else None


async def jobs_by_status(db: Database) -> dict[str, int]:
    pipeline: list[dict[str, Any]] = [{"$group": {"_id": "$status", "count": {"$sum": 1}}}]
    return {doc["_id"]: int(doc["count"]) async for doc in await db[JOBS].aggregate(pipeline)}


async def recent_durations(db: Database) -> list[float]:
    """Seconds from start to completion of the latest successful jobs."""
    cursor = (
        db[JOBS]
        .find(
            {"status": "success", "started_at": {"$ne": None}, "completed_at": {"$ne": None}},
            {"started_at": 1, "completed_at": 1},
        )
        .sort("completed_at", -1)
        .limit(DURATION_SAMPLE)
    )
    return [(doc["completed_at"] - doc["started_at"]).total_seconds() async for doc in cursor]


async def quota_usage(db: Database, now: datetime) -> dict[str, int]:
    pipeline: list[dict[str, Any]] = [
        {
            "$group": {
                "_id": None,
                "users": {"$sum": 1},
                "total": {"$sum": "$total_quota"},
                "remaining": {"$sum": "$remaining_quota"},
                "today": {"$sum": {"$cond": [{"$eq": ["$day", utc_day(now)]}, "$daily_used", 0]}},
            }
        }
    ]
    rows = [doc async for doc in await db[QUOTAS].aggregate(pipeline)]
    row = rows[0] if rows else {"users": 0, "total": 0, "remaining": 0, "today": 0}
    return {
        "users": int(row["users"]),
        "total_credits": int(row["total"]),
        "remaining_credits": int(row["remaining"]),
        "used_credits": int(row["total"]) - int(row["remaining"]),
        "daily_used_today": int(row["today"]),
    }


async def queue_depth(connection: AbstractRobustConnection, queue: str) -> int | None:
    """Messages ready in `queue` (passive declare on a throwaway channel), None if unknown."""
    with contextlib.suppress(Exception):
        async with connection.channel() as channel:
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)
    return None
