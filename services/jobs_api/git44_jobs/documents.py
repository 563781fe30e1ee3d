"""Pure builders of the documents and updates jobs-api writes (no I/O)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from git44_common.contracts import JobStatus
from git44_common.quota import utc_day

Source = Literal["web", "api"]


def new_job_id() -> str:
    return uuid.uuid4().hex


def new_job_document(
    *,
    job_id: str,
    user_id: str,
    source: Source,
    input_link: str,
    now: datetime,
    max_retries: int,
    max_polls: int,
    callback_url: str | None = None,
    api_key_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """A `queued`, not yet published job whose credit is reserved (docs/architecture.md)."""
    return {
        "_id": job_id,
        "user_id": user_id,
        "source": source,
        "api_key_id": api_key_id,
        "input_link": input_link,
        "output_link": None,
        "status": str(JobStatus.QUEUED),
        "task_id": None,
        "retry_count": 0,
        "max_retries": max_retries,
        "poll_count": 0,
        "max_polls": max_polls,
        "error": None,
        "callback_url": callback_url,
        "idempotency_key": idempotency_key,
        "charge": "reserved",
        "charged_day": utc_day(now),
        "lease_owner": None,
        "lease_expires_at": None,
        "next_attempt_at": None,
        "published": False,
        "attempts": [],
        "version": 1,
        "created_at": now,
        "started_at": None,
        "completed_at": None,
        "updated_at": now,
    }


def requeue_update(*, now: datetime, charge: bool, claim_until: datetime) -> dict[str, Any]:
    """failed → queued for a fresh run: counters and upstream task cleared.

    `charge` (a user's retry) reserves the credit again; an admin's retry leaves the
    charge as it is (refunded: the retry is on the house, and a later failure does not
    refund twice). `claim_until` keeps the outbox relay off while the caller publishes.
    """
    fields: dict[str, Any] = {
        "status": str(JobStatus.QUEUED),
        "task_id": None,
        "retry_count": 0,
        "poll_count": 0,
        "error": None,
        "output_link": None,
        "lease_owner": None,
        "lease_expires_at": None,
        "next_attempt_at": None,
        "published": False,
        "relay_claimed_until": claim_until,
        "started_at": None,
        "completed_at": None,
        "updated_at": now,
    }
    if charge:
        fields |= {"charge": "reserved", "charged_day": utc_day(now)}
    return {"$set": fields, "$inc": {"version": 1}}


def cancel_update(*, now: datetime) -> list[dict[str, Any]]:
    """queued → cancelled, and a reserved charge → refunded, in one statement.

    One write of the job (a pipeline update) rather than a second update for the
    charge: a transaction that writes the collection twice can be held up behind a
    worker's plain write on SecantusDB (docs/reliability.md). The caller refunds the
    credit when the document before showed `charge: reserved`.
    """
    refunded = {"$cond": [{"$eq": ["$charge", "reserved"]}, "refunded", "$charge"]}
    return [
        {
            "$set": {
                "status": str(JobStatus.CANCELLED),
                "completed_at": now,
                "updated_at": now,
                "error": None,
                "charge": refunded,
                "version": {"$add": [{"$ifNull": ["$version", 0]}, 1]},
            }
        }
    ]
