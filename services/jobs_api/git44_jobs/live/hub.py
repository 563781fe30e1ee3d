"""Live job events for SSE: one AMQP queue per jobs-api instance, fanned out in-process.

Each instance binds its own exclusive, auto-deleted queue to `git44.events` (`job.*`);
the worker and jobs-api publish a `JobEvent` on every transition. An event is delivered
only to the streams of the job's owner (`user_id`), as the job in the SPA shape and the
SSE id `<job id>:<version>` of that very state: the event carries both
(`update_for_event`), so no job is read back. Events are handled
concurrently and may arrive out of order; each stream sends a job's states in version
order and drops any not newer than what it already sent (`VersionGate`).

A stream that cannot keep up (its buffer is full) is closed; the client reconnects
with `Last-Event-ID` and is replayed from the job store (`replay.py`). A stream whose
session ends (`SessionsEnded`) is closed at once (`end_sessions`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import NamedTuple

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from pydantic import ValidationError

from git44_common.amqp import JOB_EVENTS, Topology
from git44_common.contracts import JobEvent, SessionsEnded
from git44_common.jobs import JobPublic
from git44_common.mongo import Database, Document
from git44_jobs import metrics
from git44_jobs.removals import crud as jobs_crud

log = logging.getLogger(__name__)


class JobUpdate(NamedTuple):
    """One SSE message: `id` is `<job id>:<version>`, `job` the SPA job shape."""

    id: str
    job: JobPublic


@dataclass(eq=False)
class Subscriber:
    user_id: str
    queue: asyncio.Queue[JobUpdate | None] = field(default_factory=asyncio.Queue)
    overflowed: bool = False
    # the stream's access token: its session and `iat` (None for a token without `sid`)
    session_id: str | None = None
    issued_at: int = 0
    session_ended: bool = False

    def offer(self, update: JobUpdate | None) -> None:
        """Queue `update` (None: end the stream); a full buffer ends the stream too."""
        try:
            self.queue.put_nowait(update)
        except asyncio.QueueFull:
            self.overflowed = True  # the stream sees it at its next (immediate) read

    async def next_update(self) -> JobUpdate | None:
        """The next update, or None when the stream should end."""
        update = await self.queue.get()
        return None if self.overflowed else update


def update_from_doc(doc: Document) -> JobUpdate:
    """The SSE message for the job as stored."""
    return JobUpdate(id=f"{doc['_id']}:{doc.get('version', 1)}", job=JobPublic.from_doc(doc))


def update_for_event(event: JobEvent) -> JobUpdate | None:
    """The SSE message for `event`: the state it carries under its own version, so the
    id names that very state; None for an event of a publisher that predates the state
    (the caller shows the stored job instead)."""
    if event.version is None or event.job is None:
        return None
    job = JobPublic.model_validate(event.job)
    return JobUpdate(id=f"{event.job_id}:{event.version}", job=job)


class VersionGate:
    """What one stream has sent: a job's update passes only if newer than the last one
    sent for that job. Remembers the latest `capacity` jobs (older ones pass again:
    a job untouched that long gets at most one repeat of its current state)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._sent: OrderedDict[str, int] = OrderedDict()
        self._capacity = capacity

    def note(self, job_id: str, version: int) -> None:
        """What the client already has (its `Last-Event-ID`): nothing older passes."""
        self._sent[job_id] = max(version, self._sent.get(job_id, 0))

    def admit(self, update: JobUpdate) -> bool:
        job_id, _, version_text = update.id.rpartition(":")
        version = int(version_text)
        if version <= self._sent.get(job_id, 0):
            return False
        self._sent[job_id] = version
        self._sent.move_to_end(job_id)
        if len(self._sent) > self._capacity:
            self._sent.popitem(last=False)
        return True


@dataclass(eq=False)
class EventHub:
    """This instance's subscription to job events and its SSE subscribers; each stream
    buffers at most `queue_size` updates."""

    connection: AbstractRobustConnection
    db: Database
    topology: Topology
    queue_size: int
    _channel: AbstractChannel | None = field(default=None, init=False)
    _subscribers: dict[str, set[Subscriber]] = field(default_factory=dict, init=False)

    async def start(self) -> None:
        self._channel = await self.connection.channel()
        name = f"git44.events.jobs-api.{uuid.uuid4().hex[:12]}{self.topology.namespace}"
        queue = await self._channel.declare_queue(name, exclusive=True, auto_delete=True)
        await queue.bind(self.topology.events_exchange, JOB_EVENTS)
        # events are a live view (the job store is the truth): no acks, no redelivery
        await queue.consume(self._on_message, no_ack=True)

    async def stop(self) -> None:
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.offer(None)
        if self._channel is not None:
            await self._channel.close()

    def subscribe(
        self, user_id: str, *, session_id: str | None = None, issued_at: int = 0
    ) -> Subscriber:
        subscriber = Subscriber(user_id, asyncio.Queue(maxsize=self.queue_size))
        subscriber.session_id, subscriber.issued_at = session_id, issued_at
        self._subscribers.setdefault(user_id, set()).add(subscriber)
        metrics.SSE_SUBSCRIBERS.inc()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(subscriber.user_id)
        if subscribers is None or subscriber not in subscribers:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._subscribers[subscriber.user_id]
        metrics.SSE_SUBSCRIBERS.dec()

    def end_sessions(self, event: SessionsEnded) -> None:
        """Close the streams of the sessions `event` ended."""
        for subscriber in list(self._subscribers.get(event.user_id, ())):
            if event.covers(subscriber.session_id, subscriber.issued_at):
                subscriber.session_ended = True
                subscriber.offer(None)

    async def _stored(self, event: JobEvent) -> JobUpdate | None:
        """The job as stored, for an event that does not carry its state."""
        try:
            doc = await jobs_crud.get_job(self.db, event.job_id, user_id=event.user_id)
        except Exception:
            log.warning("job event dropped: the job store did not answer", exc_info=True)
            return None
        return None if doc is None else update_from_doc(doc)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            event = JobEvent.model_validate_json(message.body)
        except ValidationError:
            log.warning("ignoring a malformed job event %s", message.message_id)
            return
        subscribers = self._subscribers.get(event.user_id)
        if not subscribers:
            return
        update = update_for_event(event) or await self._stored(event)
        if update is None:
            return
        for subscriber in list(subscribers):
            subscriber.offer(update)
