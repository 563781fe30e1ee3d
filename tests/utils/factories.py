"""Documents as the services create them: jobs (git44_common.jobs.record), quotas and
ScraperAPI keys (key-manager's registry)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from git44_common.clock import utc_now
from git44_common.jobs import new_job_document, new_job_id
from git44_common.quota import new_quota_document

SORA_LINK = "https://sora.chatgpt.com/p/s_worker{n}"


def removal_job(
    *,
    user_id: str,
    n: int | str | None = None,
    callback_url: str | None = None,
    max_retries: int = 3,
    max_polls: int = 8,
    now: datetime | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A queued, charged job that jobs-api has already published, with `overrides`."""
    doc = new_job_document(
        job_id=new_job_id(),
        user_id=user_id,
        source="api",
        input_link=SORA_LINK.format(n=uuid.uuid4().hex[:12] if n is None else n),
        now=now or utc_now(),
        max_retries=max_retries,
        max_polls=max_polls,
        callback_url=callback_url,
    )
    doc["published"] = True
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


def scraper_key(api_key: str, *, token: str, fingerprint: str) -> dict[str, Any]:
    """An active key in key-manager's shape, stored as `token` under `fingerprint` (the
    cipher that made them is the test's choice: old, new or from before key lists)."""
    now = utc_now()
    return {
        "_id": uuid.uuid4().hex,
        "label": api_key[:4],
        "key_hint": api_key[:2],
        "api_key_encrypted": token,
        "key_fingerprint": fingerprint,
        "status": "active",
        "usage_count": 0,
        "in_flight": 0,
        "max_concurrency": 5,
        "last_used": None,
        "limited_at": None,
        "cooldown_until": None,
        "created_at": now,
        "updated_at": now,
    }
