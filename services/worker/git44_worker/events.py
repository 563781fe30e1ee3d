"""What the worker tells others after a transition: job events and webhook requests."""

from __future__ import annotations

import logging

from git44_common.amqp import WEBHOOK_DELIVER, Publisher, job_event_key
from git44_common.contracts import JobStatus
from git44_common.jobs import job_event
from git44_common.mongo import Database, Document
from git44_common.webhook_endpoints import EndpointDirectory, ended_job_request
from git44_worker.crud.jobs import mark_webhook_requested

log = logging.getLogger(__name__)


class JobNotifier:
    """Publishes job events (best effort) and webhook requests (must not be lost)."""

    def __init__(self, publisher: Publisher, db: Database, endpoints: EndpointDirectory) -> None:
        self._publisher = publisher
        self._db = db
        self.endpoints = endpoints

    async def webhook_wanted(self, doc: Document, status: JobStatus) -> bool:
        """Whether the job ending in `status` has a webhook to send: its callback URL
        (success, failure), or an endpoint of its owner subscribed to the state (a
        cached read: no write for a job without either)."""
        if doc.get("callback_url") and status in (JobStatus.SUCCESS, JobStatus.FAILED):
            return True
        return await self.endpoints.wants(str(doc["user_id"]), status)

    async def job_changed(
        self,
        doc: Document,
        *,
        previous: JobStatus | None,
        event_id: str | None = None,
        progress: bool = True,
    ) -> None:
        """Publish `job.<status>`; a lost event only delays a live view (state is saved)."""
        event = job_event(doc, previous=previous, event_id=event_id, progress=progress)
        try:
            await self._publisher.publish_event(job_event_key(event.status.value), event)
        except Exception:
            log.warning("could not publish %s event", event.status, extra={"job_id": event.job_id})

    async def request_webhook(self, doc: Document) -> None:
        """Ask for delivery of the job's final state if it is still pending.

        Raises when the request cannot be published, so the job's message is not acked
        and its redelivery asks again (the `webhook_pending` flag says whether to).
        """
        if not doc.get("webhook_pending") or not doc.get("webhook_event_id"):
            return
        request = ended_job_request(doc)
        topology = self._publisher.topology
        await self._publisher.publish(
            topology.jobs_exchange, WEBHOOK_DELIVER, request, message_id=request.event_id
        )
        await mark_webhook_requested(self._db, str(doc["_id"]))
