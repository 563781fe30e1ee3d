"""Outbox flags: `published: true` for jobs whose `removal.requested` was confirmed.

After the broker confirmed a job's message, its id waits here (the request does not).
The next submission transaction sets `published: true` for every waiting id as its last
statement (`submissions.group_commit`); when none comes within `linger` seconds, a
transaction of their own does. If the flag is lost (crash, database error), the relay
re-publishes the job once its claim lapses, and the worker drops the duplicate by
compare-and-set.

The flag is written only inside transactions, and as the transaction's last write to
`removal_jobs`: on SecantusDB a plain write that conflicts with an open transaction
retries while holding the collection, so a transaction writing that collection again
afterwards waits for it until a socket timeout (a deadlock mongod does not have; seen
with a cancel right after the 202). The worker's plain claim may conflict with the
flag; with nothing after it but the commit, it only waits for that commit.
"""

from __future__ import annotations

import asyncio
import logging

from pymongo.asynchronous.client_session import AsyncClientSession

from git44_common.mongo import Database, MongoClient
from git44_jobs.removals import crud as jobs_crud

log = logging.getLogger(__name__)


class PublishedFlags:
    """Ids of jobs whose `removal.requested` was confirmed, waiting for their flag."""

    def __init__(self, mongo: MongoClient, db: Database, *, linger: float = 0.05) -> None:
        self._mongo = mongo
        self._db = db
        self._linger = linger
        self._ids: list[str] = []
        self._flusher: asyncio.Task[None] | None = None

    def add(self, job_id: str) -> None:
        self.give_back([job_id])

    def take(self) -> list[str]:
        """Every waiting id (for a transaction about to run)."""
        ids, self._ids = self._ids, []
        return ids

    def give_back(self, ids: list[str]) -> None:
        """Ids whose transaction failed wait again."""
        self._ids.extend(ids)
        if ids and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._flush_when_idle(), name="outbox-flags")

    async def close(self) -> None:
        """Flag what is still waiting (at shutdown)."""
        if self._flusher is not None:
            self._flusher.cancel()
        await self._flush(self.take())

    async def _flush_when_idle(self) -> None:
        while self._ids:
            await asyncio.sleep(self._linger)  # a submission transaction may take them
            await self._flush(self.take())

    async def _flush(self, ids: list[str]) -> None:
        if not ids:
            return

        async def unit(session: AsyncClientSession) -> None:
            await jobs_crud.mark_published(self._db, ids, session=session)

        try:
            async with self._mongo.start_session() as session:
                await session.with_transaction(unit)
        except Exception as exc:
            log.warning("outbox flags not set; the relay will publish again: %s", exc.__class__)
