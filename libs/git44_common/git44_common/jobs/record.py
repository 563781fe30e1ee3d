"""The removal job document (`removal_jobs`): its fields, its charge, and the updates
more than one service writes (docs/architecture.md draws the whole document).

Pure builders: they make documents and update statements and do no I/O.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from git44_common.contracts import JobStatus
from git44_common.ids import new_id
from git44_common.mongo import Document
from git44_common.quota import utc_day

Source = Literal["web", "api"]

# The seed's defaults; jobs-api copies its settings into each job, and a document
# written before a field existed is read with these.
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_POLLS = 8


class Charge(StrEnum):
    """What the job's credit is: taken from the user's quota, or given back."""

    RESERVED = "reserved"
    REFUNDED = "refunded"


new_job_id = new_id  # a job's id is like every id: uuid4 hex


def new_job_document(
    *,
    job_id: str,
    user_id: str,
    source: Source,
    input_link: str,
    now: datetime,
    max_retries: int = DEFAULT_MAX_RETRIES,
    max_polls: int = DEFAULT_MAX_POLLS,
    callback_url: str | None = None,
    api_key_id: str | None = None,
    idempotency_key: str | None = None,
) -> Document:
    """A `queued`, not yet published job whose credit is reserved."""
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
        "charge": str(Charge.RESERVED),
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


def requeue_update(*, now: datetime, charge: bool, claim_until: datetime) -> Document:
    """failed → queued for a fresh run: counters and upstream task cleared.

    `charge` (a user's retry) reserves the credit again; an admin's retry leaves the
    charge as it is (refunded: the retry is on the house, and a later failure does not
    refund twice). `claim_until` keeps the outbox relay off while the caller publishes.
    """
    fields: Document = {
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
        "waiting": False,
        "updated_at": now,
    }
    if charge:
        fields |= {"charge": str(Charge.RESERVED), "charged_day": utc_day(now)}
    return {"$set": fields, "$inc": {"version": 1}}


def end_with_refund_update(
    *,
    status: JobStatus,
    now: datetime,
    fields: Document | None = None,
    attempt: Document | None = None,
) -> list[Document]:
    """The job ends in `status` (failed or cancelled) and a reserved charge flips to
    refunded — one pipeline update, the job's only write in its transaction.

    `fields` are set as given (values, not expressions), `attempt` is appended to
    `attempts`, `version` goes up by one. The flip is the exactly-once guard: whoever
    saw `charge: reserved` in the document before this update gives the credit back.
    One write, not a second update for the charge: on SecantusDB a transaction that
    writes a document twice can wait behind a plain write to it (a worker's lease
    renewal) until a socket timeout (docs/reliability.md).
    """
    reserved = {"$eq": ["$charge", str(Charge.RESERVED)]}
    stage: Document = {
        **{name: {"$literal": value} for name, value in (fields or {}).items()},
        "status": str(status),
        "completed_at": now,
        "updated_at": now,
        "charge": {"$cond": [reserved, str(Charge.REFUNDED), "$charge"]},
        "refunded_at": {"$cond": [reserved, now, {"$ifNull": ["$refunded_at", None]}]},
        "version": {"$add": [{"$ifNull": ["$version", 0]}, 1]},
    }
    if attempt is not None:
        stage["attempts"] = {
            "$concatArrays": [{"$ifNull": ["$attempts", []]}, [{"$literal": attempt}]]
        }
    return [{"$set": stage}]


def was_charged(before: Document) -> bool:
    """Whether the job's credit was still taken before an `end_with_refund_update`."""
    return before.get("charge") == Charge.RESERVED
