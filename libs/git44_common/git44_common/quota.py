"""Quota rules: credits and the UTC-day window (pure: builds queries, does no I/O).

jobs-api reserves credits and refunds cancelled jobs; the worker refunds failed jobs
inside their terminal transaction — so the rules live here, once.

A credit is reserved by ONE atomic `find_one_and_update` whose filter and pipeline
update both look at the stored `day`: when it is not today, the daily counter counts as
0 and is reset inside the same update, so there is no separate "reset" step that two
requests could race. Refunds put the credit back, and the daily slot too when the
refund happens on the day the credit was charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

Refusal = Literal["quota_exhausted", "daily_limit_reached"]


def utc_day(now: datetime) -> str:
    """The UTC calendar day of `now`, e.g. "2026-11-26"."""
    return now.astimezone(UTC).date().isoformat()


def next_reset(now: datetime) -> datetime:
    """The next UTC midnight after `now`: when the daily window starts over."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


def seconds_until_reset(now: datetime) -> int:
    """Whole seconds (at least 1) until the daily window resets: the `Retry-After`."""
    return max(1, int((next_reset(now) - now).total_seconds() + 0.999))


def _used_today(today: str) -> dict[str, Any]:
    return {"$cond": [{"$eq": ["$day", today]}, "$daily_used", 0]}


def reserve_filter(user_id: str | list[str], now: datetime, *, count: int = 1) -> dict[str, Any]:
    """Matches the user's quota (or each of the users') only if `count` credits are left
    and fit in today's limit."""
    today = utc_day(now)
    return {
        "_id": user_id if isinstance(user_id, str) else {"$in": user_id},
        "$expr": {
            "$and": [
                {"$gte": ["$remaining_quota", count]},
                {"$lte": [{"$add": [_used_today(today), count]}, "$daily_limit"]},
            ]
        },
    }


def reserve_update(
    now: datetime, *, count: int = 1, reservation: str | None = None
) -> list[dict[str, Any]]:
    """Pipeline update: `count` credits less, today's counter + `count` (reset first on a
    new day); `reservation` is recorded as `last_reservation`, to find which documents
    an update of several matched."""
    today = utc_day(now)
    fields: dict[str, Any] = {
        "remaining_quota": {"$subtract": ["$remaining_quota", count]},
        "daily_used": {"$add": [_used_today(today), count]},
        "day": today,
        "updated_at": now,
    }
    if reservation is not None:
        fields["last_reservation"] = {"$literal": reservation}
    return [{"$set": fields}]


def refund_update(*, charged_day: str | None, now: datetime) -> list[dict[str, Any]]:
    """Pipeline update: the credit back; today's slot back if charged today."""
    today = utc_day(now)
    same_day = {"$and": [{"$eq": ["$day", today]}, {"$eq": [charged_day, today]}]}
    return [
        {
            "$set": {
                "remaining_quota": {"$add": ["$remaining_quota", 1]},
                "daily_used": {
                    "$cond": [
                        same_day,
                        {"$max": [0, {"$subtract": ["$daily_used", 1]}]},
                        _used_today(today),
                    ]
                },
                "day": today,
                "updated_at": now,
            }
        }
    ]


def new_quota_document(
    user_id: str, *, total: int, daily_limit: int, now: datetime
) -> dict[str, Any]:
    """The quota a user gets on first use (created lazily)."""
    return {
        "_id": user_id,
        "total_quota": total,
        "remaining_quota": total,
        "daily_limit": daily_limit,
        "daily_used": 0,
        "day": utc_day(now),
        "created_at": now,
        "updated_at": now,
    }


@dataclass(frozen=True)
class QuotaView:
    total_quota: int
    remaining_quota: int
    daily_limit: int
    daily_used: int
    reset_at: datetime


def view_quota(document: dict[str, Any], now: datetime) -> QuotaView:
    """What the user sees: today's usage is 0 when the stored day is not today."""
    today = utc_day(now)
    used = int(document.get("daily_used", 0)) if document.get("day") == today else 0
    return QuotaView(
        total_quota=int(document["total_quota"]),
        remaining_quota=int(document["remaining_quota"]),
        daily_limit=int(document["daily_limit"]),
        daily_used=used,
        reset_at=next_reset(now),
    )


def refusal_reason(document: dict[str, Any], now: datetime) -> Refusal | None:
    """Why a reservation would be refused, or None if it would succeed."""
    quota = view_quota(document, now)
    if quota.remaining_quota <= 0:
        return "quota_exhausted"
    if quota.daily_used >= quota.daily_limit:
        return "daily_limit_reached"
    return None
