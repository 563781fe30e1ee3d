"""What a dead-lettered message becomes in the store (pure functions, no I/O)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from git44_common.contracts import RemovalRequested
from git44_common.mongo import Document

# what a listing shows of a body; a removal request is a few hundred bytes, and a
# letter whose body does not parse cannot be replayed anyway
MAX_BODY_CHARS = 4096
MAX_MESSAGE_ID_CHARS = 200


@dataclass(frozen=True)
class Death:
    """Why and when a message was dead-lettered, as RabbitMQ's headers tell."""

    reason: str | None
    queue: str | None
    count: int
    at: datetime | None


def letter_id(message_id: str | None, body: bytes) -> str:
    """The letter's id: a message delivered twice (a drain that crashed before its ack)
    is one letter, with or without a message id."""
    seed = b"m:" + message_id.encode() if message_id else b"b:" + body
    return hashlib.sha256(seed).hexdigest()[:32]


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_death(headers: Mapping[str, Any]) -> Death:
    """The latest death of a message: RabbitMQ's `x-death` lists one entry per queue and
    reason, most recent first, each with its count."""
    deaths = [entry for entry in headers.get("x-death") or () if isinstance(entry, Mapping)]
    if not deaths:
        return Death(
            reason=_text(headers.get("x-first-death-reason")),
            queue=_text(headers.get("x-first-death-queue")),
            count=0,
            at=None,
        )
    latest = deaths[0]
    count = sum(entry["count"] for entry in deaths if isinstance(entry.get("count"), int))
    return Death(
        reason=_text(latest.get("reason")),
        queue=_text(latest.get("queue")),
        count=count,
        at=_utc(latest.get("time")),
    )


def parse_request(body: bytes) -> RemovalRequested | None:
    """The removal request in `body`, or None when it is not one."""
    try:
        return RemovalRequested.model_validate_json(body)
    except ValidationError:
        return None


def letter_document(
    *, body: bytes, headers: Mapping[str, Any], message_id: str | None, now: datetime
) -> Document:
    """The stored letter of a message of `git44.removal.dead`."""
    message_id = message_id[:MAX_MESSAGE_ID_CHARS] if message_id else None
    request = parse_request(body)
    death = read_death(headers)
    text = body.decode("utf-8", errors="replace")
    return {
        "_id": letter_id(message_id, body),
        "queue": "removal",
        "message_id": message_id,
        "job_id": request.job_id if request else None,
        "user_id": request.user_id if request else None,
        "reason": death.reason,
        "source_queue": death.queue,
        "death_count": death.count,
        "dead_at": death.at,
        "body": text[:MAX_BODY_CHARS],
        "body_truncated": len(text) > MAX_BODY_CHARS,
        "stored_at": now,
    }
