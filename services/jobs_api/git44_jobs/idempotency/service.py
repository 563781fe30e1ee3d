"""`Idempotency-Key`: the same key and body answer with the original response, once charged.

A key is recorded *before* any work, with the job id the request will create:

    insert {user_id, key, fingerprint, job_id, response: null}   (unique (user_id, key))
      └─ duplicate → same fingerprint?  no → 409 idempotency_conflict
                                        yes, response stored → replay it
                                        yes, still running → run with the recorded job id

Because every request with that key uses the same job id, the job insert inside the
submission transaction lets exactly one of them create the job (and keep its credit);
the others abort and answer with that job. A crash between the two steps leaves a
record without a response, which the next retry completes the same way.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from git44_common.clock import Clock
from git44_common.exceptions import IdempotencyConflict, ValidationFailed
from git44_common.jobs import new_job_id
from git44_common.mongo import Database, Document, is_duplicate_key_error
from git44_jobs.idempotency import crud

_KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
REPLAY_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class IdempotentRequest:
    """A request with an `Idempotency-Key`: whose, which key, and what it asked for
    (`fingerprint`: a repeat with another body is a 409)."""

    user_id: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Outcome:
    """What to answer: `body` with `status`; `replayed` when it is a stored response."""

    status: int
    body: Any
    replayed: bool = False


def check_key(value: str | None) -> str | None:
    """The header's value if well-formed (1-255 visible ASCII characters), else 422."""
    if value is None:
        return None
    if not _KEY_PATTERN.fullmatch(value):
        error = {
            "loc": ["header", "Idempotency-Key"],
            "msg": "must be 1-255 visible ASCII characters",
            "type": "idempotency_key_invalid",
        }
        raise ValidationFailed("The Idempotency-Key header is invalid.", errors=[error])
    return value


def fingerprint(method: str, path: str, body: Any) -> str:
    """SHA-256 of the method, path and canonical JSON body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


async def run_idempotently(
    db: Database,
    request: IdempotentRequest | None,
    action: Callable[[str], Awaitable[Any]],
    *,
    clock: Clock,
    status: int = 202,
) -> Outcome:
    """Run `action(job_id)` once per idempotency key and answer every repeat alike."""
    if request is None:
        return Outcome(status, await action(new_job_id()))
    record = await _claim(db, request, clock=clock)
    stored = record.get("response")
    if stored is not None:
        return Outcome(int(stored["status"]), stored["body"], replayed=True)
    body = await action(record["job_id"])
    await crud.store_response(db, record["_id"], {"status": status, "body": body}, now=clock())
    return Outcome(status, body)


async def _claim(db: Database, request: IdempotentRequest, *, clock: Clock) -> Document:
    """The key's record: a new one, or the existing one if its fingerprint matches."""
    while True:
        record = {
            "_id": new_job_id(),
            "user_id": request.user_id,
            "key": request.key,
            "fingerprint": request.fingerprint,
            "job_id": new_job_id(),
            "response": None,
            "created_at": clock(),
        }
        try:
            await crud.insert_record(db, record)
            return record
        except Exception as exc:
            if not is_duplicate_key_error(exc):
                raise
        existing = await crud.get_record(db, request.user_id, request.key)
        if existing is None:
            continue  # expired between the insert and the read: claim it afresh
        if existing["fingerprint"] != request.fingerprint:
            raise IdempotencyConflict(
                "This Idempotency-Key was used with a different request.",
            )
        return existing
