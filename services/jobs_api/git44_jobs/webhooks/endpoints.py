"""Registered webhook endpoints (ADR 0012): create, change, rotate their secret, list
their deliveries, redeliver one, ping. jobs-api writes `webhook_endpoints`; the worker
sends to them (git44_worker.consumers.webhooks) and keeps their failure state.

A change is seen by every service within `*_WEBHOOK_ENDPOINT_CACHE_SECONDS` (each
caches a user's endpoints that long, `EndpointDirectory`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from bson import ObjectId
from bson.errors import InvalidId

from git44_common.amqp import WEBHOOK_DELIVER, AmqpError, Publisher
from git44_common.contracts import WebhookDeliveryRequested
from git44_common.encryption import KeyRing
from git44_common.exceptions import (
    Conflict,
    InvalidLink,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from git44_common.ids import new_id
from git44_common.links import validate_callback_url
from git44_common.mongo import Database, Document
from git44_common.schemas import iso_utc
from git44_common.webhook_endpoints import PING, EndpointDirectory
from git44_common.webhook_secrets import ENCRYPTED_FIELD, new_webhook_secret
from git44_jobs.webhooks import crud
from git44_jobs.webhooks.endpoint_models import WebhookEndpointCreate, WebhookEndpointUpdate

# a delivery's list is read newest first, at most this many at once
MAX_DELIVERIES = 100


class EndpointLimitReached(Conflict):
    code = "webhook_endpoint_limit"
    title = "Too many webhook endpoints"


class EndpointDisabled(Conflict):
    code = "webhook_endpoint_disabled"
    title = "Webhook endpoint disabled"


@dataclass(frozen=True, kw_only=True)
class EndpointRegistry:
    db: Database
    keys: KeyRing
    directory: EndpointDirectory
    per_user: int
    rotation_overlap_seconds: float
    allow_private: bool
    publish_timeout: float

    async def create(
        self, user_id: str, body: WebhookEndpointCreate, *, now: datetime
    ) -> tuple[Document, str]:
        """The new endpoint and its signing secret (shown to the caller once)."""
        url = self._check_url(body.url)
        if await crud.count_endpoints(self.db, user_id) >= self.per_user:
            raise EndpointLimitReached(
                f"At most {self.per_user} webhook endpoints per account; delete one first."
            )
        secret = new_webhook_secret()
        endpoint: Document = {
            "_id": "we_" + new_id(),
            "user_id": user_id,
            "url": url,
            "description": body.description,
            "event_types": [str(t) for t in dict.fromkeys(body.event_types)],
            "secrets": [self._sealed(secret, now=now)],
            "disabled_at": None,
            "disabled_reason": None,
            "failing_since": None,
            "created_at": now,
            "updated_at": now,
        }
        await crud.insert_endpoint(self.db, endpoint)
        self.directory.forget(user_id)
        return endpoint, secret

    async def get(self, user_id: str, endpoint_id: str) -> Document:
        found = await crud.get_endpoint(self.db, user_id, endpoint_id[:64])
        if found is None:
            raise NotFound("No such webhook endpoint.")
        return found

    async def list_of(self, user_id: str) -> list[Document]:
        return await crud.list_endpoints(self.db, user_id)

    async def update(
        self, user_id: str, endpoint_id: str, body: WebhookEndpointUpdate, *, now: datetime
    ) -> Document:
        current = await self.get(user_id, endpoint_id)
        fields: Document = {"updated_at": now}
        given = body.model_fields_set
        if "url" in given:
            if body.url is None:
                raise _invalid("url", "url cannot be null")
            fields["url"] = self._check_url(body.url)
            if fields["url"] != current["url"]:
                fields["failing_since"] = None  # a new receiver starts afresh
        if "description" in given:
            fields["description"] = body.description
        if "event_types" in given:
            if body.event_types is None:
                raise _invalid("eventTypes", "eventTypes cannot be null")
            fields["event_types"] = [str(t) for t in dict.fromkeys(body.event_types)]
        if body.enabled is True:
            fields.update(disabled_at=None, disabled_reason=None, failing_since=None)
        elif body.enabled is False and current.get("disabled_at") is None:
            fields.update(disabled_at=now, disabled_reason="disabled by its owner")
        updated = await crud.update_endpoint(
            self.db, user_id, current["_id"], {"$set": fields}, expected={}
        )
        if updated is None:
            raise NotFound("No such webhook endpoint.")
        self.directory.forget(user_id)
        return updated

    async def delete(self, user_id: str, endpoint_id: str) -> None:
        if not await crud.delete_endpoint(self.db, user_id, endpoint_id[:64]):
            raise NotFound("No such webhook endpoint.")
        self.directory.forget(user_id)

    async def rotate_secret(
        self, user_id: str, endpoint_id: str, *, now: datetime
    ) -> tuple[Document, str]:
        """A new secret; the current one keeps signing for the overlap (older ones go)."""
        current = await self.get(user_id, endpoint_id)
        secret = new_webhook_secret()
        previous = current["secrets"][0] if current.get("secrets") else None
        secrets = [self._sealed(secret, now=now)]
        if previous is not None and self.rotation_overlap_seconds > 0:
            overlap = timedelta(seconds=self.rotation_overlap_seconds)
            secrets.append({**previous, "expires_at": now + overlap})
        updated = await crud.update_endpoint(
            self.db,
            user_id,
            current["_id"],
            {"$set": {"secrets": secrets, "updated_at": now}},
            expected={"updated_at": current["updated_at"]},
        )
        if updated is None:
            raise Conflict("The endpoint changed meanwhile; rotate again.")
        self.directory.forget(user_id)
        return updated, secret

    async def deliveries(
        self, user_id: str, endpoint_id: str, *, limit: int, event_type: str | None
    ) -> list[Document]:
        endpoint = await self.get(user_id, endpoint_id)
        return await crud.list_endpoint_deliveries(
            self.db, endpoint["_id"], limit=limit, event_type=event_type
        )

    async def redeliver(
        self, user_id: str, endpoint_id: str, delivery_id: str, *, publisher: Publisher
    ) -> WebhookDeliveryRequested:
        """Send the event of a recorded attempt again, now, with the same `webhook-id`
        and body; a new series of attempts (its own retries)."""
        endpoint = self._enabled(await self.get(user_id, endpoint_id))
        try:
            object_id = ObjectId(delivery_id)
        except (InvalidId, TypeError):
            raise NotFound("No such delivery.") from None
        attempt = await crud.get_endpoint_delivery(self.db, endpoint["_id"], object_id)
        if attempt is None or attempt.get("body") is None:
            raise NotFound("No such delivery.")
        base = str(attempt["event_id"]).split(":r", 1)[0]
        request = WebhookDeliveryRequested(
            job_id=attempt.get("job_id"),
            event_id=f"{base}:r{new_id()[:12]}",
            endpoint_id=endpoint["_id"],
            event_type=attempt.get("event_type"),
            body=str(attempt["body"]),
            msg_id=str(attempt.get("msg_id") or attempt["event_id"]),
            schema_version=2,
        )
        await _publish(publisher, request, confirm_within=self.publish_timeout)
        return request

    async def ping(
        self, user_id: str, endpoint_id: str, *, publisher: Publisher, now: datetime
    ) -> WebhookDeliveryRequested:
        """A signed `webhook.ping` to the endpoint (whatever it subscribes to)."""
        endpoint = self._enabled(await self.get(user_id, endpoint_id))
        event_id = "ping_" + new_id()
        body = {"type": PING, "timestamp": iso_utc(now), "data": {"endpointId": endpoint["_id"]}}
        request = WebhookDeliveryRequested(
            job_id=None,
            event_id=event_id,
            endpoint_id=endpoint["_id"],
            event_type=PING,
            body=json.dumps(body, separators=(",", ":")),
            schema_version=2,
        )
        await _publish(publisher, request, confirm_within=self.publish_timeout)
        return request

    def _check_url(self, url: str) -> str:
        try:
            return validate_callback_url(url, allow_private=self.allow_private)
        except InvalidLink as exc:
            raise _invalid("url", str(exc)) from None

    def _sealed(self, secret: str, *, now: datetime) -> Document:
        return {ENCRYPTED_FIELD: self.keys.encrypt(secret), "created_at": now, "expires_at": None}

    @staticmethod
    def _enabled(endpoint: Document) -> Document:
        if endpoint.get("disabled_at") is not None:
            raise EndpointDisabled("The endpoint is disabled; enable it first (PATCH).")
        return endpoint


async def _publish(
    publisher: Publisher, request: WebhookDeliveryRequested, *, confirm_within: float
) -> None:
    try:
        await publisher.publish(
            publisher.topology.jobs_exchange,
            WEBHOOK_DELIVER,
            request,
            message_id=request.event_id,
            timeout=confirm_within,
        )
    except (AmqpError, OSError, RuntimeError):
        raise ServiceUnavailable(
            "The delivery could not be queued; try again shortly.", retry_after=5
        ) from None


def _invalid(field: str, reason: str) -> ValidationFailed:
    error = {"loc": ["body", field], "msg": reason, "type": "invalid_url"}
    return ValidationFailed(reason, errors=[error])
