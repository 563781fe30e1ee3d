"""Taking dead letters over from the broker, replaying and purging them (see __init__)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiormq.exceptions
from aio_pika.abc import AbstractQueue, AbstractRobustConnection

from git44_common.audit import record_admin_action
from git44_common.clock import Clock
from git44_common.contracts import JobStatus
from git44_common.exceptions import Conflict, NotFound, ServiceUnavailable
from git44_common.mongo import Database, Document
from git44_common.pagination import after_cursor, split_page
from git44_jobs.dead_letters import crud
from git44_jobs.dead_letters.letters import letter_document
from git44_jobs.removals import crud as jobs_crud

# One drain stays well inside a request's time limit; what is left waits for the next.
DRAIN_MAX_MESSAGES = 500
DRAIN_MAX_SECONDS = 5.0
REPLAY_ACTION = "dead_letter.replay"
PURGE_ACTION = "dead_letter.purge"
SERVICE = "jobs-api"


@asynccontextmanager
async def dead_queue(
    connection: AbstractRobustConnection, name: str
) -> AsyncIterator[AbstractQueue]:
    """The dead queue `name` on a channel of its own; closing it returns any message
    taken and not acked to the queue. A broker error is a 503 — also while the robust
    connection is reconnecting (aio-pika raises RuntimeError then: "not opened")."""
    unavailable = ServiceUnavailable("The broker did not answer; try again.", retry_after=5)
    try:
        channel = await connection.channel()
    except (aiormq.exceptions.AMQPError, RuntimeError, OSError) as exc:
        raise unavailable from exc
    try:
        async with channel:
            yield await channel.declare_queue(name, passive=True)
    except aiormq.exceptions.AMQPError as exc:
        raise unavailable from exc


async def take_over(queue: AbstractQueue, db: Database, *, clock: Clock) -> int:
    """Move the messages waiting in `queue` into the store, each stored before it is
    acked; how many were moved (at most DRAIN_MAX_MESSAGES, for DRAIN_MAX_SECONDS)."""
    waiting = queue.declaration_result.message_count or 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_MAX_SECONDS
    moved = 0
    for _ in range(min(waiting, DRAIN_MAX_MESSAGES)):
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        letter = letter_document(
            body=message.body, headers=message.headers or {},
            message_id=message.message_id, now=clock(),
        )  # fmt: skip
        await crud.store_letter(db, letter)
        await message.ack()
        moved += 1
        if loop.time() > deadline:
            break
    return moved


async def list_letters(
    db: Database, *, job_id: str | None, cursor: str | None, limit: int
) -> tuple[list[Document], str | None]:
    """A page of the stored letters (of one job, if given), oldest first, and the next
    page's cursor."""
    query: Document = {} if job_id is None else {"job_id": job_id}
    page = after_cursor(query, cursor, fields=crud.OLDEST_FIRST, descending=False)
    docs = await crud.find_letters(db, page, limit=limit + 1)
    return split_page(docs, limit, fields=crud.OLDEST_FIRST)


async def get_letter(db: Database, letter_id: str) -> Document:
    """One stored letter, or 404."""
    letter = await crud.get_letter(db, letter_id[:64])
    if letter is None:
        raise NotFound("No such dead letter.")
    return letter


@dataclass(frozen=True)
class Outcome:
    """What a replay did with a letter: `job` after it, or `detail` on why it was kept."""

    letter_id: str
    job_id: str | None
    job: Document | None
    detail: str | None = None


@dataclass(frozen=True, kw_only=True)
class Replayer:
    """Sends letters' jobs back to the worker, then forgets the letters (each replay
    audited as `actor`'s). `publish` sends a job's `removal.requested` and is True once
    the broker confirmed it; `requeue_failed` is the admin's free retry of a failed job."""

    db: Database
    publish: Callable[[Document], Awaitable[bool]]
    requeue_failed: Callable[[str], Awaitable[Document]]
    actor: str
    clock: Clock

    async def replay(self, letter_id: str) -> Outcome:
        """Replay one letter: 404 if unknown, 409 if it cannot be replayed."""
        return await self._replay(await get_letter(self.db, letter_id))

    async def replay_page(
        self, *, cursor: str | None, limit: int
    ) -> tuple[list[Outcome], str | None]:
        """Replay a page of letters, oldest first; the ones that cannot be replayed are
        kept and said why. The cursor of the next page."""
        letters, next_cursor = await list_letters(self.db, job_id=None, cursor=cursor, limit=limit)
        outcomes = []
        for letter in letters:
            try:
                outcomes.append(await self._replay(letter))
            except (Conflict, NotFound) as kept:
                outcomes.append(Outcome(letter["_id"], letter.get("job_id"), None, kept.detail))
        return outcomes, next_cursor

    async def _replay(self, letter: Document) -> Outcome:
        job_id = letter.get("job_id")
        if job_id is None:
            raise Conflict("The letter is not a removal request: purge it.")
        job = await jobs_crud.get_job(self.db, job_id)
        if job is None:
            raise Conflict("The letter's job no longer exists: purge it.")
        before = job["status"]
        job = await self._send_back(job)
        await crud.delete_letter(self.db, letter["_id"])
        await record_admin_action(
            self.db, service=SERVICE, actor=self.actor, action=REPLAY_ACTION, target=job_id,
            before={"letter": letter["_id"], "status": before}, after={"status": job["status"]},
            at=self.clock(),
        )  # fmt: skip
        return Outcome(letter["_id"], job_id, job)

    async def _send_back(self, job: Document) -> Document:
        """The job's message on the work queue, confirmed; a failed job queued again
        first (the worker drops a message for a job that ended)."""
        if job["status"] == JobStatus.FAILED:
            try:
                return await self.requeue_failed(job["_id"])
            except Conflict:  # retried meanwhile: no longer failed
                job = await jobs_crud.get_job(self.db, job["_id"]) or job
        if not await self.publish(job):
            raise ServiceUnavailable(
                "The broker did not take the job's message; the letter is kept: replay it again.",
                retry_after=5,
            )
        return job


async def purge_letter(db: Database, letter_id: str, *, actor: str, clock: Clock) -> None:
    """Forget one letter for good (audited); 404 if unknown."""
    letter = await get_letter(db, letter_id)
    if not await crud.delete_letter(db, letter["_id"]):
        raise NotFound("No such dead letter.")
    await record_admin_action(
        db, service=SERVICE, actor=actor, action=PURGE_ACTION, target=letter["_id"],
        before={"jobId": letter.get("job_id"), "reason": letter.get("reason")}, after=None,
        at=clock(),
    )  # fmt: skip


async def purge_all(queue: AbstractQueue, db: Database, *, actor: str, clock: Clock) -> int:
    """Forget every letter, stored or still in the dead queue (audited); how many."""
    in_queue = (await queue.purge()).message_count or 0
    purged = in_queue + await crud.delete_all_letters(db)
    await record_admin_action(
        db, service=SERVICE, actor=actor, action=PURGE_ACTION, target=queue.name,
        before=None, after={"purged": purged}, at=clock(),
    )  # fmt: skip
    return purged


async def count_waiting(db: Database, in_queue: int | None) -> int | None:
    """Dead letters waiting for an operator: `in_queue` (the dead queue's depth, None if
    unknown) and the stored ones."""
    return None if in_queue is None else in_queue + await crud.count_letters(db)
