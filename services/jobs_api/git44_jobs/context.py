"""What the service's request handlers and background tasks share, built in the lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel

from git44_common.amqp import Topology
from git44_common.mongo import Database, MongoClient
from git44_jobs.coalesce import Coalescer
from git44_jobs.commits import Document, OutboxMarks, submission_commits
from git44_jobs.core.config import JobsSettings

Clock = Callable[[], datetime]


def utc_now_ms() -> datetime:
    """Now in UTC, truncated to milliseconds (what MongoDB stores, so values round-trip)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class MessagePublisher(Protocol):
    """The part of `git44_common.amqp.Publisher` jobs-api uses (tests substitute a failing one)."""

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        payload: BaseModel,
        *,
        message_id: str | None = None,
        timeout: float = 10,  # noqa: ASYNC109 - mirrors Publisher.publish
    ) -> None: ...

    async def publish_event(
        self,
        routing_key: str,
        event: BaseModel,
        *,
        message_id: str | None = None,
        timeout: float = 10,  # noqa: ASYNC109 - mirrors Publisher.publish_event
    ) -> None: ...


@dataclass
class JobsContext:
    """Clients, settings and per-process state; `publisher` may be swapped at run time
    (tests, broker outages)."""

    settings: JobsSettings
    mongo: MongoClient
    db: Database
    topology: Topology
    publisher: MessagePublisher
    clock: Clock = field(default=utc_now_ms)
    # users whose quota document this process has made sure of (see submission.py)
    known_quotas: set[str] = field(default_factory=set)
    # the request path's coalesced writes (commits.py)
    submissions: Coalescer[Document, bool] = field(init=False)
    published: OutboxMarks = field(init=False)

    def __post_init__(self) -> None:
        self.published = OutboxMarks(self.mongo, self.db)
        self.submissions = submission_commits(
            self.mongo,
            self.db,
            self.now,
            max_batch=self.settings.submit_batch_max,
            marks=self.published,
        )

    def now(self) -> datetime:
        return self.clock()

    async def close(self) -> None:
        """Finish the writes still queued (at shutdown, before the clients close)."""
        await self.submissions.close()
        await self.published.close()
