"""The admin panel's numbers: jobs by status, success rate, processing times, queues, quota."""

from __future__ import annotations

import contextlib
import math
from datetime import datetime

from aio_pika.abc import AbstractRobustConnection

from git44_common.amqp import Topology
from git44_common.mongo import Database
from git44_jobs.admin.models import ProviderStats, QuotaUsage, StatsPublic
from git44_jobs.credits import crud as credits_crud
from git44_jobs.dead_letters.service import count_waiting
from git44_jobs.removals import crud as jobs_crud

DURATION_SAMPLE = 1000


def summarize_durations(seconds: list[float]) -> tuple[float | None, float | None]:
    """(average, 95th percentile by nearest rank) of `seconds`, or Nones when empty."""
    if not seconds:
        return None, None
    ordered = sorted(seconds)
    rank = max(1, math.ceil(0.95 * len(ordered)))
    return sum(ordered) / len(ordered), ordered[rank - 1]


def upstream_cost(totals: dict[tuple[str, bool], dict[str, int]]) -> tuple[int, int]:
    """(upstream calls made, upstream calls saved): a job completed from the result cache
    saved what a job that succeeded upstream cost on average."""
    made = sum(group.get("calls", 0) for group in totals.values())
    upstream = totals.get(("success", False), {})
    cached = totals.get(("success", True), {}).get("jobs", 0)
    if not upstream.get("jobs"):
        return made, 0
    return made, round(cached * upstream.get("calls", 0) / upstream["jobs"])


def success_rate(by_status: dict[str, int]) -> float | None:
    """Successes over finished (success + failed) jobs; None before any finished."""
    finished = by_status.get("success", 0) + by_status.get("failed", 0)
    return by_status.get("success", 0) / finished if finished else None


async def collect_stats(
    db: Database, connection: AbstractRobustConnection, topology: Topology, *, now: datetime
) -> StatsPublic:
    """Jobs by status, success rate, processing times, queue depths and quota usage."""
    by_status = await jobs_crud.count_by_status(db)
    durations = await jobs_crud.recent_durations(db, sample=DURATION_SAMPLE)
    average, p95 = summarize_durations(durations)
    totals = await credits_crud.usage_totals(db, now)
    calls, saved = upstream_cost(await jobs_crud.upstream_call_totals(db))
    return StatsPublic(
        jobs_by_status=by_status,
        total_jobs=sum(by_status.values()),
        success_rate=success_rate(by_status),
        avg_processing_seconds=average,
        p95_processing_seconds=p95,
        queue_depth=await queue_depth(connection, topology.removal_queue),
        dead_letters=await count_waiting(
            db, await queue_depth(connection, topology.removal_dead_queue)
        ),
        upstream_calls=calls,
        upstream_calls_saved=saved,
        by_provider={
            name: ProviderStats(
                jobs=row["jobs"],
                succeeded=row["succeeded"],
                failed=row["failed"],
                calls=row["jobs"] + row["polls"],
                called_back=row["called_back"],
            )
            for name, row in (await jobs_crud.provider_totals(db)).items()
        },
        quota=QuotaUsage(
            users=int(totals["users"]),
            total_credits=int(totals["total"]),
            remaining_credits=int(totals["remaining"]),
            used_credits=int(totals["total"]) - int(totals["remaining"]),
            daily_used_today=int(totals["today"]),
        ),
        generated_at=now,
    )


async def queue_depth(connection: AbstractRobustConnection, queue: str) -> int | None:
    """Messages ready in `queue` (passive declare on a throwaway channel), None if unknown."""
    with contextlib.suppress(Exception):
        async with connection.channel() as channel:
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)
    return None
