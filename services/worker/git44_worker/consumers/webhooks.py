"""Consumers of webhook work: deliveries (`git44.webhooks`) and the job events that
become progress webhooks (`git44.webhooks.events`).

A delivery request without an endpoint is an ended job's (ADR 0012): it is fanned out
to the owner's registered endpoints subscribed to the state (one request each), then
delivered to the job's callback URL, if any (success and failure only, as always). A
request with an endpoint is one delivery to it, signed with its live secrets.

Each attempt is recorded in `webhook_deliveries`. A failed attempt (non-2xx, timeout,
refused destination) is retried with backoff through the webhook delay queues until
`WORKER_WEBHOOK_RETRY_DELAYS_SECONDS` runs out (default 6 attempts over ~an hour).
A redelivered request whose event already got a 2xx is dropped; a request that comes
back before its attempt's `next_retry_at` (delay tiers are coarse) is re-delayed.
A failed attempt is recorded before its retry is queued, and marked once it is: a
request redelivered because its handler stopped in between (a worker killed, the
broker gone) queues the retry its attempt is owed instead of being dropped as a
duplicate of it.

An endpoint whose attempts have all failed for `WORKER_WEBHOOK_DISABLE_AFTER_SECONDS`
(5 days) is disabled at its next failure, and its owner told by mail (an
`AccountNotice` to auth).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from aio_pika.abc import AbstractIncomingMessage

from git44_common.amqp import ACCOUNT_NOTICE, WEBHOOK_DELIVER, Publisher, QueueFamily
from git44_common.clock import utc_now
from git44_common.contracts import AccountNotice, JobEvent, JobStatus, WebhookDeliveryRequested
from git44_common.jobs import JobPublic
from git44_common.mongo import Database, Document
from git44_common.schemas import iso_utc
from git44_common.webhook_endpoints import (
    PROGRESS_TYPES,
    TERMINAL_TYPES,
    EndpointDirectory,
    is_enabled,
    live_secrets,
    webhook_body,
)
from git44_common.webhook_secrets import new_webhook_secret, open_secret, sealed_secret
from git44_worker import metrics
from git44_worker.core.config import WorkerSettings
from git44_worker.crud import jobs as jobs_crud
from git44_worker.crud import webhooks as crud
from git44_worker.domain.retry import is_due, seconds_until, webhook_retry_delay
from git44_worker.webhooks import DeliveryResult, WebhookSender

log = logging.getLogger(__name__)

# the events a job's callback URL has always been sent
CALLBACK_TYPES = (TERMINAL_TYPES[JobStatus.SUCCESS], TERMINAL_TYPES[JobStatus.FAILED])
ENDPOINT_DISABLED_MAIL = "webhook_endpoint_disabled"


class WebhookConsumer:
    def __init__(
        self,
        *,
        settings: WorkerSettings,
        db: Database,
        publisher: Publisher,
        sender: WebhookSender,
        endpoints: EndpointDirectory,
    ) -> None:
        self.settings = settings
        self.keys = settings.webhook_secret_keys()
        self.db = db
        self.publisher = publisher
        self.sender = sender
        self.endpoints = endpoints

    async def handle(
        self, request: WebhookDeliveryRequested, message: AbstractIncomingMessage
    ) -> None:
        """Make one delivery attempt (or fan out, re-delay or drop the request)."""
        if request.endpoint_id is None and request.attempt == 0 and request.job_id:
            await self._fan_out(request)
        if await crud.was_delivered(self.db, request.event_id):
            return
        previous = await crud.last_attempt(self.db, request.event_id)
        if previous is not None and int(previous["attempt"]) > request.attempt:
            if message.redelivered and _retry_owed(previous, request):
                await self._schedule_retry(request, previous)
            return  # a duplicate of an attempt already made
        due_at = previous.get("next_retry_at") if previous else None
        if not is_due(due_at, utc_now()):
            await self._redelay(request, seconds_until(due_at, utc_now()))
            return
        if request.endpoint_id is not None:
            await self._attempt_endpoint(request)
            return
        job = await jobs_crud.get_job(self.db, request.job_id) if request.job_id else None
        event = _ended_event(request, job)
        if job is None or event is None or not job.get("callback_url"):
            return
        event_type, body = event
        if event_type in CALLBACK_TYPES:
            await self._attempt_callback(request, job, body)

    async def _fan_out(self, request: WebhookDeliveryRequested) -> None:
        """One request per endpoint of the owner subscribed to the ended job's event."""
        job = await jobs_crud.get_job(self.db, str(request.job_id))
        event = _ended_event(request, job)
        if job is None or event is None:
            return
        if request.body is None and job.get("webhook_event_id") != request.event_id:
            return  # a request from before it carried its event, for a job since retried
        event_type, body = event
        subscribers = await self.endpoints.subscribers(str(job["user_id"]), event_type)
        await fan_out(
            self.publisher,
            subscribers,
            job_id=str(job["_id"]),
            event_id=request.event_id,
            event_type=event_type,
            body=body,
        )

    async def _attempt_callback(
        self, request: WebhookDeliveryRequested, job: Document, body: str
    ) -> None:
        now = utc_now()
        sealed = sealed_secret(new_webhook_secret(), self.keys)
        stored = await crud.get_or_create_secret(
            self.db, str(job["user_id"]), sealed=sealed, now=now
        )
        url = str(job["callback_url"])
        result = await self.sender.send(
            url,
            secrets=[open_secret(stored, self.keys)],
            msg_id=request.webhook_id,
            body=body,
        )
        await self._record(request, url, result, {"user_id": job["user_id"]})

    async def _attempt_endpoint(self, request: WebhookDeliveryRequested) -> None:
        endpoint = await crud.get_endpoint(self.db, str(request.endpoint_id))
        if endpoint is None or not is_enabled(endpoint):
            return  # deleted or disabled since: nothing more is sent to it
        body = request.body
        if body is None:
            job = await jobs_crud.get_job(self.db, request.job_id) if request.job_id else None
            if job is None:
                return
            body = webhook_body(job)
        url = str(endpoint["url"])
        result = await self.sender.send(
            url,
            secrets=live_secrets(endpoint, self.keys, now=utc_now()),
            msg_id=request.webhook_id,
            body=body,
        )
        fields = {
            "user_id": endpoint["user_id"],
            "endpoint_id": endpoint["_id"],
            "event_type": request.event_type,
            "msg_id": request.webhook_id,
            "body": body,
        }
        retrying = await self._record(request, url, result, fields)
        await self._track_health(endpoint, result, retrying=retrying)

    async def _record(
        self,
        request: WebhookDeliveryRequested,
        url: str,
        result: DeliveryResult,
        fields: Document,
    ) -> bool:
        """Record the attempt, schedule the next one; True when one is scheduled."""
        number = request.attempt + 1
        delay = None if result.delivered else self._retry_delay(number)
        record = {**_attempt_record(request, url, number, result, delay), **fields}
        await crud.record_attempt(self.db, record)
        outcome = (
            "delivered" if result.delivered else "retrying" if delay is not None else "gave_up"
        )
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()
        log.info(
            "webhook attempt %d: %s (%s)",
            number,
            outcome,
            result.error or result.status_code,
            extra={"job_id": request.job_id, "endpoint_id": request.endpoint_id},
        )
        if delay is not None:
            await self._schedule_retry(request, record)
        return delay is not None

    async def _track_health(
        self, endpoint: Document, result: DeliveryResult, *, retrying: bool
    ) -> None:
        """A 2xx ends the endpoint's failing period; a failure starts one, and disables
        the endpoint once it has lasted `webhook_disable_after_seconds`."""
        endpoint_id = str(endpoint["_id"])
        if result.delivered:
            # whatever the copy read before sending said: a failure may have been
            # recorded meanwhile (a no-op unless the endpoint is failing)
            await crud.note_endpoint_success(self.db, endpoint_id)
            return
        now = utc_now()
        if endpoint.get("failing_since") is None:
            await crud.note_endpoint_failure(self.db, endpoint_id, now=now)
            return
        limit = timedelta(seconds=self.settings.webhook_disable_after_seconds)
        reason = f"every delivery failed for {_days(limit)} (last: {result.error})"
        disabled = await crud.disable_endpoint(
            self.db, endpoint_id, failing_before=now - limit, reason=reason, now=now
        )
        if disabled is None:
            return
        metrics.WEBHOOK_ENDPOINTS_DISABLED.inc()
        log.warning("webhook endpoint disabled: %s", reason, extra={"endpoint_id": endpoint_id})
        self.endpoints.forget(str(endpoint["user_id"]))
        notice = AccountNotice(
            user_id=str(endpoint["user_id"]),
            kind=ENDPOINT_DISABLED_MAIL,
            context={"url": str(endpoint["url"]), "reason": reason},
        )
        # a lost notice loses a mail, not the disabling: the endpoint shows it (API)
        try:
            await self.publisher.publish(
                self.publisher.topology.jobs_exchange,
                ACCOUNT_NOTICE,
                notice,
                message_id=notice.event_id,
            )
        except Exception:
            log.warning("could not ask auth to mail the owner", extra={"endpoint_id": endpoint_id})

    def _retry_delay(self, attempt: int) -> float | None:
        return webhook_retry_delay(attempt, self.settings.webhook_retry_delays_seconds)

    async def _schedule_retry(self, request: WebhookDeliveryRequested, attempt: Document) -> None:
        """Queue the retry the recorded failed `attempt` (made for `request`) is owed,
        then mark it queued. Raises when the broker cannot take it: the request comes
        back redelivered and `handle` queues it then."""
        retry = request.model_copy(update={"attempt": int(attempt["attempt"])})
        await self._redelay(retry, seconds_until(attempt["next_retry_at"], utc_now()))
        await crud.note_retry_scheduled(self.db, attempt["_id"])

    async def _redelay(self, request: WebhookDeliveryRequested, seconds: float) -> None:
        await self.publisher.publish_delayed(QueueFamily.WEBHOOKS, request, seconds)


