"""Ended sessions, refused by every service within seconds without asking auth.

Auth ends one session (logout, refresh-token reuse) or all of a user's (log out
everywhere, password change or reset, disabling, deletion) by writing MongoDB first —
`sessions.ended_at`, and for all of them `users.sessions_valid_after` — and then
publishing `SessionsEnded` on the fanout exchange `git44.sessions`. Each replica of
each HTTP service keeps the ended session ids in memory (`EndedSessions`, checked on
every request with no I/O) and fills it two ways (`SessionWatch`):

- from its own exclusive, auto-deleted queue bound to `git44.sessions`: at once;
- by reading the sessions that ended lately every `poll_seconds` (and all unexpired
  ended ones at start-up): a restart, a broker blip or a lost event cannot let an
  ended session through for longer than that.

`sessions_valid_after` reaches the authenticator through its user-status cache; the
event drops the user's cache entry, so it is read afresh on the next request.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from pydantic import ValidationError

from git44_common.amqp import Topology
from git44_common.clock import Clock, utc_now
from git44_common.collections import SESSIONS
from git44_common.contracts import SessionsEnded
from git44_common.mongo import Database
from git44_common.runtime import ServiceRuntime
from git44_common.tasks import run_every, stop_task

log = logging.getLogger(__name__)
# ended_at is auth's clock, the poll's window ours: this much skew is tolerated
CLOCK_SLACK = timedelta(seconds=60)
MAX_ENDED_SESSIONS = 1_000_000


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime (MongoDB clients may return naive ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class EndedSessions:
    """Ids of ended sessions whose tokens may still be unexpired, with that expiry."""

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._until

    def __len__(self) -> int:
        return len(self._until)

    def add(self, session_id: str, *, until: datetime | None = None) -> None:
        """Refuse `session_id` until `until` (a day by default: longer than any token)."""
        expiry = as_utc(until) if until is not None else utc_now() + timedelta(days=1)
        if len(self._until) >= MAX_ENDED_SESSIONS:
            self.prune(utc_now())
        self._until[session_id] = max(expiry, self._until.get(session_id, expiry))

    def prune(self, now: datetime) -> None:
        """Forget sessions whose every token has expired."""
        self._until = {sid: until for sid, until in self._until.items() if until > now}


async def read_ended_sessions(
    db: Database, ended: EndedSessions, *, since: datetime | None, now: datetime
) -> None:
    """Add to `ended` the sessions that ended at or after `since` (None: all of them)."""
    query: dict[str, object] = {"ended_at": {"$ne": None}, "expires_at": {"$gt": now}}
    if since is not None:
        query["ended_at"] = {"$gte": since}
    cursor = db[SESSIONS].find(query, projection={"expires_at": 1})
    async for doc in cursor:
        ended.add(doc["_id"], until=doc.get("expires_at"))


@dataclass(eq=False)
class SessionWatch:
    """Keeps `ended` current from the `sessions` collection, and hands each event of
    `git44.sessions` to `on_event` (the authenticator's `sessions_ended`: it adds the
    sessions to `ended` and drops the user's cached status)."""

    db: Database
    connection: AbstractRobustConnection
    topology: Topology
    ended: EndedSessions
    on_event: Callable[[SessionsEnded], None]
    service: str
    poll_seconds: float = 2.0
    clock: Clock = utc_now
    _channel: AbstractChannel | None = field(default=None, init=False)
    _polled_at: datetime | None = field(default=None, init=False)

    async def start(self, stack: AsyncExitStack) -> None:
        """Subscribe, read every unexpired ended session, then poll until `stack` closes."""
        self._channel = await self.connection.channel()
        stack.push_async_callback(self._channel.close)
        name = f"git44.sessions.{self.service}.{uuid.uuid4().hex[:12]}{self.topology.namespace}"
        queue = await self._channel.declare_queue(name, exclusive=True, auto_delete=True)
        await queue.bind(self.topology.sessions_exchange)
        # a live signal (the store is the truth and is polled): no acks, no redelivery
        await queue.consume(self._on_message, no_ack=True)
        await self.poll()
        task = asyncio.create_task(
            run_every(self.poll_seconds, self.poll, what="ended sessions poll"),
            name="ended-sessions-poll",
        )
        stack.push_async_callback(stop_task, task)

    async def poll(self) -> None:
        """Read the sessions ended since the last successful poll (less the clock slack)."""
        now = self.clock()
        since = None if self._polled_at is None else self._polled_at - CLOCK_SLACK
        await read_ended_sessions(self.db, self.ended, since=since, now=now)
        self.ended.prune(now)
        self._polled_at = now

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            event = SessionsEnded.model_validate_json(message.body)
        except ValidationError:
            log.warning("ignoring a malformed sessions event %s", message.message_id)
            return
        self.on_event(event)


async def watch_sessions(
    stack: AsyncExitStack,
    runtime: ServiceRuntime,
    *,
    ended: EndedSessions,
    on_event: Callable[[SessionsEnded], None],
) -> SessionWatch:
    """A lifespan's step: `ended` kept current until `stack` closes."""
    watch = SessionWatch(
        runtime.db,
        runtime.amqp,
        runtime.topology,
        ended,
        on_event,
        service=runtime.name,
        poll_seconds=runtime.settings.sessions_poll_seconds,
    )
    await watch.start(stack)
    return watch
