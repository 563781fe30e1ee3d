"""Webhook endpoints an integrator registers (ADR 0012): event types, stored shape,
signing secrets with a rotation overlap, and the cached read both services use.

A document of `webhook_endpoints` (jobs-api writes it; the worker reads it and keeps
its failure state):

    {_id, user_id, url, description, event_types: [...],
     secrets: [{secret_encrypted, created_at, expires_at | None}],  # newest first
     disabled_at, disabled_reason, failing_since, created_at, updated_at}

Secrets are sealed like the account secret (git44_common.webhook_secrets). After a
rotation the replaced secret keeps signing until its `expires_at`: every delivery
then carries both signatures (`webhook-signature: v1,<new> v1,<old>`), so a receiver
verifies with either while it switches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from git44_common.clock import as_utc
from git44_common.collections import WEBHOOK_ENDPOINTS
from git44_common.contracts import JobStatus, WebhookDeliveryRequested
from git44_common.encryption import KeyRing
from git44_common.jobs import JobPublic
from git44_common.mongo import Database, Document
from git44_common.schemas import iso_utc
from git44_common.webhook_secrets import open_secret


class EventType(StrEnum):
    """What an endpoint subscribes to; the `type` of the body it receives."""

    QUEUED = "removal.queued"
    PROCESSING = "removal.processing"  # the job started (and is polled) upstream
    SUCCESS = "removal.success"
    FAILED = "removal.failed"
    CANCELLED = "removal.cancelled"


PING = "webhook.ping"

# the states whose webhooks ride the reliable request of an ended job (the job's
# `webhook_pending` flag); the others go through the job events (best effort)
TERMINAL_TYPES: Mapping[JobStatus, EventType] = {
    JobStatus.SUCCESS: EventType.SUCCESS,
    JobStatus.FAILED: EventType.FAILED,
    JobStatus.CANCELLED: EventType.CANCELLED,
}
PROGRESS_TYPES: Mapping[JobStatus, EventType] = {
    JobStatus.QUEUED: EventType.QUEUED,
    JobStatus.PROCESSING: EventType.PROCESSING,
}


def event_type_of(status: JobStatus | str) -> EventType | None:
    """The event type an endpoint receives for a job entering `status` (None: polling,
    which `removal.processing` already announced)."""
    status = JobStatus(status)
    return TERMINAL_TYPES.get(status) or PROGRESS_TYPES.get(status)


def webhook_body(doc: Mapping[str, Any]) -> str:
    """The JSON body of a job's webhook: `{type: "removal.<status>", timestamp, data:
    <the job's JobPublic>}`."""
    payload = {
        "type": f"removal.{doc['status']}",
        "timestamp": iso_utc(doc.get("completed_at") or doc["updated_at"]),
        "data": JobPublic.from_doc(doc).model_dump(by_alias=True, mode="json"),
    }
    return json.dumps(payload, separators=(",", ":"))


def ended_job_request(doc: Mapping[str, Any]) -> WebhookDeliveryRequested:
    """The request for an ended job's pending webhook, carrying the event as it happened
    (type and body): a job retried before the request is handled still gets its
    `removal.failed` delivered, as it was."""
    return WebhookDeliveryRequested(
        job_id=str(doc["_id"]),
        event_id=str(doc["webhook_event_id"]),
        event_type=f"removal.{doc['status']}",
        body=webhook_body(doc),
    )


def is_enabled(endpoint: Mapping[str, Any]) -> bool:
    return endpoint.get("disabled_at") is None


def subscribed(endpoint: Mapping[str, Any], event_type: str) -> bool:
    return is_enabled(endpoint) and event_type in endpoint.get("event_types", ())


def live_secrets(endpoint: Mapping[str, Any], keys: KeyRing, *, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the one it replaced
    while its overlap lasts."""
    return [
        open_secret(entry, keys)
        for entry in endpoint.get("secrets", ())
        if entry.get("expires_at") is None or as_utc(entry["expires_at"]) > now
    ]


class EndpointDirectory:
    """The enabled endpoints of a user, read at most every `ttl_seconds` per user.

    Asked wherever a job ends (is a webhook pending?) and for each job event: a short
    cache keeps that to one indexed read per user and period, and an endpoint created
    or changed is seen within `ttl_seconds`.
    """

    def __init__(self, db: Database, *, ttl_seconds: float, max_users: int = 10_000) -> None:
        self._db = db
        self._ttl = ttl_seconds
        self._max_users = max_users
        self._cache: dict[str, tuple[float, list[Document]]] = {}

    async def of(self, user_id: str) -> list[Document]:
        """The user's enabled endpoints (possibly `ttl_seconds` old)."""
        now = time.monotonic()
        hit = self._cache.get(user_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await enabled_endpoints(self._db, user_id)
        if len(self._cache) >= self._max_users:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) >= self._max_users:
                self._cache.clear()
        self._cache[user_id] = (now + self._ttl, found)
        return found

    async def subscribers(self, user_id: str, event_type: str) -> list[Document]:
        return [endpoint for endpoint in await self.of(user_id) if subscribed(endpoint, event_type)]

    async def wants(self, user_id: str, status: JobStatus | str) -> bool:
        """True when an endpoint of the user subscribes to the job ending in `status`."""
        event_type = event_type_of(status)
        return event_type is not None and bool(await self.subscribers(user_id, event_type))

    def forget(self, user_id: str) -> None:
        self._cache.pop(user_id, None)


async def enabled_endpoints(db: Database, user_id: str) -> list[Document]:
    cursor = db[WEBHOOK_ENDPOINTS].find({"user_id": user_id, "disabled_at": None})
    return [doc async for doc in cursor.sort("created_at", 1)]


def signature_header(signatures: Sequence[str]) -> str:
    """Standard Webhooks' `webhook-signature`: space-separated `v1,<sig>` entries."""
    return " ".join(signatures)