class JobEventWebhooks:
    """Consumer of `git44.webhooks.events`: a job entering `queued` or `processing`
    becomes a delivery request for each endpoint of its owner subscribed to it.

    Best effort, like the job events themselves (published with confirms, not from an
    outbox): a broker outage can lose a progress webhook, never a terminal one.
    """

    def __init__(self, *, publisher: Publisher, endpoints: EndpointDirectory) -> None:
        self.publisher = publisher
        self.endpoints = endpoints

    async def handle(self, event: JobEvent, message: AbstractIncomingMessage) -> None:
        event_type = PROGRESS_TYPES.get(event.status)
        if event_type is None or event.job is None or not event.progress:
            # terminal states ride the job's reliable request; polling, and a wait and
            # the claim that ends it, are no news
            return
        subscribers = await self.endpoints.subscribers(event.user_id, event_type)
        if not subscribers:
            return
        body = json.dumps(
            {
                "type": str(event_type),
                "timestamp": iso_utc(event.occurred_at),
                "data": JobPublic.model_validate(event.job).model_dump(by_alias=True, mode="json"),
            },
            separators=(",", ":"),
        )
        await fan_out(
            self.publisher,
            subscribers,
            job_id=event.job_id,
            event_id=event.event_id,
            event_type=event_type,
            body=body,
        )


