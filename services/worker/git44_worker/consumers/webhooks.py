"""Consumer of `git44.webhooks`: deliver a terminal job's state to its callback URL.

Each attempt is recorded in `webhook_deliveries`. A failed attempt (non-2xx, timeout,
refused destination) is retried with backoff through the webhook delay queues until
`WORKER_WEBHOOK_RETRY_DELAYS_SECONDS` runs out (default 6 attempts over ~an hour).
A redelivered request whose event already got a 2xx is dropped; a request that comes
back before its attempt's `next_retry_at` (delay tiers are coarse) is re-delayed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from aio_pika.abc import AbstractIncomingMessage

from git44_common.amqp import Publisher, QueueFamily
from git44_common.clock import utc_now
from git44_common.contracts import WebhookDeliveryRequested
from git44_common.mongo import Database, Document
from git44_common.webhook_secrets import new_webhook_secret, open_secret, sealed_secret
from git44_worker import metrics
from git44_worker.core.config import WorkerSettings
from git44_worker.crud import jobs as jobs_crud
from git44_worker.crud import webhooks as crud
from git44_worker.domain.retry import is_due, seconds_until, webhook_retry_delay
from git44_worker.webhooks import DeliveryResult, WebhookSender, webhook_body

log = logging.getLogger(__name__)


class WebhookConsumer:
    def __init__(
        self, *, settings: WorkerSettings, db: Database, publisher: Publisher, sender: WebhookSender
    ) -> None:
        self.settings = settings
        self.keys = settings.webhook_secret_keys()
        self.db = db
        self.publisher = publisher
        self.sender = sender

    async def handle(
        self, request: WebhookDeliveryRequested, message: AbstractIncomingMessage
    ) -> None:
        """Make one delivery attempt (or re-delay / drop the request)."""
        if await crud.was_delivered(self.db, request.event_id):
            return
        previous = await crud.last_attempt(self.db, request.event_id)
        if previous is not None and int(previous["attempt"]) > request.attempt:
            return  # a duplicate of an attempt already made
        due_at = previous.get("next_retry_at") if previous else None
        if not is_due(due_at, utc_now()):
            await self._redelay(request, seconds_until(due_at, utc_now()))
            return
        job = await jobs_crud.get_job(self.db, request.job_id)
        if job is None or not job.get("callback_url"):
            return
        await self._attempt(request, job)

    async def _attempt(self, request: WebhookDeliveryRequested, job: Document) -> None:
        now = utc_now()
        sealed = sealed_secret(new_webhook_secret(), self.keys)
        stored = await crud.get_or_create_secret(
            self.db, str(job["user_id"]), sealed=sealed, now=now
        )
        secret = open_secret(stored, self.keys)
        url = str(job["callback_url"])
        result = await self.sender.send(
            url, secret=secret, msg_id=request.event_id, body=webhook_body(job)
        )
        number = request.attempt + 1
        delay = None if result.delivered else self._retry_delay(number)
        record = _attempt_record(request, url, number, result, delay)
        await crud.record_attempt(self.db, {**record, "user_id": job["user_id"]})
        outcome = (
            "delivered" if result.delivered else "retrying" if delay is not None else "gave_up"
        )
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()
        log.info(
            "webhook attempt %d: %s (%s)",
            number,
            outcome,
            result.error or result.status_code,
            extra={"job_id": request.job_id},
        )
        if delay is not None:
            retry = WebhookDeliveryRequested(
                job_id=request.job_id, event_id=request.event_id, attempt=number
            )
            await self._redelay(retry, delay)

    def _retry_delay(self, attempt: int) -> float | None:
        return webhook_retry_delay(attempt, self.settings.webhook_retry_delays_seconds)

    async def _redelay(self, request: WebhookDeliveryRequested, seconds: float) -> None:
        await self.publisher.publish_delayed(QueueFamily.WEBHOOKS, request, seconds)


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
    }
