"""The outbox relay: jobs saved while the broker is unreachable are published once it is back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aio_pika.abc import AbstractRobustConnection
from pydantic import BaseModel

from git44_common.amqp import PublishError
from git44_common.mongo import Database
from git44_jobs.outbox.relay import OutboxRelay, RelayTiming
from tests.integration.jobs.support import Jobs, Users, queue_depth
from tests.utils.factories import removal_job
from tests.utils.requests import sora_link
from tests.utils.waiting import eventually


class BrokerDown:
    """Stands in for the service's publisher while RabbitMQ is unreachable for it."""

    def __init__(self) -> None:
        self.attempts = 0
        self.timeouts: list[tuple[str, float | None]] = []

    async def publish(self, *args: Any, **kwargs: Any) -> None:
        self.attempts += 1
        self.timeouts.append(("request", kwargs.get("timeout")))
        raise PublishError("connection refused")

    async def publish_event(self, routing_key: str, event: BaseModel, **kwargs: Any) -> None:
        self.timeouts.append(("event", kwargs.get("timeout")))
        raise PublishError("connection refused")


async def test_submissions_while_the_broker_is_down_are_published_when_it_returns(
    jobs: Jobs, users: Users, mongo_db: Database, amqp_connection: AbstractRobustConnection
) -> None:
    user = await users.create()
    real_publisher = jobs.context.outbox.publisher
    down = BrokerDown()
    jobs.context.outbox.publisher = down
    responses = [
        await jobs.client.post(
            "/api/removal", json={"inputLink": sora_link()}, headers=users.bearer(user)
        )
        for _ in range(5)
    ]
    assert [r.status_code for r in responses] == [202] * 5
    # a hanging broker holds a submission for at most the publish timeout: the request's
    # publish and its job event (sent at the same time) are both bounded by it
    bound = jobs.context.settings.publish_timeout_seconds
    assert set(down.timeouts) == {("request", bound), ("event", bound)}
    await asyncio.sleep(1.0)  # the relay keeps trying meanwhile
    assert down.attempts > 5
    assert await mongo_db.removal_jobs.count_documents({"published": False}) == 5
    queue = jobs.context.topology.removal_queue
    assert await queue_depth(amqp_connection, queue) == 0

    jobs.context.outbox.publisher = real_publisher

    async def all_published() -> bool:
        unpublished = await mongo_db.removal_jobs.count_documents({"published": False})
        return unpublished == 0 and await queue_depth(amqp_connection, queue) == 5

    assert await eventually(all_published, within=10)


async def test_replicas_claim_each_job_once(
    jobs: Jobs, users: Users, mongo_db: Database, amqp_connection: AbstractRobustConnection
) -> None:
    user = await users.create()
    old = datetime.now(UTC) - timedelta(minutes=1)
    await mongo_db.removal_jobs.insert_many(
        [_job(f"j{i}", user, updated_at=old, published=False) for i in range(20)]
    )
    ctx = jobs.context
    relays = [
        OutboxRelay(ctx.db, ctx.outbox, RelayTiming.of(ctx.settings), ctx.clock) for _ in range(3)
    ]
    counts = await asyncio.gather(*(relay.relay_once() for relay in relays))
    # the app's own relay may have taken some too; together exactly 20 messages
    queue = jobs.context.topology.removal_queue

    async def twenty() -> bool:
        return await queue_depth(amqp_connection, queue) == 20

    assert await eventually(twenty, within=10)
    await asyncio.sleep(1.0)
    assert await queue_depth(amqp_connection, queue) == 20
    assert sum(counts) <= 20


async def test_an_overdue_retry_is_published_again(
    jobs: Jobs, users: Users, mongo_db: Database, amqp_connection: AbstractRobustConnection
) -> None:
    user = await users.create()
    now = datetime.now(UTC)
    await mongo_db.removal_jobs.insert_one(
        _job("late", user, updated_at=now - timedelta(hours=2), published=True)
        | {"next_attempt_at": now - timedelta(hours=1)}
    )
    await mongo_db.removal_jobs.insert_one(
        _job("waiting", user, updated_at=now, published=True)
        | {"next_attempt_at": now + timedelta(minutes=5)}
    )
    queue = jobs.context.topology.removal_queue

    async def one() -> bool:
        return await queue_depth(amqp_connection, queue) == 1

    assert await eventually(one, within=10)

    async def marked() -> bool:  # the relay marks the job just after the publish
        late = await mongo_db.removal_jobs.find_one({"_id": "late"})
        return late is not None and late["next_attempt_at"] > now

    assert await eventually(marked, within=5)  # not overdue again right away


async def test_a_job_abandoned_mid_flight_is_sent_again_for_takeover(
    jobs: Jobs, users: Users, mongo_db: Database, amqp_connection: AbstractRobustConnection
) -> None:
    # A worker lost its job after the message was acked (it died, or its database write
    # was lost): only the relay can bring the job back to a worker.
    user = await users.create()
    now = datetime.now(UTC)
    await mongo_db.removal_jobs.insert_one(
        _job("abandoned", user, updated_at=now - timedelta(minutes=5), published=True)
        | {"status": "polling", "task_id": "t1", "lease_expires_at": now - timedelta(minutes=4)}
    )
    await mongo_db.removal_jobs.insert_one(
        _job("working", user, updated_at=now, published=True)
        | {"status": "polling", "task_id": "t2", "lease_expires_at": now + timedelta(seconds=30)}
    )
    queue = jobs.context.topology.removal_queue

    async def one() -> bool:
        return await queue_depth(amqp_connection, queue) == 1

    assert await eventually(one, within=10)
    await asyncio.sleep(1.0)  # a few more relay rounds: the claim keeps it from repeating
    assert await queue_depth(amqp_connection, queue) == 1


def _job(job_id: str, user_id: str, *, updated_at: datetime, published: bool) -> dict[str, Any]:
    return removal_job(
        user_id=user_id, _id=job_id, created_at=updated_at, updated_at=updated_at,
        published=published, relay_claimed_until=None,
    )  # fmt: skip
