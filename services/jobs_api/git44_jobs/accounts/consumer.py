"""`account.deleted` (git44.accounts): forget the user, and look again until nothing is left.

A pass deletes every job no worker holds. The event goes back through its delay queue
(10 s) and the pass is repeated:

- while a job is still at the upstream (it is deleted once it has ended);
- after a pass that deleted jobs: the worker, which gets every repeat too
  (`git44.worker.accounts`), then deletes the webhook deliveries that an ending job
  may have caused meanwhile (none are made once the job is gone);
- while the event is younger than 10 s: a token is refused by every service only
  within 5 s of the deletion, so a job submitted in that window is caught.

The queue is durable, so a deletion survives a jobs-api restart; a failing pass is
requeued (the delivery limit dead-letters one that keeps failing).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import timedelta

from aio_pika.abc import AbstractIncomingMessage

from git44_common.amqp import Publisher, QueueFamily, start_consumer
from git44_common.clock import Clock
from git44_common.contracts import AccountDeleted
from git44_common.mongo import Database
from git44_common.runtime import ServiceRuntime
from git44_jobs.accounts.service import forget_user

ACCOUNTS_PREFETCH = 4
# longer than the 5 s in which every service refuses the deleted user's tokens
SETTLE = timedelta(seconds=10)
STOP_GRACE_SECONDS = 5.0


class AccountDeletedConsumer:
    def __init__(self, *, db: Database, publisher: Publisher, clock: Clock) -> None:
        self._db = db
        self._publisher = publisher
        self._clock = clock

    async def handle(self, event: AccountDeleted, _message: AbstractIncomingMessage) -> None:
        done = (await forget_user(self._db, event.user_id)).done
        if not done or self._clock() < event.deleted_at + SETTLE:
            await self._publisher.publish_delayed(
                QueueFamily.ACCOUNTS, event, SETTLE.total_seconds(), message_id=event.event_id
            )


async def start_account_deletions(
    stack: AsyncExitStack, runtime: ServiceRuntime, *, clock: Clock
) -> None:
    """Consume `git44.accounts` until `stack` closes."""
    consumer = AccountDeletedConsumer(db=runtime.db, publisher=runtime.publisher, clock=clock)
    subscription = await start_consumer(
        await runtime.amqp.channel(),
        runtime.topology.accounts_queue,
        consumer.handle,
        model=AccountDeleted,
        prefetch=ACCOUNTS_PREFETCH,
    )
    stack.push_async_callback(subscription.cancel, grace=STOP_GRACE_SECONDS)