async def fan_out(
    publisher: Publisher,
    endpoints: list[Document],
    *,
    job_id: str,
    event_id: str,
    event_type: str,
    body: str,
) -> None:
    """One delivery request per endpoint: keyed `<event>:<endpoint>` (a repeated
    fan-out is dropped per endpoint), under the event's `webhook-id`."""
    for endpoint in endpoints:
        request = WebhookDeliveryRequested(
            job_id=job_id,
            event_id=f"{event_id}:{endpoint['_id']}",
            endpoint_id=str(endpoint["_id"]),
            event_type=event_type,
            body=body,
            msg_id=event_id,
            schema_version=2,
        )
        await publisher.publish(
            publisher.topology.jobs_exchange, WEBHOOK_DELIVER, request, message_id=request.event_id
        )


def _ended_event(request: WebhookDeliveryRequested, job: Document | None) -> tuple[str, str] | None:
    """The ended job's event (type, body) a job-level request is for: as the request
    carries it, or (a request from before it did) the job's state, if it has ended."""
    if request.event_type is not None and request.body is not None:
        return request.event_type, request.body
    if job is None:
        return None
    event_type = TERMINAL_TYPES.get(JobStatus(job["status"]))
    return None if event_type is None else (event_type, webhook_body(job))


def _retry_owed(previous: Document, request: WebhookDeliveryRequested) -> bool:
    """True when `previous` is the failed attempt `request` made, and its retry was
    never marked queued (records from before the mark have none: taken as queued)."""
    return (
        int(previous["attempt"]) == request.attempt + 1
        and previous.get("next_retry_at") is not None
        and previous.get("retry_scheduled") is False
    )


def _days(period: timedelta) -> str:
    days = period.total_seconds() / 86400
    return f"{days:g} days" if days >= 1 else f"{period.total_seconds():g} s"


def _attempt_record(
    request: WebhookDeliveryRequested,
    url: str,
    number: int,
    result: DeliveryResult,
    delay: float | None,
) -> Document:
    now = utc_now()
    return {
        "job_id": request.job_id,
        "event_id": request.event_id,
        "url": url,
        "attempt": number,
        "status_code": result.status_code,
        "latency_ms": result.latency_ms,
        "error": result.error,
        "next_retry_at": now + timedelta(seconds=delay) if delay is not None else None,
        "attempted_at": now,
        **({"retry_scheduled": False} if delay is not None else {}),
    }
