"""A user's credits: the quota with its defaults, and what a refused charge answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from git44_common.exceptions import DailyLimitReached, QuotaExhausted
from git44_common.mongo import Database, Document
from git44_common.quota import refusal_reason, seconds_until_reset
from git44_jobs import metrics
from git44_jobs.credits import crud

# Quota documents are never deleted, so the upsert (a write on the user's hot document)
# runs once per user and process instead of on every submission. Bounded: the set is
# cleared when it grows this large.
_KNOWN_MAX = 100_000


@dataclass
class Quotas:
    """The quota every user gets on first use, and the users this process has seen."""

    total: int
    daily_limit: int
    _known: set[str] = field(default_factory=set)

    async def ensure(self, db: Database, user_id: str, *, now: datetime) -> None:
        """Make sure the user has a quota document (once per process and user)."""
        if user_id in self._known:
            return
        await crud.ensure_quota(
            db, user_id, total=self.total, daily_limit=self.daily_limit, now=now
        )
        if len(self._known) >= _KNOWN_MAX:
            self._known.clear()
        self._known.add(user_id)

    def forget(self, user_id: str) -> None:
        """Drop a deleted user from the users seen (every replica hears of the deletion)."""
        self._known.discard(user_id)

    async def quota_of(self, db: Database, user_id: str, *, now: datetime) -> Document:
        """The user's quota document, created with the defaults on first use."""
        await crud.ensure_quota(
            db, user_id, total=self.total, daily_limit=self.daily_limit, now=now
        )
        document = await crud.get_quota(db, user_id)
        assert document is not None  # deleted only with the user, whose tokens are refused
        return document

    async def _create_unless_exists(self, db: Database, user_id: str, *, now: datetime) -> None:
        await crud.ensure_quota(
            db, user_id, total=self.total, daily_limit=self.daily_limit, now=now
        )


async def refusal(
    db: Database, user_id: str, *, now: datetime
) -> QuotaExhausted | DailyLimitReached:
    """The error for a refused charge: 402, or 429 with Retry-After until UTC midnight."""
    quota = await crud.get_quota(db, user_id)
    reason = refusal_reason(quota, now) if quota else "quota_exhausted"
    metrics.QUOTA_REJECTIONS.labels(reason or "quota_exhausted").inc()
    if reason == "daily_limit_reached":
        return DailyLimitReached(
            "The daily limit of submissions is reached; it resets at midnight UTC.",
            retry_after=seconds_until_reset(now),
        )
    return QuotaExhausted("No credits are left on this account.")
