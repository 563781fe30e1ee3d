"""Documents as jobs-api creates them (docs/architecture.md), for the worker's tests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from git44_common.contracts import utc_now
from git44_common.quota import new_quota_document, utc_day

SORA_LINK = "https://sora.chatgpt.com/p/s_worker{n}"


def removal_job(
    *,
    user_id: str,
    n: int = 1,
    callback_url: str | None = None,
    max_retries: int = 3,
    max_polls: int = 8,
    now: datetime | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    now = now or utc_now()
    doc: dict[str, Any] = {
        "_id": uuid.uuid4().hex,
        "user_id": user_id,
        "source": "api",
        "api_key_id": None,
        "input_link": SORA_LINK.format(n=n),
        "output_link": None,
        "status": "queued",
        "task_id": None,
        "retry_count": 0,
        "max_retries": max_retries,
        "poll_count": 0,
        "max_polls": max_polls,
        "error": None,
        "callback_url": callback_url,
        "idempotency_key": None,
        "charge": "reserved",
        "charged_day": utc_day(now),
        "lease_owner": None,
        "lease_expires_at": None,
        "next_attempt_at": None,
        "published": True,
        "attempts": [],
        "version": 1,
        "created_at": now,
        "started_at": None,
        "completed_at": None,
        "updated_at": now,
    }
    doc.update(overrides)
    return doc


def charged_quota(
    user_id: str, *, charged: int, total: int = 500, daily_limit: int = 50
) -> dict[str, Any]:
    """A user's quota after `charged` credits were reserved today."""
    doc = new_quota_document(user_id, total=total, daily_limit=daily_limit, now=utc_now())
    doc["remaining_quota"] = total - charged
    doc["daily_used"] = charged
    return doc
